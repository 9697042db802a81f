package admin_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/admin/admintest"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/poll"
)

// follower makes the API's node a non-voter whose voters are ids.
func follower(e *env, ids ...string) {
	e.control.SetVoter(false)
	e.control.SetLeader("")
	e.cluster.SetVoters(ids...)
}

// countingRand yields 0, 1, 2, ...: generated keys are predictable.
type countingRand struct{ n byte }

func (c *countingRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

// TestForwardRetriesWithTheSameKey: a write without an Idempotency-Key
// that reaches a non-voter is named once, and every forwarded attempt
// (an unreachable voter, one answering 503, one answering) carries that
// name, so none can apply it twice.
func TestForwardRetriesWithTheSameKey(t *testing.T) {
	e := newEnv(t)
	busy := newUpstream(t, status(503))
	leader := newEnv(t, withID("v3"))
	up := newUpstream(t, meshSide(leader.api, "self"))
	follower(e, "v1", "v2", "v3")
	e.cluster.SetAdminURL("v1", unreachableURL(t))
	e.cluster.SetAdminURL("v2", busy.URL)
	e.cluster.SetAdminURL("v3", up.URL)
	body := `{"cidrs":["203.0.113.0/24"]}`
	r := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, body)
	if r.status != 200 || r.header.Get("X-Ringside-Served-By") != "v3" || r.header.Get("ETag") != `"1"` {
		t.Fatalf("%d %v %s", r.status, r.header, r.raw)
	}
	key := r.header.Get("Idempotency-Key")
	b, u := busy.seen(), up.seen()
	if !strings.HasPrefix(key, "auto-") || len(b) != 1 || len(u) != 1 {
		t.Fatalf("key %q, %d and %d forwarded calls", key, len(b), len(u))
	}
	for _, s := range []seen{b[0], u[0]} {
		if s.header.Get("Idempotency-Key") != key || s.header.Get("X-Ringside-Forwarded") != "1" ||
			s.header.Get("Authorization") != "" || !strings.HasPrefix(s.header.Get(admin.HeaderProof), "v1 ") ||
			s.body != body || s.uri != "/admin/v1/regions/apac" {
			t.Fatalf("forwarded %+v; want key %s, a proof and no Authorization", s, key)
		}
	}
	if calls := leader.control.Calls(); len(calls) != 1 || calls[0].Cmd.IdempotencyKey != key {
		t.Fatalf("leader applied %+v", calls)
	}
	if len(e.control.Calls()) != 0 {
		t.Fatal("a non-voter applied a write itself")
	}
}

// TestLostLeadershipRetriesWithTheSameKey: a voter that loses leadership
// while committing forwards the write to the new leader with the key of
// its own attempt; the new leader, whose log has the command, answers its
// first result instead of applying it again.
func TestLostLeadershipRetriesWithTheSameKey(t *testing.T) {
	e := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Rand = &countingRand{} })
	e.control.FailApply(&control.NotLeaderError{LeaderID: "v2", InFlight: true})
	leader := newEnv(t, withID("v2"))
	e.cluster.SetAdminURL("v2", newUpstream(t, meshSide(leader.api, "self")).URL)
	// The command reached the log before the old leader stepped down.
	cmd, _ := control.NewCommand(control.CmdPutRegion, control.Region{Name: "apac",
		CIDRs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	cmd.IdempotencyKey = "auto-000102030405060708090a0b0c0d0e0f" // the first key countingRand makes
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := leader.control.Apply(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	r := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, `{"cidrs":["203.0.113.0/24"]}`)
	var w admin.WriteResponse
	r.decode(t, &w)
	mine, theirs := e.control.Calls(), leader.control.Calls()
	if r.status != 200 || len(mine) != 1 || len(theirs) != 2 || mine[0].Cmd.IdempotencyKey != cmd.IdempotencyKey ||
		theirs[1].Cmd.IdempotencyKey != cmd.IdempotencyKey || r.header.Get("X-Ringside-Served-By") != "v2" {
		t.Fatalf("%d %s; applied here %+v, on the leader %+v", r.status, r.raw, mine, theirs)
	}
	if !w.Duplicate || w.Version != 1 || leader.control.Current().Version != 1 {
		t.Fatalf("applied twice: %s, leader at version %d", r.raw, leader.control.Current().Version)
	}
}

// TestVoterWithoutLeader: a voter that knows no leader (an election, or
// a partitioned old leader that stepped down) waits for one
// (Config.LeaderWait). None comes: it answers a write or a consistent
// read 503 with Retry-After without trying the other voters (each would
// cost a connect timeout when it is cut off), and a write whose commit
// was cut short says its outcome is unknown. One comes during the wait
// (the election ends): the call goes to it.
func TestVoterWithoutLeader(t *testing.T) {
	other := newUpstream(t, status(200))
	e := newEnv(t)
	e.control.SetLeader("")
	e.cluster.SetVoters("v2", "v3")
	e.cluster.SetAdminURL("v2", other.URL)
	e.cluster.SetAdminURL("v3", other.URL)
	for _, tc := range []struct {
		name, method, path, body, detail string
		err                              error
	}{
		{"write", "PUT", "/admin/v1/regions/apac", `{"cidrs":["203.0.113.0/24"]}`, "knows no leader", &control.NotLeaderError{}},
		{"write in flight", "PUT", "/admin/v1/regions/apac", `{"cidrs":["203.0.113.0/24"]}`, "outcome unknown",
			&control.NotLeaderError{InFlight: true}},
		{"consistent read", "GET", "/admin/v1/config?consistent=true", "", "knows no leader", &control.NotLeaderError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.control.FailApply(tc.err)
			e.control.FailRead(tc.err)
			r := e.call(t, tc.method, tc.path, adminToken, tc.body)
			if r.status != 503 || r.header.Get("Retry-After") != "1" || !strings.Contains(string(r.raw), tc.detail) {
				t.Fatalf("%d %v %s; want 503, Retry-After and %q", r.status, r.header, r.raw, tc.detail)
			}
			if n := len(other.seen()); n != 0 {
				t.Fatalf("%d calls forwarded to the other voters", n)
			}
		})
	}
	// An election ends during the wait: the write goes to the new
	// leader, with its Idempotency-Key (an in-flight one is resolved there).
	e.control.FailApply(&control.NotLeaderError{InFlight: true})
	before := len(e.control.Calls())
	elected := make(chan struct{})
	go func() {
		defer close(elected)
		// The write has failed here and waits for a leader.
		poll.Until(t, "the write's attempt", 5*time.Second, func() bool { return len(e.control.Calls()) > before })
		e.control.SetLeader("v2")
	}()
	r := e.call(t, "PUT", "/admin/v1/regions/apac", adminToken, `{"cidrs":["203.0.113.0/24"]}`, "Idempotency-Key", "k-elect")
	<-elected
	seen := other.seen()
	if r.status != 200 || len(seen) != 1 || r.header.Get("X-Ringside-Served-By") != "v2" || seen[0].header.Get("Idempotency-Key") != "k-elect" {
		t.Fatalf("%d %v %s, %d forwarded", r.status, r.header, r.raw, len(seen))
	}
}

// TestForwardUsesAdminURL: forwarded calls go to the target's admin API,
// not to its public HTTP listener (which refuses /admin/ when
// admin.listen is set).
func TestForwardUsesAdminURL(t *testing.T) {
	public := newUpstream(t, status(404))
	adminSide := newUpstream(t, nil)
	cl := admintest.NewCluster(admin.Member{ID: "self", State: "alive"},
		admin.Member{ID: "v1", Roles: []string{"control"}, HTTP: public.Listener.Addr().String(), State: "alive"})
	e := newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.Cluster = cl })
	e.cluster = cl
	follower(e, "v1")
	e.cluster.SetAdminURL("v1", adminSide.URL)
	if r := e.call(t, "GET", "/admin/v1/config/history", adminToken, ""); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if len(public.seen()) != 0 || len(adminSide.seen()) != 1 {
		t.Fatalf("public listener got %d calls, admin listener %d", len(public.seen()), len(adminSide.seen()))
	}
}

func TestHopLimit(t *testing.T) {
	up := newUpstream(t, nil)
	e := newEnv(t)
	follower(e, "v1")
	e.cluster.SetAdminURL("v1", up.URL)
	r := e.call(t, "PUT", "/admin/v1/regions/x", adminToken, `{"cidrs":["10.0.0.0/8"]}`, "X-Ringside-Forwarded", "2")
	if r.status != 503 || r.header.Get("Retry-After") != "1" || !strings.Contains(r.raw, "2 forwards") || len(up.seen()) != 0 {
		t.Fatalf("third hop: %d %s, %d forwarded", r.status, r.raw, len(up.seen()))
	}
	r = e.call(t, "PUT", "/admin/v1/regions/x", adminToken, `{"cidrs":["10.0.0.0/8"]}`, "X-Ringside-Forwarded", "1")
	if s := up.seen(); r.status != 200 || len(s) != 1 || s[0].header.Get("X-Ringside-Forwarded") != "2" {
		t.Fatalf("second hop: %d %s", r.status, r.raw)
	}
}

// TestNoVoterAnswers: 503 with Retry-After once every voter failed; a
// definite answer (422) is relayed without trying the next voter.
func TestNoVoterAnswers(t *testing.T) {
	e := newEnv(t)
	follower(e, "v1", "v2", "v3")
	e.cluster.SetAdminURL("v1", unreachableURL(t))
	e.cluster.SetAdminURL("v2", newUpstream(t, status(503)).URL)
	r := e.call(t, "PUT", "/admin/v1/regions/x", adminToken, `{"cidrs":["10.0.0.0/8"]}`)
	if r.status != 503 || r.header.Get("Retry-After") != "1" ||
		!strings.Contains(r.raw, "v1: ") || !strings.Contains(r.raw, "v2: 503") || !strings.Contains(r.raw, "v3: admin address unknown") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	refusing, next := newUpstream(t, status(422)), newUpstream(t, nil)
	e.cluster.SetVoters("v4", "v5")
	e.cluster.SetAdminURL("v4", refusing.URL)
	e.cluster.SetAdminURL("v5", next.URL)
	r = e.call(t, "PUT", "/admin/v1/regions/x", adminToken, `{"cidrs":["10.0.0.0/8"]}`)
	if r.status != 422 || r.header.Get("X-Ringside-Served-By") != "v4" || len(next.seen()) != 0 {
		t.Fatalf("%d %s, next voter called %d times", r.status, r.raw, len(next.seen()))
	}
	follower(e)
	if r := e.call(t, "GET", "/admin/v1/config/history", adminToken, ""); r.status != 503 || !strings.Contains(r.raw, "no control node") {
		t.Fatalf("no voters: %d %s", r.status, r.raw)
	}
}

// TestForwardTimeout: a voter that does not answer within ForwardTimeout
// is given up for the next.
func TestForwardTimeout(t *testing.T) {
	hang := make(chan struct{})
	stuck := newUpstream(t, handlerFunc(func() { <-hang }))
	t.Cleanup(func() { close(hang) }) // before the server's Close, which waits for the handler
	e := newEnv(t, func(c *admin.Config, _ *admin.Deps) { c.ForwardTimeout = 50 * time.Millisecond })
	follower(e, "v1", "v2")
	e.cluster.SetAdminURL("v1", stuck.URL)
	e.cluster.SetAdminURL("v2", newUpstream(t, nil).URL)
	if r := e.call(t, "PUT", "/admin/v1/regions/x", adminToken, `{"cidrs":["10.0.0.0/8"]}`); r.status != 200 ||
		r.header.Get("X-Ringside-Served-By") != "v2" {
		t.Fatalf("%d %v %s", r.status, r.header, r.raw)
	}
}

func TestConsistentReads(t *testing.T) {
	t.Run("leader reads through the log", func(t *testing.T) {
		e := newEnv(t)
		seed(t, e)
		for _, p := range []string{"config", "config/history", "events", "events/fight", "regions", "cdns"} {
			if r := e.call(t, "GET", "/admin/v1/"+p+"?consistent=true", roToken, ""); r.status != 200 {
				t.Fatalf("%s: %d %s", p, r.status, r.raw)
			}
		}
		if n := e.control.ConsistentReads(); n != 6 {
			t.Fatalf("%d consistent reads, want 6", n)
		}
		e.call(t, "GET", "/admin/v1/events?consistent=false", roToken, "")
		e.call(t, "GET", "/admin/v1/events", roToken, "")
		if n := e.control.ConsistentReads(); n != 6 {
			t.Fatalf("local reads went through the log: %d", n)
		}
	})
	t.Run("voter forwards to the leader", func(t *testing.T) {
		leader := newEnv(t, withID("lead"))
		seed(t, leader)
		up := newUpstream(t, meshSide(leader.api, "self"))
		e := newEnv(t)
		e.control.SetLeader("")
		e.control.FailRead(&control.NotLeaderError{LeaderID: "lead"})
		e.cluster.SetAdminURL("lead", up.URL)
		var l admin.EventsResponse
		r := e.call(t, "GET", "/admin/v1/events?consistent=true", roToken, "")
		r.decode(t, &l)
		if r.status != 200 || l.Version != 5 || r.header.Get("ETag") != `"5"` || r.header.Get("X-Ringside-Served-By") != "lead" ||
			up.seen()[0].uri != "/admin/v1/events?consistent=true" || leader.control.ConsistentReads() != 1 {
			t.Fatalf("%d %v %s", r.status, r.header, r.raw)
		}
	})
	t.Run("follower forwards to a voter", func(t *testing.T) {
		up := newUpstream(t, nil)
		e := newEnv(t)
		follower(e, "v1")
		e.cluster.SetAdminURL("v1", up.URL)
		if r := e.call(t, "GET", "/admin/v1/config?consistent=true", roToken, ""); r.status != 200 ||
			up.seen()[0].uri != "/admin/v1/config?consistent=true" || e.control.ConsistentReads() != 0 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if r := e.call(t, "GET", "/admin/v1/config", roToken, ""); r.status != 200 || len(up.seen()) != 1 {
			t.Fatalf("a local read was forwarded: %d %s", r.status, r.raw)
		}
	})
	t.Run("bad value", func(t *testing.T) {
		if r := newEnv(t).call(t, "GET", "/admin/v1/events?consistent=maybe", roToken, ""); r.status != 400 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("no leader", func(t *testing.T) {
		e := newEnv(t)
		e.control.SetLeader("")
		e.control.FailRead(&control.NotLeaderError{})
		if r := e.call(t, "GET", "/admin/v1/events?consistent=true", roToken, ""); r.status != 503 || r.header.Get("Retry-After") != "1" {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		e.control.FailRead(context.DeadlineExceeded)
		if r := e.call(t, "GET", "/admin/v1/events?consistent=true", roToken, ""); r.status != 503 || r.header.Get("Retry-After") != "1" {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}
