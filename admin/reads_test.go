package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
)

// seed writes a small configuration through the API.
func seed(t *testing.T, e *env) {
	t.Helper()
	for _, w := range []struct{ method, path, body string }{
		{"PUT", "/admin/v1/regions/eu", `{"cidrs":["192.0.2.0/24"]}`},
		{"POST", "/admin/v1/events", `{"id":"fight","pull_url":"http://o/"}`},
		{"POST", "/admin/v1/events", `{"id":"final","pull_url":"http://o/"}`},
		{"PUT", "/admin/v1/cdns/akam", `{"hostname":"a.example.net","weight":100}`},
		{"POST", "/admin/v1/signing-keys/rotate", ``},
	} {
		if r := e.call(t, w.method, w.path, adminToken, w.body); r.status != 200 {
			t.Fatalf("%s %s: %d %s", w.method, w.path, r.status, r.raw)
		}
	}
}

func TestReads(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	t.Run("config", func(t *testing.T) {
		r := e.call(t, "GET", "/admin/v1/config", roToken, "")
		var c admin.ConfigResponse
		r.decode(t, &c)
		if r.status != 200 || r.header.Get("ETag") != `"5"` || c.Version != 5 || c.Leader != "self" ||
			len(c.Document.Events) != 2 || c.Document.SigningKeys.Current == nil || c.Document.SigningKeys.Current.ID == "" {
			t.Fatalf("%d %v %s", r.status, r.header, r.raw)
		}
		if strings.Contains(r.raw, "secret") {
			t.Fatalf("config shows the signing secret: %s", r.raw)
		}
	})
	t.Run("events sorted", func(t *testing.T) {
		var l admin.EventsResponse
		r := e.call(t, "GET", "/admin/v1/events", roToken, "")
		r.decode(t, &l)
		if r.header.Get("ETag") != `"5"` || l.Version != 5 || len(l.Events) != 2 || l.Events[0].ID != "fight" || l.Events[1].ID != "final" {
			t.Fatalf("%s", r.raw)
		}
	})
	t.Run("event", func(t *testing.T) {
		var ev control.Event
		r := e.call(t, "GET", "/admin/v1/events/final", roToken, "")
		r.decode(t, &ev)
		if ev.ID != "final" || ev.State != control.StateScheduled || r.header.Get("ETag") != `"5"` {
			t.Fatalf("%s", r.raw)
		}
		if r := e.call(t, "GET", "/admin/v1/events/nope", roToken, ""); r.status != 404 || !strings.Contains(r.raw, "nope") {
			t.Fatalf("missing event: %d %s", r.status, r.raw)
		}
	})
	t.Run("regions and cdns", func(t *testing.T) {
		var rl admin.RegionsResponse
		e.call(t, "GET", "/admin/v1/regions", roToken, "").decode(t, &rl)
		var cl admin.CDNsResponse
		e.call(t, "GET", "/admin/v1/cdns", roToken, "").decode(t, &cl)
		if len(rl.Regions) != 1 || rl.Regions[0].Name != "eu" || len(cl.CDNs) != 1 || cl.CDNs[0].State != control.CDNActive {
			t.Fatalf("%+v %+v", rl, cl)
		}
	})
	t.Run("history", func(t *testing.T) {
		var h admin.HistoryResponse
		e.call(t, "GET", "/admin/v1/config/history?limit=2", roToken, "").decode(t, &h)
		if h.Version != 5 || len(h.Changes) != 2 || h.Changes[1].Type != control.CmdRotateSigningKey || h.Changes[1].Actor != "operator@self" {
			t.Fatalf("%+v", h)
		}
	})
	t.Run("nodes", func(t *testing.T) {
		var n admin.NodesResponse
		r := e.call(t, "GET", "/admin/v1/nodes", roToken, "")
		r.decode(t, &n)
		if n.Self != "self" || n.ConfigVersion != 5 || n.ControlLeader != "self" || len(n.Nodes) != 2 ||
			!n.Nodes[0].Self || n.Nodes[1].Self || n.Nodes[1].Load != 0.5 || n.ControlDivergence != nil {
			t.Fatalf("%s", r.raw)
		}
		if strings.Contains(r.raw, "control_divergence") {
			t.Fatalf("divergence shown without one: %s", r.raw)
		}
	})
}

// TestNodesShowsDivergence: a voter that detected a Raft log divergence
// says so in /admin/v1/nodes.
func TestNodesShowsDivergence(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	e.control.SetDivergence(control.Divergence{Index: 42, Term: 3, LocalTerm: 2, Local: "ab12", Remote: "cd34", Leader: "n2", At: at})
	var n admin.NodesResponse
	e.call(t, "GET", "/admin/v1/nodes", adminToken, "").decode(t, &n)
	if d := n.ControlDivergence; d == nil || d.Index != 42 || d.Term != 3 || d.LocalTerm != 2 || d.Remote != "cd34" || d.Leader != "n2" || !d.At.Equal(at) {
		t.Fatalf("%+v", n.ControlDivergence)
	}
}

func TestNoControlPlane(t *testing.T) {
	e := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Control = nil })
	for _, op := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/config", ""}, {"GET", "/admin/v1/config/history", ""}, {"GET", "/admin/v1/events", ""},
		{"GET", "/admin/v1/events/x", ""}, {"GET", "/admin/v1/regions?consistent=true", ""}, {"GET", "/admin/v1/cdns", ""},
		{"PUT", "/admin/v1/regions/x", `{"cidrs":["10.0.0.0/8"]}`}, {"POST", "/admin/v1/signing-keys/rotate", ""},
	} {
		if r := e.call(t, op.method, op.path, adminToken, op.body); r.status != 503 || !strings.Contains(r.raw, "set control.data_dir") {
			t.Errorf("%s %s: %d %s", op.method, op.path, r.status, r.raw)
		}
	}
	var n admin.NodesResponse
	e.call(t, "GET", "/admin/v1/nodes", adminToken, "").decode(t, &n)
	if n.ConfigVersion != 0 || n.ControlLeader != "" || len(n.Nodes) != 2 {
		t.Fatalf("%+v", n)
	}
}

func TestSteering(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, query string
		status      int
		want        string
	}{
		{"simulate", "event=fight&client=192.0.2.1&subnet=192.0.2.0/24&session=s1", 200, `"subnet": "192.0.2.0/24"`},
		{"unknown event", "event=nope&client=192.0.2.1", 422, `"field":"event"`},
		{"no event", "client=192.0.2.1", 422, `"field":"event"`},
		{"bad client", "event=fight&client=nope", 422, `"field":"client"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, "GET", "/admin/v1/steering/simulate?"+tt.query, roToken, "")
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d with %s", r.status, r.raw, tt.status, tt.want)
			}
		})
	}
	if r := e.call(t, "GET", "/admin/v1/steering/health", roToken, ""); r.status != 200 || !strings.Contains(r.raw, `"cdns": [`) {
		t.Fatalf("health: %d %s", r.status, r.raw)
	}
	none := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Steering = nil })
	for _, p := range []string{"steering/simulate?event=fight&client=192.0.2.1", "steering/health"} {
		if r := none.call(t, "GET", "/admin/v1/"+p, roToken, ""); r.status != 404 || !strings.Contains(r.raw, "steer role") {
			t.Fatalf("%s without the steer role: %d %s", p, r.status, r.raw)
		}
	}
}
