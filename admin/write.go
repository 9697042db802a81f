package admin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringside-live/ringside/control"
)

// Headers of writes and forwarding. hdrForwarded counts the hops of a
// forwarded request so forwarding cannot loop.
const (
	hdrIdempotency = "Idempotency-Key"
	hdrForwarded   = "X-Ringside-Forwarded"
	hdrServedBy    = "X-Ringside-Served-By"
	maxForwards    = 2
)

// idempotencyKey is the request's Idempotency-Key, or a fresh one: the
// node that first receives a write names it before the first attempt, so
// a retry after a lost leadership or a forward to another voter can never
// apply it twice.
func (a *API) idempotencyKey(r *http.Request) (string, error) {
	if k := r.Header.Get(hdrIdempotency); k != "" {
		return k, nil
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", fmt.Errorf("admin: idempotency key: %w", err)
	}
	return "auto-" + hex.EncodeToString(b), nil
}

// write applies one command with the call's If-Match and Idempotency-Key,
// its actor the operator at the node the call arrived at ("alice@edge-1"):
// here when this node leads, otherwise on the leader (a node that is not a
// voter forwards to the voters, the known leader first). show renders the
// changed object from the document after the command; nil for deletes.
func (a *API) write(c *call, typ string, payload any, show func(*control.Document) any) {
	if a.control == nil {
		writeProblem(c.w, http.StatusServiceUnavailable, "no control plane on this node: set control.data_dir")
		return
	}
	expect, ok := ifMatch(c)
	if !ok {
		return
	}
	if !a.control.Voter() {
		a.forward(c, a.cluster.Voters())
		return
	}
	cmd, err := control.NewCommand(typ, payload)
	if err != nil {
		writeProblem(c.w, http.StatusBadRequest, err.Error())
		return
	}
	cmd.Expect, cmd.IdempotencyKey, cmd.Actor = expect, c.key, c.who.actor()
	res, err := a.control.Apply(c.ctx, cmd)
	var nl *control.NotLeaderError
	switch {
	case errors.As(err, &nl):
		// Also when InFlight: the leader finds the key if the command
		// was committed after all, and answers its first result.
		a.forwardToLeader(c, nl)
		return
	case err != nil:
		if commandStatusOf(err) >= 500 {
			a.log.Warn("admin write failed", "type", typ, "err", err)
		}
		commandProblem(c.w, err)
		return
	}
	out := WriteResponse{Version: res.Version, Duplicate: res.Duplicate}
	if show != nil && res.Doc != nil {
		b, err := json.Marshal(show(res.Doc))
		if err != nil {
			writeProblem(c.w, http.StatusInternalServerError, "encoding the result: "+err.Error())
			return
		}
		out.Result = b
	}
	setETag(c.w, res.Version)
	writeJSON(c.w, http.StatusOK, out)
}

// ifMatch parses If-Match: a config version such as "42" (quotes
// optional; "*" or none: no precondition). If-Match compares strongly
// (RFC 9110 §13.1.1), so a weak validator (W/"42") never matches: 412. It
// answers 400 for anything else.
func ifMatch(c *call) (uint64, bool) {
	m := strings.TrimSpace(c.r.Header.Get("If-Match"))
	if m == "" || m == "*" {
		return 0, true
	}
	if strings.HasPrefix(m, "W/") {
		writeProblem(c.w, http.StatusPreconditionFailed,
			`If-Match has a weak validator (W/"..."), which never matches: send the ETag, such as "42"`)
		return 0, false
	}
	if len(m) >= 2 && m[0] == '"' && m[len(m)-1] == '"' {
		m = m[1 : len(m)-1]
	}
	v, err := strconv.ParseUint(m, 10, 64)
	if err != nil || v == 0 {
		writeProblem(c.w, http.StatusBadRequest, `If-Match must be a config version such as "42"`)
		return 0, false
	}
	return v, true
}

// forwardToLeader sends a call this voter could not serve (nl: it is not
// the leader) to the leader. A voter that knows no leader waits for one
// (Config.LeaderWait): an election ends within it and the call goes to
// the new leader, whose answer is definite (a write whose commit was cut
// short is resolved there by its Idempotency-Key). Still none: 503 with
// Retry-After, without trying the other voters: this voter is cut off
// from them (a partitioned old leader steps down and knows none), and
// each would cost a connect timeout while the client waits.
func (a *API) forwardToLeader(c *call, nl *control.NotLeaderError) {
	if nl.LeaderID == "" && !a.awaitLeader(c.ctx) {
		detail := "this control voter knows no leader: an election is under way or it is cut off from the other voters; retry"
		if nl.InFlight {
			detail = "leadership was lost while the write was being committed (outcome unknown) and no new leader is known yet; " +
				"retry with the same Idempotency-Key, which applies it at most once"
		}
		unavailable(c.w, detail)
		return
	}
	a.forward(c, a.leaderFirst(nl.LeaderID))
}

// leaderPoll is how often awaitLeader looks for a leader.
const leaderPoll = 50 * time.Millisecond

// awaitLeader waits up to Config.LeaderWait (and the call's own deadline)
// until this node knows a leader.
func (a *API) awaitLeader(ctx context.Context) bool {
	if a.control.Leader() != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.LeaderWait)
	defer cancel()
	tick := time.NewTicker(leaderPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			if a.control.Leader() != "" {
				return true
			}
		}
	}
}

// leaderFirst lists where a voter that is not the leader sends a request:
// the leader named (by the store's error, else as this node knows it),
// then every other voter.
func (a *API) leaderFirst(named string) []string {
	out := make([]string, 0, 4)
	add := func(id string) {
		if id != "" && id != a.cfg.NodeID && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	add(named)
	add(a.control.Leader())
	for _, id := range a.cluster.Voters() {
		add(id)
	}
	return out
}
