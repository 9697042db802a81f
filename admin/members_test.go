package admin_test

import (
	"strings"
	"testing"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/admin/admintest"
	"github.com/ringside-live/ringside/control"
)

// TestMemberActionsRunOnAVoter: purges, another node's drain and gossip
// key changes act on other members through calls they take only from a
// control voter, so any other node forwards them to one, with a proof;
// the drain of the node itself stays local, and without voters the node
// acts itself.
func TestMemberActionsRunOnAVoter(t *testing.T) {
	voterKeys := admintest.NewMeshKeys(oldGossipKey, "v1", "self", "n2")
	voter := newEnv(t, withID("v1"), func(_ *admin.Config, d *admin.Deps) { d.MeshKeys = voterKeys })
	up := newUpstream(t, meshSide(voter.api, "self"))
	localKeys := admintest.NewMeshKeys(oldGossipKey, "self")
	noControl := func(_ *admin.Config, d *admin.Deps) { d.Control = nil; d.MeshKeys = localKeys }
	nonVoter := func(_ *admin.Config, d *admin.Deps) { d.MeshKeys = localKeys }
	for _, mod := range []struct {
		name string
		fn   func(*admin.Config, *admin.Deps)
	}{{"no control plane here", noControl}, {"not a voter", nonVoter}} {
		t.Run(mod.name, func(t *testing.T) {
			e := newEnv(t, mod.fn)
			follower(e, "v1")
			e.cluster.SetAdminURL("v1", up.URL)
			before := len(up.seen())
			steps := []struct {
				method, path, body string
				want               string
			}{
				{"POST", "purge", `{"event":"fight"}`, `"target": "/live/fight/"`},
				{"POST", "nodes/n2/drain", "", `"drain": true`},
				{"POST", "mesh/keys", keyOp(admin.KeyInstall, newKeyB64), `"ok": true`},
				{"GET", "mesh/keys", "", `"primary"`},
			}
			for _, s := range steps {
				r := e.call(t, s.method, "/admin/v1/"+s.path, adminToken, s.body, "X-Ringside-Operator", "alice")
				if r.status != 200 || r.header.Get("X-Ringside-Served-By") != "v1" || !strings.Contains(r.raw, s.want) {
					t.Fatalf("%s %s: %d %v %s", s.method, s.path, r.status, r.header, r.raw)
				}
			}
			seen := up.seen()[before:]
			if len(seen) != len(steps) {
				t.Fatalf("%d calls forwarded, want %d", len(seen), len(steps))
			}
			for _, s := range seen {
				if s.header.Get("Authorization") != "" || s.header.Get(admin.HeaderProof) == "" {
					t.Fatalf("forwarded %s %s with headers %v", s.method, s.uri, s.header)
				}
			}
			if len(e.cluster.Purges()) != 0 || len(localKeys.Changes()) != 0 || len(e.control.Calls()) != 0 {
				t.Fatalf("acted here: purges %v, key changes %v", e.cluster.Purges(), localKeys.Changes())
			}
			if d := e.cluster.Drains(); len(d) != 0 {
				t.Fatalf("drained through gossip here: %v", d)
			}
		})
	}
	if p := voter.cluster.Purges(); len(p) != 2 {
		t.Fatalf("the voter purged %v", p)
	}
	if c := voterKeys.Changes(); len(c) != 2 {
		t.Fatalf("the voter changed keys %v", c)
	}
	for _, c := range voter.control.Calls() {
		if c.Cmd.Type != control.CmdSetNodeDrain || c.Cmd.Actor != "alice@self" {
			t.Fatalf("the voter applied %+v", c.Cmd)
		}
	}

	t.Run("own drain stays local", func(t *testing.T) {
		e := newEnv(t, noControl)
		follower(e, "v1")
		e.cluster.SetAdminURL("v1", unreachableURL(t))
		r := e.call(t, "POST", "/admin/v1/nodes/self/drain", adminToken, "")
		if r.status != 200 || r.header.Get("X-Ringside-Served-By") != "" || len(e.cluster.Drains()) != 1 {
			t.Fatalf("%d %v %s", r.status, r.header, r.raw)
		}
	})
	t.Run("no voters: here", func(t *testing.T) {
		keys := admintest.NewMeshKeys(oldGossipKey, "self", "n2")
		e := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Control = nil; d.MeshKeys = keys })
		for _, s := range []struct{ method, path, body string }{
			{"POST", "purge", `{"event":"fight"}`},
			{"POST", "nodes/n2/drain", ""},
			{"POST", "mesh/keys", keyOp(admin.KeyInstall, newKeyB64)},
			{"GET", "mesh/keys", ""},
		} {
			if r := e.call(t, s.method, "/admin/v1/"+s.path, adminToken, s.body); r.status != 200 || r.header.Get("X-Ringside-Served-By") != "" {
				t.Fatalf("%s %s: %d %v %s", s.method, s.path, r.status, r.header, r.raw)
			}
		}
		if len(e.cluster.Purges()) != 1 || len(e.cluster.Drains()) != 1 || len(keys.Changes()) != 1 {
			t.Fatalf("purges %v, drains %v, key changes %v", e.cluster.Purges(), e.cluster.Drains(), keys.Changes())
		}
	})
}

// TestNodesShowIdentity: each member's certificate check and certified
// roles, as the node reports them.
func TestNodesShowIdentity(t *testing.T) {
	cl := admintest.NewCluster(
		admin.Member{ID: "self", Roles: []string{"edge", "control"}, State: "alive", Identity: "verified", CertRoles: []string{"edge", "control"}},
		admin.Member{ID: "n2", Roles: []string{"edge", "shield"}, State: "alive", Identity: "roles not certified: shield", CertRoles: []string{"edge"}},
		admin.Member{ID: "n3", Roles: []string{"edge"}, State: "alive"})
	e := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Cluster = cl })
	var n admin.NodesResponse
	r := e.call(t, "GET", "/admin/v1/nodes", roToken, "")
	r.decode(t, &n)
	if r.status != 200 || len(n.Nodes) != 3 || n.Nodes[0].Identity != "verified" || strings.Join(n.Nodes[0].CertRoles, ",") != "edge,control" ||
		n.Nodes[1].Identity != "roles not certified: shield" || strings.Join(n.Nodes[1].CertRoles, ",") != "edge" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if !strings.Contains(r.raw, `"identity": "verified"`) || !strings.Contains(r.raw, `"cert_roles": [`) {
		t.Fatalf("JSON names: %s", r.raw)
	}
	if strings.Count(r.raw, `"identity"`) != 2 {
		t.Fatalf("an empty identity is shown: %s", r.raw)
	}
}
