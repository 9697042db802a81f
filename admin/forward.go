package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxForwardAnswer bounds the body of a forwarded answer.
const maxForwardAnswer = 16 << 20

// forwardHeaders are the client's request headers a forwarded call
// carries. Never Authorization: the call proves the operator's access with
// HeaderProof instead, and carries the call's own Idempotency-Key
// (generated if the client sent none), HeaderOperator and the node where
// the call arrived.
var forwardHeaders = []string{"Content-Type", "If-Match"}

// answerHeaders are the headers of a forwarded answer relayed to the
// client.
var answerHeaders = []string{"Content-Type", "ETag", "Retry-After", "Cache-Control", "Allow", "WWW-Authenticate",
	hdrIdempotency}

// forward relays the call to the first of targets (node ids) that
// answers, and its answer back. A target that cannot be reached, times
// out or answers 503 is skipped for the next at once: the
// Idempotency-Key makes a write safe to send again. When none answers:
// 503 with Retry-After: 1.
func (a *API) forward(c *call, targets []string) {
	hops, _ := strconv.Atoi(c.r.Header.Get(hdrForwarded))
	switch {
	case hops >= maxForwards:
		unavailable(c.w, fmt.Sprintf("no reachable control leader after %d forwards", hops))
		return
	case len(targets) == 0:
		unavailable(c.w, "no control node reachable in the mesh")
		return
	}
	var failed []string
	for _, id := range targets {
		if c.ctx.Err() != nil {
			failed = append(failed, id+": "+c.ctx.Err().Error())
			break
		}
		base := a.cluster.AdminURL(id)
		if base == "" {
			failed = append(failed, id+": admin address unknown")
			continue
		}
		ans, err := a.send(c, id, base, hops+1)
		if err == nil && ans.status == http.StatusServiceUnavailable {
			err = fmt.Errorf("503: %s", problemDetail(ans.body))
		}
		if err != nil {
			a.log.Warn("forwarding an admin request", "to", id, "method", c.r.Method, "path", c.r.URL.Path, "err", err)
			failed = append(failed, id+": "+err.Error())
			continue
		}
		a.relay(c, id, ans)
		return
	}
	unavailable(c.w, "no control node answered: "+strings.Join(failed, "; "))
}

// forwardToVoter forwards a call that acts on other members (a purge's
// fan-out, another node's drain through gossip, gossip key rotation) to
// the control voters, the known leader first, when this node is not one:
// the members accept those internal calls only from control certificates.
// It reports whether it answered; without voters the node acts itself.
func (a *API) forwardToVoter(c *call) bool {
	if a.control != nil && a.control.Voter() {
		return false
	}
	voters := a.cluster.Voters()
	if len(voters) == 0 {
		return false
	}
	a.forward(c, voters)
	return true
}

// answer is a forwarded call's response, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send makes the call to node id, whose admin API is at base, with hop
// count hops, bounded by Config.ForwardTimeout and the call's own
// deadline. Its proof is signed for id.
func (a *API) send(c *call, id, base string, hops int) (answer, error) {
	ctx, cancel := context.WithTimeout(c.ctx, a.cfg.ForwardTimeout)
	defer cancel()
	uri := c.r.URL.RequestURI()
	req, err := http.NewRequestWithContext(ctx, c.r.Method, strings.TrimRight(base, "/")+uri, bytes.NewReader(c.body))
	if err != nil {
		return answer{}, err
	}
	for _, h := range forwardHeaders {
		if v := c.r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if c.key != "" {
		req.Header.Set(hdrIdempotency, c.key)
	}
	req.Header.Set(hdrForwarded, strconv.Itoa(hops))
	req.Header.Set(HeaderProof, a.signProof(c.who.access, c.r.Method, uri, c.key, c.body, id))
	req.Header.Set(HeaderOperator, c.who.operator)
	req.Header.Set(hdrOrigin, c.who.origin)
	resp, err := a.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardAnswer))
	if err != nil {
		return answer{}, fmt.Errorf("reading the answer: %w", err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// relay writes a forwarded answer; X-Ringside-Served-By names the node
// that answered it (the last hop's, when it was forwarded again).
func (a *API) relay(c *call, id string, ans answer) {
	h := c.w.Header()
	for _, k := range answerHeaders {
		if v := ans.header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	servedBy := ans.header.Get(hdrServedBy)
	if servedBy == "" {
		servedBy = id
	}
	h.Set(hdrServedBy, servedBy)
	c.w.WriteHeader(ans.status)
	c.w.Write(ans.body)
}

// problemDetail is the detail of a problem+json body, or the body itself.
func problemDetail(body []byte) string {
	var p Problem
	if err := json.Unmarshal(body, &p); err == nil && p.Detail != "" {
		return p.Detail
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
