package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/admin/admintest"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

const (
	fakeToken     = "ctl-fake-admin-token"
	fakeGossipKey = "0123456789abcdef" // every fake node's gossip key at first
)

// fakeNode is the admin API over fakes (package admin with admintest's
// Control, Cluster and MeshKeys) behind a recorder of the requests ctl
// makes; busy answers the next writes 503 with Retry-After.
type fakeNode struct {
	*httptest.Server
	control *admintest.Control
	keys    *admintest.MeshKeys // self and n2, both with fakeGossipKey
	mu      sync.Mutex
	reqs    []ctlRequest
	busy    int
}

type ctlRequest struct{ method, uri, key, operator string }

func newFakeNode(t *testing.T) *fakeNode {
	t.Helper()
	f := &fakeNode{control: admintest.NewControl(), keys: admintest.NewMeshKeys([]byte(fakeGossipKey), "self", "n2")}
	cl := admintest.NewCluster(admin.Member{ID: "self", Roles: []string{"edge", "control"}, HTTP: "127.0.0.1:1", State: "alive",
		Identity: "verified", CertRoles: []string{"edge", "control"}},
		admin.Member{ID: "n2", Roles: []string{"edge"}, HTTP: "127.0.0.1:2", State: "alive", Identity: "mismatch: certificate names edge-3"})
	api, err := admin.New(admin.Config{NodeID: "self", Token: fakeToken},
		admin.Deps{Control: f.control, Cluster: cl, MeshKeys: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, ctlRequest{r.Method, r.URL.RequestURI(), r.Header.Get("Idempotency-Key"), r.Header.Get(admin.HeaderOperator)})
		busy := r.Method != "GET" && f.busy > 0
		if busy {
			f.busy--
		}
		f.mu.Unlock()
		if busy {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(admin.Problem{Type: "about:blank", Title: "Service Unavailable", Status: 503, Detail: "leader changing"})
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeNode) requests() []ctlRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]ctlRequest(nil), f.reqs...)
	f.reqs = nil
	return out
}

// ctlAgainst runs one ctl command line; waits are recorded, not slept.
func ctlAgainst(t *testing.T, args ...string) (code int, stdout, stderr string, waits []time.Duration) {
	t.Helper()
	var out, errb syncbuf.Buffer
	c := &ctl{out: &out, errw: &errb, client: &http.Client{Timeout: 5 * time.Second},
		sleep: func(d time.Duration) { waits = append(waits, d) }}
	c.output = "table"
	code = c.run(args)
	return code, out.String(), errb.String(), waits
}

// TestCtlRoundTrip: ctl against the admin API with flags anywhere, the
// leader's reads by default, one Idempotency-Key per write.
func TestCtlRoundTrip(t *testing.T) {
	f := newFakeNode(t)
	auth := []string{"--addr", f.URL, "--token", fakeToken}
	steps := []struct {
		args    []string
		code    int
		out     string // in stdout (code 0) or stderr
		uri     string // of the last request
		isWrite bool
	}{
		{[]string{"events", "create", "--id", "final", "--title", "The Final", "--pull-url", "http://o/"}, 0, "event created (config version 1)", "/admin/v1/events", true},
		{[]string{"events", "list", "-o", "json"}, 0, `"id": "final"`, "/admin/v1/events?consistent=true", false},
		{[]string{"-o", "json", "events", "list"}, 0, `"state": "scheduled"`, "/admin/v1/events?consistent=true", false},
		{[]string{"events", "list", "--local"}, 0, "final", "/admin/v1/events", false},
		{[]string{"events", "get", "final"}, 0, `"title": "The Final"`, "/admin/v1/events/final?consistent=true", false},
		{[]string{"events", "set-state", "final", "live"}, 0, "now live", "/admin/v1/events/final/state", true},
		{[]string{"events", "set-state", "final", "scheduled"}, 1, "409 Conflict", "/admin/v1/events/final/state", true},
		{[]string{"events", "create", "--id", "Bad Id", "--pull-url", "http://x/"}, 1, "events[Bad Id].id:", "/admin/v1/events", true},
		{[]string{"cdns", "set-weight", "nope", "10"}, 1, "404", "/admin/v1/cdns/nope/weight", true},
		{[]string{"nodes", "drain", "n2"}, 0, "node n2: drained", "/admin/v1/nodes/n2/drain", true},
		{[]string{"status", "-o", "table"}, 0, "node self, config version 3", "/admin/v1/nodes", false},
		{[]string{"purge", "--event", "fight"}, 0, "purged 2 objects under /live/fight/ on 2 nodes", "/admin/v1/purge", true},
		{[]string{"purge"}, 1, "exactly one", "/admin/v1/purge", true},
	}
	keys := map[string]bool{}
	for _, s := range steps {
		code, out, errs, _ := ctlAgainst(t, append(auth, s.args...)...)
		got := out
		if s.code != 0 {
			got = errs
		}
		if code != s.code || !strings.Contains(got, s.out) {
			t.Fatalf("ctl %v: exit %d, stdout %q, stderr %q; want exit %d with %q", s.args, code, out, errs, s.code, s.out)
		}
		reqs := f.requests()
		last := reqs[len(reqs)-1]
		if len(reqs) != 1 || last.uri != s.uri || (last.key != "") != s.isWrite {
			t.Fatalf("ctl %v sent %+v; want one request to %s", s.args, reqs, s.uri)
		}
		if s.isWrite && (!strings.HasPrefix(last.key, "ctl-") || keys[last.key]) {
			t.Fatalf("ctl %v: Idempotency-Key %q is not a fresh one", s.args, last.key)
		}
		keys[last.key] = true
	}
	// The global flags after the command, the address last.
	f.control.Apply(t.Context(), mustCommand(t, control.CmdPutCDN, control.CDN{ID: "akamai", Hostname: "a.example.net", Weight: 100}))
	code, out, errs, _ := ctlAgainst(t, "--token", fakeToken, "cdns", "list", "-o", "json", "--addr", f.URL)
	var cdns []control.CDN
	if code != 0 || json.Unmarshal([]byte(out), &cdns) != nil || len(cdns) != 1 || cdns[0].Weight != 100 {
		t.Fatalf("cdns list: %d %s %s", code, out, errs)
	}
}

// TestCtlRetriesWithTheSameKey: a write answered 503 with Retry-After is
// sent again with the same Idempotency-Key, a few times at most.
func TestCtlRetriesWithTheSameKey(t *testing.T) {
	f := newFakeNode(t)
	f.busy = 2
	code, out, errs, waits := ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "nodes", "drain", "n2")
	reqs := f.requests()
	if code != 0 || !strings.Contains(out, "drained") || len(reqs) != 3 || len(waits) != 2 || waits[0] != time.Second {
		t.Fatalf("exit %d %q %q; requests %+v, waits %v", code, out, errs, reqs, waits)
	}
	if reqs[0].key == "" || reqs[1].key != reqs[0].key || reqs[2].key != reqs[0].key {
		t.Fatalf("keys differ across retries: %+v", reqs)
	}
	if calls := f.control.Calls(); len(calls) != 1 || calls[0].Cmd.IdempotencyKey != reqs[0].key {
		t.Fatalf("applied %+v", calls)
	}
	f.busy = 5
	code, _, errs, waits = ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "nodes", "drain", "n2")
	if code != 1 || !strings.Contains(errs, "503") || len(f.requests()) != ctlAttempts || len(waits) != ctlAttempts-1 {
		t.Fatalf("gave up: exit %d %q, waits %v", code, errs, waits)
	}
}

func mustCommand(t *testing.T, typ string, payload any) control.Command {
	t.Helper()
	cmd, err := control.NewCommand(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}
