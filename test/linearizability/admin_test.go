//go:build unix

package linearizability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// adminClient calls the admin API of the nodes with one http.Client, so
// each job (workload, nemesis, checks) owns its connections and timeouts.
type adminClient struct {
	http *http.Client
}

func newAdminClient(timeout time.Duration) *adminClient {
	return &adminClient{http: &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}}
}

func (c *adminClient) close() { c.http.CloseIdleConnections() }

// reply is one HTTP answer.
type reply struct {
	status     int
	retryAfter string
	body       []byte
	// conns counts the connections the request was sent on. More than one:
	// http.Transport retried a request with an Idempotency-Key on a new
	// connection after a reused one broke, and answers with the last
	// attempt only, though an earlier one may have reached the server.
	conns int
}

// do sends one request with the admin token. hdr may be nil.
func (c *adminClient) do(ctx context.Context, method, url string, body any, hdr map[string]string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	var r reply
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { r.conns++ }})
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	r.status, r.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	r.body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return r, err
}

// getJSON GETs url and decodes a 200 answer into v.
func (c *adminClient) getJSON(ctx context.Context, url string, v any) error {
	r, err := c.do(ctx, http.MethodGet, url, nil, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, r.status, brief(r.body))
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// neverSent reports whether a request that failed with err never reached
// a server: the connection was refused and no earlier one was had.
func neverSent(r reply, err error) bool { return errors.Is(err, syscall.ECONNREFUSED) && r.conns == 0 }

// brief shortens a response body for messages.
func brief(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// until waits with poll.Until until cond returns nil; a failure names
// cond's last error.
func until(t testing.TB, what string, within time.Duration, cond func() error) {
	t.Helper()
	var last error
	poll.Until(lastError{t, &last}, what, within, func() bool { last = cond(); return last == nil })
}

// lastError adds the condition's last error to a failed wait.
type lastError struct {
	testing.TB
	err *error
}

func (l lastError) Fatalf(format string, args ...any) {
	l.TB.Helper()
	l.TB.Fatalf(format+": %v", append(args, *l.err)...)
}

// try waits like until but gives up after within without failing the
// test, and returns cond's last error: for waits whose failure the run
// reports and survives (the nemesis's).
func try(t testing.TB, within time.Duration, cond func() error) error {
	t.Helper()
	var last error
	deadline := time.Now().Add(within)
	poll.Until(t, "a wait with its own deadline", within+time.Minute, func() bool {
		last = cond()
		return last == nil || time.Now().After(deadline)
	})
	return last
}

// nodesView is the part of GET /admin/v1/nodes the test reads.
type nodesView struct {
	Self          string `json:"self"`
	ControlLeader string `json:"control_leader"`
	Nodes         []struct {
		ID string `json:"id"`
	} `json:"nodes"`
	// Divergence is reported by a voter whose Raft log disagrees with the
	// leader's; absent on nodes that do not detect it.
	Divergence json.RawMessage `json:"control_divergence"`
}

// diverged reports whether a control_divergence value says something:
// absent, null, false, 0, "", a zero time, empty collections and objects
// of only such values (or with "found": false) say nothing.
func diverged(raw json.RawMessage) bool {
	var v any
	if len(raw) == 0 {
		return false
	}
	if json.Unmarshal(raw, &v) != nil {
		return true
	}
	return says(v)
}

func says(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0001-01-01T00:00:00Z"
	case []any:
		return slices.ContainsFunc(x, says)
	case map[string]any:
		if found, ok := x["found"].(bool); ok {
			return found
		}
		for _, m := range x {
			if says(m) {
				return true
			}
		}
		return false
	}
	return true
}

// leader returns the voter that reports itself as the control leader,
// among the running, unpaused voters.
func (c *cluster) leader(ctx context.Context, ac *adminClient) (*proc, error) {
	var found []*proc
	var errs []error
	for _, p := range c.voters {
		if !p.answering() {
			continue
		}
		var v nodesView
		if err := ac.getJSON(ctx, p.adminURL()+"/admin/v1/nodes", &v); err != nil {
			errs = append(errs, err)
			continue
		}
		if v.ControlLeader != "" && v.ControlLeader == v.Self {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%d voters claim leadership: %v", len(found), errors.Join(errs...))
	}
	return found[0], nil
}

// waitLeader polls for a leader.
func (c *cluster) waitLeader(t testing.TB, ac *adminClient, limit time.Duration) (*proc, error) {
	var l *proc
	err := try(t, limit, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var err error
		l, err = c.leader(ctx, ac)
		return err
	})
	return l, err
}

// waitHealthy polls p's admin /healthz until it answers 200.
func waitHealthy(t testing.TB, p *proc, ac *adminClient, limit time.Duration) error {
	return try(t, limit, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := ac.do(ctx, http.MethodGet, p.adminURL()+"/healthz", nil, nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("%s /healthz: %d %s", p.name, r.status, brief(r.body))
		}
		return nil
	})
}
