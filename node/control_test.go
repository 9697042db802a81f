package node_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	adminapi "github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

type apiResult struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, url, token, body string, hdr ...string) apiResult {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResult{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func version(t *testing.T, c *nodetest.Cluster, i int) float64 {
	r := call(t, "GET", c.URL(i)+"/admin/v1/config", nodetest.AdminToken, "")
	v, _ := r.body["version"].(float64)
	return v
}

func hasRegion(t *testing.T, c *nodetest.Cluster, i int, name string) bool {
	r := call(t, "GET", c.URL(i)+"/admin/v1/regions", nodetest.AdminToken, "")
	return strings.Contains(r.raw, `"name": "`+name+`"`)
}

// TestControlPlane: three voters and an edge. Writes go through any node
// (the edge and followers forward to the leader); every node sees each
// change; killing the leader elects another and writes resume without
// losing an acknowledged one; the killed node catches up on restart.
func TestControlPlane(t *testing.T) {
	c := nodetest.Start(t, nodetest.Options{N: 4, Voters: 3,
		Events: []node.EventConfig{{ID: "fight", PullURL: "http://127.0.0.1:9/"}}})
	c.WaitFor("seeded everywhere", 20*time.Second, func() bool {
		for i := range c.Nodes {
			if version(t, c, i) < 1 {
				return false
			}
		}
		return true
	})
	var acked []string
	for i := range c.Nodes { // through every node, the edge (n3) included
		name := fmt.Sprintf("region-%d", i)
		r := call(t, "PUT", c.URL(i)+"/admin/v1/regions/"+name, nodetest.AdminToken, `{"cidrs":["10.`+fmt.Sprint(i)+`.0.0/16"]}`)
		if r.status != 200 {
			t.Fatalf("write through n%d: %d %s", i, r.status, r.raw)
		}
		acked = append(acked, name)
		start := time.Now()
		c.WaitFor("change seen everywhere", 10*time.Second, func() bool {
			for j := range c.Nodes {
				if !hasRegion(t, c, j, name) {
					return false
				}
			}
			return true
		})
		t.Logf("write through n%d seen by every node after %v", i, time.Since(start).Round(time.Millisecond))
	}
	leader, _ := call(t, "GET", c.URL(0)+"/admin/v1/nodes", nodetest.AdminToken, "").body["control_leader"].(string)
	victim := int(leader[1] - '0')
	c.Kill(victim)
	survivor := (victim + 1) % 3
	c.WaitFor("writes resume under a new leader", 30*time.Second, func() bool {
		r := call(t, "PUT", c.URL(survivor)+"/admin/v1/regions/after-failover", nodetest.AdminToken, `{"cidrs":["10.99.0.0/16"]}`)
		return r.status == 200
	})
	acked = append(acked, "after-failover")
	for _, i := range []int{survivor, 3} {
		for _, name := range acked {
			c.WaitFor(fmt.Sprintf("n%d has %s", i, name), 10*time.Second, func() bool { return hasRegion(t, c, i, name) })
		}
	}
	c.Restart(victim)
	c.WaitFor("restarted voter catches up", 30*time.Second, func() bool { return hasRegion(t, c, victim, "after-failover") })
	m := call(t, "GET", c.URL(survivor)+"/metrics", nodetest.ReadOnlyToken, "").raw
	for _, want := range []string{"ringside_config_version", "ringside_raft_leader", "ringside_raft_commit_index"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Anonymous scrapes of a public listener get no Raft position (what a
	// forged AppendEntries would need).
	if m := body(t, c.URL(survivor)+"/metrics"); strings.Contains(m, "ringside_raft_term") || !strings.Contains(m, "ringside_config_version") {
		t.Error("anonymous /metrics on the public listener shows the Raft position (or lacks the config version)")
	}
}

// TestAdminWritePaths: auth, validation with field names, idempotency,
// optimistic concurrency, illegal transitions.
func TestAdminWritePaths(t *testing.T) {
	c := nodetest.Start(t, nodetest.Options{N: 1, Voters: 1})
	base := c.URL(0) + "/admin/v1/"
	c.WaitFor("a leader", 10*time.Second, func() bool {
		return call(t, "PUT", base+"regions/eu", nodetest.AdminToken, `{"cidrs":["192.0.2.0/24"]}`).status == 200
	})
	tests := []struct {
		name, method, path, token, body string
		hdr                             []string
		status                          int
		want                            string
	}{
		{"no token", "GET", "events", "", "", nil, 401, "admin token"},
		{"read-only reads", "GET", "events", nodetest.ReadOnlyToken, "", nil, 200, "events"},
		{"read-only cannot write", "PUT", "regions/us", nodetest.ReadOnlyToken, `{"cidrs":["198.51.100.0/24"]}`, nil, 403, "read-only"},
		{"unknown route", "GET", "wombats", nodetest.AdminToken, "", nil, 404, "no such admin route"},
		{"wrong method", "DELETE", "events", nodetest.AdminToken, "", nil, 405, "not allowed"},
		{"unknown field", "POST", "events", nodetest.AdminToken, `{"id":"x","colour":"red"}`, nil, 400, "colour"},
		{"not json", "POST", "events", nodetest.AdminToken, `{`, nil, 400, "JSON"},
		{"push and pull", "POST", "events", nodetest.AdminToken,
			`{"id":"bad","pull_url":"http://o/","stream_keys":["0123456789abcdef"]}`, nil, 422, "events[bad]"},
		{"unknown region", "POST", "events", nodetest.AdminToken,
			`{"id":"e1","pull_url":"http://o/","blackout_regions":["mars"]}`, nil, 422, "blackout_regions"},
		{"path/body mismatch", "PUT", "events/a", nodetest.AdminToken, `{"id":"b","pull_url":"http://o/"}`, nil, 422, "must be a"},
		{"missing event", "GET", "events/nope", nodetest.AdminToken, "", nil, 404, "nope"},
		{"create", "POST", "events", nodetest.AdminToken, `{"id":"final","pull_url":"http://o/"}`, nil, 200, "final"},
		{"create twice", "POST", "events", nodetest.AdminToken, `{"id":"final","pull_url":"http://o/"}`, nil, 409, "exists"},
		{"illegal transition", "POST", "events/final/state", nodetest.AdminToken, `{"state":"live"}`, nil, 200, "live"},
		{"live to scheduled", "POST", "events/final/state", nodetest.AdminToken, `{"state":"scheduled"}`, nil, 409, "scheduled"},
		{"stale If-Match", "PUT", "regions/eu", nodetest.AdminToken, `{"cidrs":["192.0.2.0/25"]}`, []string{"If-Match", `"1"`}, 412, "version"},
		{"bad If-Match", "PUT", "regions/eu", nodetest.AdminToken, `{"cidrs":["192.0.2.0/25"]}`, []string{"If-Match", `"x"`}, 400, "If-Match"},
		{"weight out of range", "PUT", "cdns/akam", nodetest.AdminToken, `{"hostname":"a.example.net","weight":5000,"state":"active"}`, nil, 422, "weight"},
		{"delete unknown cdn", "DELETE", "cdns/nope", nodetest.AdminToken, "", nil, 404, "nope"},
		{"drain unknown node", "POST", "nodes/nope/drain", nodetest.AdminToken, "", nil, 404, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, base+tt.path, tt.token, tt.body, tt.hdr...)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d mentioning %q", r.status, r.raw, tt.status, tt.want)
			}
			if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("error content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	// A duplicate Idempotency-Key applies once.
	first := call(t, "PUT", base+"regions/apac", nodetest.AdminToken, `{"cidrs":["203.0.113.0/24"]}`, "Idempotency-Key", "k-1")
	again := call(t, "PUT", base+"regions/apac", nodetest.AdminToken, `{"cidrs":["203.0.113.0/24"]}`, "Idempotency-Key", "k-1")
	if first.status != 200 || again.status != 200 || first.body["version"] != again.body["version"] || again.body["duplicate"] != true {
		t.Fatalf("idempotency: %s / %s", first.raw, again.raw)
	}
	// If-Match with the current version succeeds and bumps the ETag.
	cur := call(t, "GET", base+"config", nodetest.AdminToken, "")
	r := call(t, "PUT", base+"regions/eu", nodetest.AdminToken, `{"cidrs":["192.0.2.0/25"]}`, "If-Match", cur.header.Get("ETag"))
	if r.status != 200 || r.header.Get("ETag") == cur.header.Get("ETag") {
		t.Fatalf("If-Match current: %d %s", r.status, r.raw)
	}
}

// TestEdgeKeepsServingWithoutControlPlane: an edge whose control plane is
// gone keeps serving the event with its last configuration, also after a
// restart of its own (from its persisted copy), refuses writes, and picks
// up changes when the control plane comes back.
func TestEdgeKeepsServingWithoutControlPlane(t *testing.T) {
	origin := newGatedOrigin(t, []byte("bytes"), 0)
	close(origin.gate)
	c := nodetest.Start(t, nodetest.Options{N: 2, Voters: 1,
		Events: []node.EventConfig{{ID: "fight", PullURL: origin.URL}}})
	c.WaitFor("a leader", 20*time.Second, func() bool {
		r := call(t, "PUT", c.URL(0)+"/admin/v1/events/extra", nodetest.AdminToken, `{"id":"extra","pull_url":"`+origin.URL+`","state":"live"}`)
		return r.status == 200
	})
	c.WaitFor("edge follows", 20*time.Second, func() bool { return status(c.URL(1)+"/live/extra/0/a.ts") == 200 })
	c.Stop(0) // the only voter
	c.WaitFor("edge alone", 15*time.Second, func() bool { return len(c.Nodes[1].Members()) == 1 })
	if st := status(c.URL(1) + "/live/fight/0/a.ts"); st != 200 {
		t.Fatalf("edge stopped serving its last configuration: %d", st)
	}
	if w := call(t, "PUT", c.URL(1)+"/admin/v1/regions/x", nodetest.AdminToken, `{"cidrs":["10.0.0.0/8"]}`); w.status != 503 {
		t.Fatalf("write with no control plane: %d, want 503", w.status)
	}
	c.Stop(1)
	c.Restart(1) // from its persisted copy, with no voter anywhere
	// "extra" exists only in the control plane's document, not in the
	// edge's static configuration.
	c.WaitFor("restarted edge serves its persisted configuration", 10*time.Second, func() bool {
		return status(c.URL(1)+"/live/extra/0/a.ts") == 200
	})
	c.Restart(0)
	c.WaitFor("control plane back", 20*time.Second, func() bool {
		r := call(t, "PUT", c.URL(0)+"/admin/v1/events/encore", nodetest.AdminToken, `{"id":"encore","pull_url":"`+origin.URL+`","state":"live"}`)
		return r.status == 200
	})
	c.WaitFor("edge picks up the change", 30*time.Second, func() bool { return status(c.URL(1)+"/live/encore/0/a.ts") == 200 })
}

// TestAdminMounted: the node serves the admin package's openapi.json, and
// every operation the admin API routes reaches it through the node's
// mounting (admin's own tests check the document against the routes).
func TestAdminMounted(t *testing.T) {
	c := nodetest.Start(t, nodetest.Options{N: 1})
	raw, err := os.ReadFile("../admin/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if served := call(t, "GET", c.URL(0)+"/admin/v1/openapi.json", nodetest.ReadOnlyToken, ""); served.raw != string(raw) {
		t.Fatal("served openapi.json differs from the file")
	}
	for _, op := range adminapi.Operations() {
		method, path, _ := strings.Cut(op, " ")
		concrete := strings.NewReplacer("{id}", "x1", "{name}", "x1").Replace(path)
		r := call(t, method, c.URL(0)+concrete, nodetest.AdminToken, "{}")
		if r.status == 404 && strings.Contains(r.raw, "no such") || r.status == 405 {
			t.Errorf("%s does not reach the admin API through the node: %d %s", op, r.status, r.raw)
		}
	}
}

// TestForwardingOverAdminListeners: with admin.listen set on every node, a
// write on the edge and on a follower voter reaches the leader over the
// admin listeners (on main every forwarded call got 404 from the public
// listener), history is forwarded from the edge, a consistent read on the
// edge reflects the write at once, and no public listener answers
// /admin/.
func TestForwardingOverAdminListeners(t *testing.T) {
	c := nodetest.Start(t, nodetest.Options{N: 4, Voters: 3,
		Configure: func(i int, cfg *node.Config) { cfg.Admin.Listen = "127.0.0.1:0" }})
	admin := func(i int) string { return "http://" + c.Nodes[i].AdminAddr() }
	var leader string
	c.WaitFor("a leader", 20*time.Second, func() bool {
		leader, _ = call(t, "GET", admin(0)+"/admin/v1/nodes", nodetest.AdminToken, "").body["control_leader"].(string)
		return leader != ""
	})
	follower := 0
	if leader == "n0" {
		follower = 1
	}
	for _, i := range []int{3, follower} {
		name := fmt.Sprintf("fwd-%d", i)
		r := call(t, "PUT", admin(i)+"/admin/v1/regions/"+name, nodetest.AdminToken, `{"cidrs":["10.`+fmt.Sprint(i)+`.0.0/16"]}`)
		if r.status != 200 || r.header.Get("Idempotency-Key") == "" {
			t.Fatalf("write through n%d: %d %s (idempotency key %q)", i, r.status, r.raw, r.header.Get("Idempotency-Key"))
		}
		read := call(t, "GET", admin(3)+"/admin/v1/regions?consistent=true", nodetest.AdminToken, "")
		if read.status != 200 || !strings.Contains(read.raw, name) {
			t.Fatalf("consistent read on the edge right after the write: %d %s", read.status, read.raw)
		}
	}
	// Forwarded over the mesh listener without the admin token: the
	// history names the operator and the node the call came in through.
	if h := call(t, "GET", admin(3)+"/admin/v1/config/history", nodetest.AdminToken, ""); h.status != 200 ||
		!strings.Contains(h.raw, "fwd-3") || !strings.Contains(h.raw, `"operator@n3"`) {
		t.Fatalf("history through the edge: %d %s", h.status, h.raw)
	}
	if r := call(t, "GET", c.URL(3)+"/admin/v1/nodes", nodetest.AdminToken, ""); r.status != 404 {
		t.Fatalf("the public listener answered /admin/: %d", r.status)
	}
}
