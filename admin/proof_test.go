package admin_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
)

// t0 is every node's clock in these tests.
var t0 = time.Unix(1_750_000_000, 0)

// sign is a forwarded call's proof as the documentation spells it, made
// here independently of the package.
func sign(token, access string, ts int64, method, uri, key, body, target string) string {
	sum := sha256.Sum256([]byte(body))
	msg := strings.Join([]string{"v1", strconv.FormatInt(ts, 10), access, method, uri, key, hex.EncodeToString(sum[:]), target}, "\n")
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(msg))
	return fmt.Sprintf("v1 %d %s %x", ts, access, m.Sum(nil))
}

// TestForwardedCallsCarryAProof: a non-voter forwards without the
// operator's token; the target verifies the proof and records the
// operator at the node the call arrived at.
func TestForwardedCallsCarryAProof(t *testing.T) {
	leader := newEnv(t, withID("v1"), at(t0))
	up := newUpstream(t, meshSide(leader.api, "edge-1"))
	e := newEnv(t, withID("edge-1"), at(t0))
	follower(e, "v1")
	e.cluster.SetAdminURL("v1", up.URL)

	body := `{"cidrs":["203.0.113.0/24"]}`
	r := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, body, "X-Ringside-Operator", "alice", "Idempotency-Key", "k1")
	if r.status != 200 || r.header.Get("X-Ringside-Served-By") != "v1" {
		t.Fatalf("%d %v %s", r.status, r.header, r.raw)
	}
	s := up.seen()[0]
	if want := sign(adminToken, "rw", t0.Unix(), "PUT", "/admin/v1/regions/apac", "k1", body, "v1"); s.header.Get("Authorization") != "" ||
		s.header.Get(admin.HeaderProof) != want || s.header.Get(admin.HeaderOperator) != "alice" {
		t.Fatalf("forwarded headers %v; want no Authorization, proof %q, operator alice", s.header, want)
	}
	if h := leader.control.History(1); len(h) != 1 || h[0].Actor != "alice@edge-1" {
		t.Fatalf("history %+v, want actor alice@edge-1", h)
	}

	// A read with the read-only token is proven with that token.
	r = e.call(t, "GET", "/admin/v1/config/history?limit=5", roToken, "")
	var h admin.HistoryResponse
	r.decode(t, &h)
	s = up.seen()[1]
	if want := sign(roToken, "ro", t0.Unix(), "GET", "/admin/v1/config/history?limit=5", "", "", "v1"); r.status != 200 ||
		s.header.Get(admin.HeaderProof) != want || s.header.Get(admin.HeaderOperator) != "operator" || len(h.Changes) != 1 {
		t.Fatalf("%d %s; forwarded %v, want proof %q", r.status, r.raw, s.header, want)
	}
	// ...and cannot write through a forward either.
	if r := e.call(t, "PUT", "/admin/v1/regions/eu", roToken, body); r.status != 403 || len(up.seen()) != 2 {
		t.Fatalf("read-only write: %d %s, %d forwarded", r.status, r.raw, len(up.seen()))
	}
	// The operator's own call records them at the node it reached.
	leader.call(t, "DELETE", "/admin/v1/regions/apac", adminToken, "", "X-Ringside-Operator", "bob.ops@example.com")
	if h := leader.control.History(1); h[0].Actor != "bob.ops@example.com@v1" {
		t.Fatalf("direct call's actor %q", h[0].Actor)
	}
}

// TestTwoHopsKeepTheOrigin: a voter that is not the leader forwards a
// forwarded write again, with a proof for the leader; the history still
// names the node where the operator's call arrived.
func TestTwoHopsKeepTheOrigin(t *testing.T) {
	leader := newEnv(t, withID("v1"), at(t0))
	voter := newEnv(t, withID("v2"), at(t0))
	voter.control.FailApply(&control.NotLeaderError{LeaderID: "v1"})
	toLeader := newUpstream(t, meshSide(leader.api, "v2"))
	voter.cluster.SetAdminURL("v1", toLeader.URL)
	e := newEnv(t, withID("edge-1"), at(t0))
	follower(e, "v2")
	e.cluster.SetAdminURL("v2", newUpstream(t, meshSide(voter.api, "edge-1")).URL)

	r := e.call(t, "POST", "/admin/v1/signing-keys/rotate", adminToken, "", "X-Ringside-Operator", "alice")
	if r.status != 200 || r.header.Get("X-Ringside-Served-By") != "v1" {
		t.Fatalf("%d %v %s", r.status, r.header, r.raw)
	}
	s := toLeader.seen()[0]
	if s.header.Get("X-Ringside-Forwarded") != "2" || s.header.Get("X-Ringside-Origin") != "edge-1" || s.header.Get("Authorization") != "" {
		t.Fatalf("second hop %v", s.header)
	}
	if h := leader.control.History(1); len(h) != 1 || h[0].Actor != "alice@edge-1" {
		t.Fatalf("history %+v, want actor alice@edge-1", h)
	}
}

func TestServeForwardedRefuses(t *testing.T) {
	target := newEnv(t, withID("v1"), at(t0))
	const uri, body = "/admin/v1/regions/apac", `{"cidrs":["203.0.113.0/24"]}`
	ts := t0.Unix()
	proof := func(token, access string, ts int64, method, uri, key, body, node string) string {
		return sign(token, access, ts, method, uri, key, body, node)
	}
	valid := proof(adminToken, "rw", ts, "PUT", uri, "k1", body, "v1")
	tests := []struct {
		name              string
		method, uri, body string
		proof             string
		hdr               []string
		via               string
		status            int
		want              string
	}{
		{"for another node", "PUT", uri, body, proof(adminToken, "rw", ts, "PUT", uri, "k1", body, "v2"), nil, "edge-1", 401, "does not verify for node v1"},
		{"stale", "PUT", uri, body, proof(adminToken, "rw", ts-61, "PUT", uri, "k1", body, "v1"), nil, "edge-1", 401, "stale proof"},
		{"from the future", "PUT", uri, body, proof(adminToken, "rw", ts+61, "PUT", uri, "k1", body, "v1"), nil, "edge-1", 401, "stale proof"},
		{"tampered body", "PUT", uri, `{"cidrs":["0.0.0.0/0"]}`, valid, nil, "edge-1", 401, "does not verify"},
		{"tampered path", "PUT", "/admin/v1/regions/emea", body, valid, nil, "edge-1", 401, "does not verify"},
		{"tampered query", "PUT", uri + "?x=1", body, valid, nil, "edge-1", 401, "does not verify"},
		{"tampered method", "DELETE", uri, body, valid, nil, "edge-1", 401, "does not verify"},
		{"tampered key", "PUT", uri, body, valid, []string{"Idempotency-Key", "k2"}, "edge-1", 401, "does not verify"},
		{"other token", "PUT", uri, body, proof("guess", "rw", ts, "PUT", uri, "k1", body, "v1"), nil, "edge-1", 401, "does not verify"},
		{"rw claimed with the read-only token", "PUT", uri, body, proof(roToken, "rw", ts, "PUT", uri, "k1", body, "v1"), nil, "edge-1", 401, "does not verify"},
		{"read-only proof on a write", "PUT", uri, body, proof(roToken, "ro", ts, "PUT", uri, "k1", body, "v1"), nil, "edge-1", 403, "read-only"},
		{"no proof", "PUT", uri, body, "", nil, "edge-1", 401, "needs an X-Ringside-Admin-Proof"},
		{"malformed", "PUT", uri, body, "v1 " + strconv.FormatInt(ts, 10) + " rw", nil, "edge-1", 401, "malformed"},
		{"bad access", "PUT", uri, body, strings.Replace(valid, " rw ", " su ", 1), nil, "edge-1", 401, "malformed"},
		{"with the token", "PUT", uri, body, valid, []string{"Authorization", "Bearer " + adminToken}, "edge-1", 401, "never the admin token"},
		{"no verified node", "PUT", uri, body, valid, nil, "", 401, "verified id"},
		{"bad operator", "PUT", uri, body, valid, []string{"X-Ringside-Operator", "alice smith"}, "edge-1", 400, "X-Ringside-Operator"},
		{"bad origin", "PUT", uri, body, valid, []string{"X-Ringside-Origin", "a b"}, "edge-1", 400, "X-Ringside-Origin"},
		{"unknown route", "GET", "/admin/v1/wombats", "", proof(roToken, "ro", ts, "GET", "/admin/v1/wombats", "", "", "v1"), nil, "edge-1", 404, "no such admin route"},
		{"wrong method", "PATCH", uri, "", proof(adminToken, "rw", ts, "PATCH", uri, "", "", "v1"), nil, "edge-1", 405, "not allowed"},
		{"read-only read", "GET", "/admin/v1/regions", "", proof(roToken, "ro", ts, "GET", "/admin/v1/regions", "", "", "v1"), nil, "edge-1", 200, `"regions"`},
		{"valid write", "PUT", uri, body, valid, nil, "edge-1", 200, `"version": 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://v1"+tt.uri, strings.NewReader(tt.body))
			req.Header.Set("Idempotency-Key", "k1")
			if tt.method == "GET" || tt.method == "PATCH" {
				req.Header.Del("Idempotency-Key")
			}
			if tt.proof != "" {
				req.Header.Set(admin.HeaderProof, tt.proof)
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			r := target.forwarded(t, req, tt.via)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d with %q", r.status, r.raw, tt.status, tt.want)
			}
			if r.status < 300 {
				return
			}
			if n := len(target.control.Calls()); n != 0 {
				t.Fatalf("a refused call was applied (%d applies)", n)
			}
		})
	}
	if h := target.control.History(1); len(h) != 1 || h[0].Actor != "operator@edge-1" {
		t.Fatalf("history %+v, want operator@edge-1", h)
	}

	t.Run("a proof on the operator's listener", func(t *testing.T) {
		r := target.call(t, "GET", "/admin/v1/regions", "", "", admin.HeaderProof,
			proof(roToken, "ro", ts, "GET", "/admin/v1/regions", "", "", "v1"))
		if r.status != 401 || !strings.Contains(r.raw, "mesh listener") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("disabled API", func(t *testing.T) {
		off := newEnv(t, withID("v1"), at(t0), func(c *admin.Config, _ *admin.Deps) { c.Token, c.ReadOnlyToken = "", "" })
		req := httptest.NewRequest("GET", "http://v1/admin/v1/regions", nil)
		req.Header.Set(admin.HeaderProof, proof("", "rw", ts, "GET", "/admin/v1/regions", "", "", "v1"))
		if r := off.forwarded(t, req, "edge-1"); r.status != 404 || !strings.Contains(r.raw, "admin.token") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("no read-only token", func(t *testing.T) {
		noRO := newEnv(t, withID("v1"), at(t0), func(c *admin.Config, _ *admin.Deps) { c.ReadOnlyToken = "" })
		req := httptest.NewRequest("GET", "http://v1/admin/v1/regions", nil)
		req.Header.Set(admin.HeaderProof, proof("", "ro", ts, "GET", "/admin/v1/regions", "", "", "v1"))
		if r := noRO.forwarded(t, req, "edge-1"); r.status != 401 || !strings.Contains(r.raw, "no read-only token") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

func TestOperatorHeader(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		op     string
		status int
		actor  string
	}{
		{"", 200, "operator@self"},
		{"alice", 200, "alice@self"},
		{"ops-bot_2.x@corp", 200, "ops-bot_2.x@corp@self"},
		{strings.Repeat("a", 64), 200, strings.Repeat("a", 64) + "@self"},
		{strings.Repeat("a", 65), 400, ""},
		{"alice smith", 400, ""},
		{"élise", 400, ""},
		{"a\tb", 400, ""},
	} {
		r := e.call(t, "POST", "/admin/v1/signing-keys/rotate", adminToken, "", "X-Ringside-Operator", tt.op)
		if r.status != tt.status {
			t.Fatalf("operator %q: %d %s", tt.op, r.status, r.raw)
		}
		if tt.status == 200 {
			if h := e.control.History(1); h[0].Actor != tt.actor {
				t.Fatalf("operator %q: actor %q, want %q", tt.op, h[0].Actor, tt.actor)
			}
		}
		if admin.ValidOperator(tt.op) != (tt.status == 200 && tt.op != "") {
			t.Fatalf("ValidOperator(%q) = %v", tt.op, admin.ValidOperator(tt.op))
		}
	}
}
