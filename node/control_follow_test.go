package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/route"
)

// fakeVoter answers config polls: a document at version, the leader it
// names; down: connection refused (closed server).
type fakeVoter struct {
	srv    *httptest.Server
	polls  atomic.Int32
	leader string
}

func newFakeVoter(t *testing.T, leader string, version uint64) *fakeVoter {
	v := &fakeVoter{leader: leader}
	doc, _ := control.EncodeDocument(&control.Document{Version: version, Events: map[string]control.Event{}})
	v.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.polls.Add(1)
		w.Header().Set(hdrLeader, v.leader)
		w.Write(doc)
	}))
	t.Cleanup(v.srv.Close)
	return v
}

// TestFollowTheLeader: an edge polls the leader once a voter named it, and
// moves to another voter at once when the one it polls fails (today's main
// picked a random voter per poll and backed off after failures).
func TestFollowTheLeader(t *testing.T) {
	voters := map[string]*fakeVoter{}
	var members []mesh.Member
	for _, id := range []string{"v1", "v2", "v3"} {
		voters[id] = newFakeVoter(t, "v2", 7)
		members = append(members, mesh.Member{Meta: mesh.Meta{ID: id, Roles: []string{mesh.RoleControl},
			MeshAddr: strings.TrimPrefix(voters[id].srv.URL, "https://")}, State: mesh.StateAlive})
	}
	members = append(members, mesh.Member{Meta: mesh.Meta{ID: "edge", Roles: []string{mesh.RoleEdge}}})
	n := &running{cfg: Config{Node: NodeSection{ID: "edge"}}}
	n.tbl.Store(route.NewTable("edge", "", members))
	f := &follow{n: n, client: voters["v1"].srv.Client()} // trusts every httptest server's certificate
	ctx := context.Background()

	if doc, err := f.fetch(ctx, 0); err != nil || doc.Version != 7 {
		t.Fatalf("first poll: %v %v", doc, err)
	}
	for range 5 {
		f.fetch(ctx, 0)
	}
	if got := voters["v2"].polls.Load(); got < 5 {
		t.Fatalf("the leader v2 got %d of 6 polls; a follower follows the named leader", got)
	}

	voters["v2"].srv.Close() // the leader dies; the others name no leader yet
	for _, id := range []string{"v1", "v3"} {
		voters[id].leader = ""
	}
	before := voters["v1"].polls.Load() + voters["v3"].polls.Load()
	if _, err := f.fetch(ctx, 0); err == nil {
		t.Fatal("a poll of the dead leader succeeded")
	}
	if doc, err := f.fetch(ctx, 0); err != nil || doc.Version != 7 {
		t.Fatalf("the poll right after the failure: %v; want another voter at once", err)
	}
	if after := voters["v1"].polls.Load() + voters["v3"].polls.Load(); after != before+1 {
		t.Fatalf("surviving voters polled %d times after the failure, want 1", after-before)
	}
}
