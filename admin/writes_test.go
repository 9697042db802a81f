package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/admin/admintest"
	"github.com/ringside-live/ringside/control"
)

func TestWriteRoutes(t *testing.T) {
	e := newEnv(t)
	seed(t, e) // version 5: region eu, events fight and final, CDN akam, a signing key
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		want                     string
	}{
		{"unknown field", "POST", "events", `{"id":"x","colour":"red"}`, nil, 400, "colour"},
		{"not json", "POST", "events", `{`, nil, 400, "JSON"},
		{"invalid id", "POST", "events", `{"id":"Bad Id","pull_url":"http://o/"}`, nil, 422, `"field":"events[Bad Id].id"`},
		{"create twice", "POST", "events", `{"id":"final","pull_url":"http://o/"}`, nil, 409, "exists"},
		{"path/body mismatch", "PUT", "events/a", `{"id":"b","pull_url":"http://o/"}`, nil, 422, "must be a"},
		{"replace event", "PUT", "events/final", `{"title":"The Final","pull_url":"http://o/"}`, nil, 200, `"title": "The Final"`},
		{"to live", "POST", "events/final/state", `{"state":"live"}`, nil, 200, `"state": "live"`},
		{"live to scheduled", "POST", "events/final/state", `{"state":"scheduled"}`, nil, 409, "scheduled"},
		{"state of nothing", "POST", "events/nope/state", `{"state":"live"}`, nil, 404, "nope"},
		{"stale If-Match", "PUT", "regions/eu", `{"cidrs":["192.0.2.0/25"]}`, []string{"If-Match", `"1"`}, 412, "version"},
		{"bad If-Match", "PUT", "regions/eu", `{"cidrs":["192.0.2.0/25"]}`, []string{"If-Match", `"x"`}, 400, "If-Match"},
		{"current If-Match", "PUT", "regions/eu", `{"cidrs":["192.0.2.0/25"]}`, []string{"If-Match", `"7"`}, 200, `"version": 8`},
		{"region name mismatch", "PUT", "regions/eu", `{"name":"us","cidrs":["192.0.2.0/25"]}`, nil, 422, "must be eu"},
		{"weight", "POST", "cdns/akam/weight", `{"weight":250}`, nil, 200, `"weight": 250`},
		{"weight out of range", "POST", "cdns/akam/weight", `{"weight":5000}`, nil, 422, "weight"},
		{"cdn state", "POST", "cdns/akam/state", `{"state":"draining"}`, nil, 200, `"state": "draining"`},
		{"put cdn", "PUT", "cdns/other", `{"hostname":"o.example.net","weight":10}`, nil, 200, `"id": "other"`},
		{"delete cdn", "DELETE", "cdns/other", "", nil, 200, `"version": 12`},
		{"delete unknown cdn", "DELETE", "cdns/nope", "", nil, 404, "nope"},
		{"delete region", "DELETE", "regions/eu", "", nil, 200, `"duplicate": false`},
		{"delete event", "DELETE", "events/fight", "", nil, 200, `"version"`},
		{"drain", "POST", "nodes/n2/drain", "", nil, 200, `"drain": true`},
		{"undrain", "POST", "nodes/n2/undrain", "", nil, 200, `"drain": false`},
		{"drain unknown node", "POST", "nodes/nope/drain", "", nil, 404, "nope"},
		{"rotate", "POST", "signing-keys/rotate", "", nil, 200, `"previous"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, tt.method, "/admin/v1/"+tt.path, adminToken, tt.body, tt.hdr...)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d with %q", r.status, r.raw, tt.status, tt.want)
			}
			if r.status == 200 {
				var w admin.WriteResponse
				r.decode(t, &w)
				if r.header.Get("ETag") != fmt.Sprintf(`"%d"`, w.Version) || w.Version == 0 {
					t.Fatalf("ETag %q for %s", r.header.Get("ETag"), r.raw)
				}
			}
		})
	}
	if ds := e.cluster.Drains(); len(ds) != 0 {
		t.Fatalf("a persisted drain went through gossip: %+v", ds)
	}
}

// TestCommandErrors: each error of the control store answers its status.
func TestCommandErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter bool
		want       string
	}{
		{"validation", &control.ValidationError{Errs: []control.FieldError{{Field: "events[x].pull_url", Message: "bad"},
			{Field: "events[x].dvr_window", Message: "negative"}}}, 422, false, `"errors":[{"field":"events[x].pull_url","message":"bad"},{"field":"events[x].dvr_window"`},
		{"invalid", fmt.Errorf("%w: payload", control.ErrInvalid), 422, false, "invalid"},
		{"conflict", fmt.Errorf("%w: at 3", control.ErrConflict), 412, false, "conflict"},
		{"not found", fmt.Errorf("%w: cdn x", control.ErrNotFound), 404, false, "cdn x"},
		{"illegal transition", control.ErrIllegalTransition, 409, false, "transition"},
		{"exists", fmt.Errorf("%w: event %q", control.ErrExists, "x"), 409, false, "exists"},
		{"idempotency mismatch", control.ErrIdempotencyMismatch, 422, false, "idempotency"},
		{"no leader", &control.NotLeaderError{}, 503, true, "no control node"},
		{"deadline", fmt.Errorf("control: apply: %w", context.DeadlineExceeded), 503, true, "deadline"},
		{"other", errors.New("disk on fire"), 500, false, "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.control.FailApply(tt.err)
			r := e.call(t, "PUT", "/admin/v1/regions/eu", adminToken, `{"cidrs":["192.0.2.0/24"]}`)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d with %s", r.status, r.raw, tt.status, tt.want)
			}
			if got := r.header.Get("Retry-After"); (got == "1") != tt.retryAfter {
				t.Fatalf("Retry-After %q", got)
			}
		})
	}
}

// TestCreateIsDecidedByTheLog: whether an event exists is decided by the
// log (create_event), not by this node's possibly stale copy.
func TestCreateIsDecidedByTheLog(t *testing.T) {
	e := newEnv(t)
	e.control.FailApply(fmt.Errorf("%w: event %q", control.ErrExists, "final")) // created elsewhere, not yet here
	r := e.call(t, "POST", "/admin/v1/events", adminToken, `{"id":"final","pull_url":"http://o/"}`)
	calls := e.control.Calls()
	if r.status != 409 || len(calls) != 1 || calls[0].Cmd.Type != control.CmdCreateEvent {
		t.Fatalf("%d %s; applied %+v", r.status, r.raw, calls)
	}
}

// TestWritesHaveDeadlines: the store never gets a context without a
// deadline, whatever the caller's context.
func TestWritesHaveDeadlines(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	calls := e.control.Calls()
	if len(calls) == 0 {
		t.Fatal("no Apply")
	}
	for _, c := range calls {
		if !c.HasDeadline {
			t.Errorf("%s applied without a deadline", c.Cmd.Type)
		}
	}
}

// TestIdempotencyKey: the client's key is used; without one, the node
// names the write with a fresh key and tells the client.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	body := `{"cidrs":["203.0.113.0/24"]}`
	first := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, body, "Idempotency-Key", "k-1")
	again := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, body, "Idempotency-Key", "k-1")
	var w1, w2 admin.WriteResponse
	first.decode(t, &w1)
	again.decode(t, &w2)
	if w1.Version != w2.Version || w1.Duplicate || !w2.Duplicate || again.header.Get("Idempotency-Key") != "k-1" {
		t.Fatalf("%s / %s", first.raw, again.raw)
	}
	auto := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, body)
	key := auto.header.Get("Idempotency-Key")
	calls := e.control.Calls()
	if !strings.HasPrefix(key, "auto-") || len(key) != len("auto-")+32 || calls[len(calls)-1].Cmd.IdempotencyKey != key {
		t.Fatalf("generated key %q, applied with %q", key, calls[len(calls)-1].Cmd.IdempotencyKey)
	}
	other := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, body)
	if other.header.Get("Idempotency-Key") == key {
		t.Fatal("two writes got the same generated key")
	}
}

// TestRotationIsIdempotent: a retried rotation (same Idempotency-Key)
// names the same key and rotates once; another key rotates again.
func TestRotationIsIdempotent(t *testing.T) {
	e := newEnv(t)
	rotate := func(key string) admin.WriteResponse {
		var w admin.WriteResponse
		r := e.call(t, "POST", "/admin/v1/signing-keys/rotate", adminToken, "", "Idempotency-Key", key)
		if r.status != 200 {
			t.Fatalf("rotate: %d %s", r.status, r.raw)
		}
		r.decode(t, &w)
		return w
	}
	a, b, c := rotate("op-1"), rotate("op-1"), rotate("op-2")
	calls := e.control.Calls()
	id := func(i int) string {
		var k control.SigningKey
		if err := jsonUnmarshal(calls[i].Cmd.Payload, &k); err != nil || len(k.Secret) != 32 {
			t.Fatalf("payload %s: %v", calls[i].Cmd.Payload, err)
		}
		return k.ID
	}
	if id(0) != id(1) || id(0) == id(2) || !strings.HasPrefix(id(0), "k") || len(id(0)) != 11 {
		t.Fatalf("key ids %q %q %q", id(0), id(1), id(2))
	}
	if a.Version != 1 || !b.Duplicate || b.Version != 1 || c.Version != 2 {
		t.Fatalf("versions %+v %+v %+v", a, b, c)
	}
	if d := e.control.Current(); d.Signing.Previous == nil || d.Signing.Previous.ID != id(0) {
		t.Fatalf("rotated twice for one key: %+v", d.Signing)
	}
}

func TestDrainThroughGossip(t *testing.T) {
	e := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Control = nil })
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"nodes/n2/drain", 200, `"drain": true`},
		{"nodes/self/drain", 200, `"id": "self"`},
		{"nodes/n2/undrain", 200, `"drain": false`},
		{"nodes/nope/drain", 404, "no live member with id nope"},
	} {
		if r := e.call(t, "POST", "/admin/v1/"+tt.path, adminToken, ""); r.status != tt.status || !strings.Contains(r.raw, tt.want) {
			t.Fatalf("%s: %d %s", tt.path, r.status, r.raw)
		}
	}
	want := []admintest.Drain{{ID: "n2", Drain: true}, {ID: "self", Drain: true}, {ID: "n2", Drain: false}}
	if got := e.cluster.Drains(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drains %v, want %v", got, want)
	}
}

func TestPurge(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{`{}`, `{"key":"/etc/passwd"}`, `{"prefix":"/live/x"}`, `{"event":"Bad Event"}`,
		`{"key":"/live/a/b.ts","event":"a"}`, `{"nope":1}`, `not json`, ``} {
		if r := e.call(t, "POST", "/admin/v1/purge", adminToken, bad); r.status != 400 || !strings.Contains(r.raw, "purge") {
			t.Fatalf("purge %s: %d %s", bad, r.status, r.raw)
		}
	}
	var p admin.PurgeResponse
	r := e.call(t, "POST", "/admin/v1/purge", adminToken, `{"event":"fight"}`)
	r.decode(t, &p)
	if r.status != 200 || p.Target != "/live/fight/" || p.Purged != 2 || len(p.Nodes) != 2 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	e.cluster.SetPurgeResult("n2", admin.PurgeResult{Error: "unreachable"})
	r = e.call(t, "POST", "/admin/v1/purge", adminToken, `{"key":"/live/fight/0/a.ts"}`)
	r.decode(t, &p)
	if r.status != 207 || p.Purged != 1 || p.Nodes["n2"].Error != "unreachable" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	want := []admintest.Purge{{Target: "/live/fight/", Key: false}, {Target: "/live/fight/0/a.ts", Key: true}}
	if got := e.cluster.Purges(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("purges %v, want %v", got, want)
	}
}

func TestPurgeRequestTarget(t *testing.T) {
	tests := []struct {
		req  admin.PurgeRequest
		want string
		err  string
	}{
		{admin.PurgeRequest{Event: "fight"}, "/live/fight/", ""},
		{admin.PurgeRequest{Key: "/live/fight/0/a.ts"}, "/live/fight/0/a.ts", ""},
		{admin.PurgeRequest{Prefix: "/live/fight/0/"}, "/live/fight/0/", ""},
		{admin.PurgeRequest{}, "", "exactly one"},
		{admin.PurgeRequest{Key: "/live/a", Prefix: "/live/"}, "", "exactly one"},
		{admin.PurgeRequest{Event: "Bad"}, "", "not a valid event id"},
		{admin.PurgeRequest{Key: "/live/fight/"}, "", "want a path"},
		{admin.PurgeRequest{Prefix: "/live/fight"}, "", "ending in /"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.req), func(t *testing.T) {
			got, err := tt.req.Target()
			if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("%q, %v; want %q, %q", got, err, tt.want, tt.err)
			}
		})
	}
}

// TestRotationKeepsRetiredKeys: three rotations in a row keep both
// retired keys, and each answer says until when the retired keys stay
// valid (their retirement plus the longest token lifetime).
func TestRotationKeepsRetiredKeys(t *testing.T) {
	e := newEnv(t)
	var last string
	for _, key := range []string{"op-1", "op-2", "op-3"} {
		r := e.call(t, "POST", "/admin/v1/signing-keys/rotate", adminToken, "", "Idempotency-Key", key)
		if r.status != 200 {
			t.Fatalf("rotate: %d %s", r.status, r.raw)
		}
		last = r.raw
	}
	var w struct {
		Result struct {
			Current  struct{ ID string }
			Previous struct {
				ID         string
				RetiredAt  time.Time `json:"retired_at"`
				ValidUntil time.Time `json:"valid_until"`
			}
			Older []struct {
				ID         string
				ValidUntil time.Time `json:"valid_until"`
			}
			MaxTokenTTL string `json:"max_token_ttl"`
			Note        string
		}
	}
	if err := json.Unmarshal([]byte(last), &w); err != nil {
		t.Fatal(err)
	}
	res := w.Result
	if res.Previous.ID == "" || len(res.Older) != 1 || res.MaxTokenTTL != "6h" ||
		!res.Previous.ValidUntil.After(res.Previous.RetiredAt.Add(6*time.Hour-time.Second)) ||
		res.Older[0].ValidUntil.IsZero() || !strings.Contains(res.Note, res.Older[0].ID) {
		t.Fatalf("third rotation's answer: %s", last)
	}
	// A rotation may change the longest token lifetime.
	if r := e.call(t, "POST", "/admin/v1/signing-keys/rotate", adminToken, `{"max_token_ttl":"2h"}`, "Idempotency-Key", "op-4"); r.status != 200 ||
		!strings.Contains(r.raw, `"max_token_ttl": "2h"`) {
		t.Fatalf("rotation with max_token_ttl: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/admin/v1/signing-keys/rotate", adminToken, `{"ttl":"2h"}`, "Idempotency-Key", "op-5"); r.status != 400 {
		t.Fatalf("rotation with an unknown field: %d %s", r.status, r.raw)
	}
}

// TestRevokeTokens: POST events/{id}/revoke-tokens raises the event's
// token generation through the control plane.
func TestRevokeTokens(t *testing.T) {
	e := newEnv(t)
	if r := e.call(t, "POST", "/admin/v1/events", adminToken, `{"id":"fight","pull_url":"http://o/"}`); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	for i, want := range []string{`"token_generation": 1`, `"token_generation": 2`} {
		r := e.call(t, "POST", "/admin/v1/events/fight/revoke-tokens", adminToken, "")
		if r.status != 200 || !strings.Contains(r.raw, want) {
			t.Fatalf("revoke %d: %d %s", i, r.status, r.raw)
		}
	}
	if r := e.call(t, "POST", "/admin/v1/events/nope/revoke-tokens", adminToken, ""); r.status != 404 {
		t.Fatalf("revoke of an unknown event: %d %s", r.status, r.raw)
	}
}
