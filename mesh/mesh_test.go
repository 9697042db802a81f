package mesh

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

func seed(n *testNode) func(*Config) {
	return func(c *Config) { c.Seeds = []string{n.Addr()} }
}

func TestJoinSeesMembersAndMeta(t *testing.T) {
	a := startNode(t, "node-a", nil)
	select {
	case <-a.Joined():
	default:
		t.Fatal("a node without seeds must count as joined")
	}
	changed := a.Changed()
	events, cancel := a.Subscribe(16)
	defer cancel()
	b := startNode(t, "node-b", seed(a))
	c := startNode(t, "node-c", seed(a))
	for _, n := range []*testNode{a, b, c} {
		waitMembers(t, n, "node-a", "node-b", "node-c")
		for _, m := range n.Members() {
			want := testMeta(m.ID)
			if !m.Meta.equal(want) || m.State != StateAlive || m.GossipAddr == "" || m.Since.IsZero() {
				t.Errorf("%s sees %+v, want meta %+v, alive", n.id, m, want)
			}
		}
		select {
		case <-n.Joined():
		default:
			t.Errorf("%s lists all members but Joined is open", n.id)
		}
	}
	if ev := waitEvent(t, events, EventJoin, "node-b"); ev.Member.GossipAddr != b.Addr() {
		t.Errorf("join event addr %q, want %q", ev.Member.GossipAddr, b.Addr())
	}
	waitEvent(t, events, EventJoin, "node-c")
	select {
	case <-changed:
	default:
		t.Error("Changed did not fire on joins")
	}
	if self := b.Self(); self.GossipAddr != b.Addr() || !self.Meta.equal(testMeta("node-b")) {
		t.Errorf("Self = %+v", self)
	}
}

func TestUpdateMetaPropagates(t *testing.T) {
	nodes := cluster(t, nil, "node-a", "node-b", "node-c")
	a, b := nodes[0], nodes[1]
	events, cancel := b.Subscribe(16)
	defer cancel()
	selfEvents, cancelSelf := a.Subscribe(16)
	defer cancelSelf()
	changed := b.Changed()

	ctx, done := context.WithTimeout(context.Background(), waitTimeout)
	defer done()
	err := a.UpdateMeta(ctx, func(m *Meta) {
		m.Drain, m.Load = true, 0.75
		m.Events = append(m.Events, "final-2026")
	})
	if err != nil {
		t.Fatalf("UpdateMeta: %v", err)
	}
	ev := waitEvent(t, events, EventUpdate, "node-a")
	if !ev.Member.Drain || ev.Member.Load != 0.75 || len(ev.Member.Events) != 1 {
		t.Fatalf("update event meta = %+v", ev.Member.Meta)
	}
	select {
	case <-changed: // flush closes Changed before it delivers events
	default:
		t.Error("Changed did not fire on an update")
	}
	waitEvent(t, selfEvents, EventUpdate, "node-a")
	for _, n := range nodes {
		poll.Until(t, n.id+" to see node-a draining", waitTimeout, func() bool {
			for _, m := range n.Members() {
				if m.ID == "node-a" {
					return m.Drain && m.Load == 0.75
				}
			}
			return false
		})
	}
	if s := a.Self(); !s.Drain {
		t.Fatalf("Self not updated: %+v", s)
	}
}

func TestUpdateMetaRejects(t *testing.T) {
	m, err := New(TestConfig(), testMeta("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.UpdateMeta(ctx, func(m *Meta) { m.ID = "other" }); err == nil || !strings.HasPrefix(err.Error(), "mesh: ") {
		t.Errorf("changing ID: err = %v", err)
	}
	if err := m.UpdateMeta(ctx, func(m *Meta) { m.Region = strings.Repeat("x", MetaMaxSize) }); err == nil {
		t.Error("oversized meta accepted")
	}
	if m.Self().Region != "ams" {
		t.Errorf("rejected update changed Self: %+v", m.Self())
	}
	// Before Run, an update is what Run will advertise.
	if err := m.UpdateMeta(ctx, func(m *Meta) { m.Drain = true }); err != nil {
		t.Fatal(err)
	}
	if ms := m.Members(); len(ms) != 1 || !ms[0].Drain || !m.Self().Drain {
		t.Errorf("Members before Run = %+v", ms)
	}
}

func TestNewRejects(t *testing.T) {
	bad := TestConfig()
	bad.SuspicionMult = 0
	if _, err := New(bad, testMeta("node-a")); err == nil {
		t.Error("invalid config accepted")
	}
	if _, err := New(TestConfig(), Meta{}); err == nil {
		t.Error("empty ID accepted")
	}
	big := testMeta("node-a")
	big.Events = []string{strings.Repeat("e", MetaMaxSize)}
	if _, err := New(TestConfig(), big); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("oversized meta: err = %v", err)
	}
}

func TestKillIsFailure(t *testing.T) {
	nodes := cluster(t, nil, "node-a", "node-b", "node-c")
	events, cancel := nodes[0].Subscribe(16)
	defer cancel()
	nodes[2].Kill()
	ev := waitEvent(t, events, EventFail, "node-c")
	if ev.Member.State != StateDead || !ev.Member.Meta.equal(testMeta("node-c")) {
		t.Errorf("fail event = %+v", ev.Member)
	}
	waitMembers(t, nodes[0], "node-a", "node-b")
	waitMembers(t, nodes[1], "node-a", "node-b")
}

func TestGracefulLeave(t *testing.T) {
	nodes := cluster(t, nil, "node-a", "node-b", "node-c")
	events, cancel := nodes[0].Subscribe(16)
	defer cancel()
	leaver, own := nodes[2], nodes[2].Mesh
	ownEvents, cancelOwn := own.Subscribe(16)
	defer cancelOwn()
	leaver.stop(t)
	ev := waitEvent(t, events, EventLeave, "node-c")
	if ev.Member.State != StateLeft {
		t.Errorf("leave event state = %v", ev.Member.State)
	}
	waitEvent(t, ownEvents, EventLeave, "node-c")
	waitMembers(t, nodes[0], "node-a", "node-b")
	waitMembers(t, nodes[1], "node-a", "node-b")
}

func TestSecretKey(t *testing.T) {
	key := []byte("0123456789abcdef")
	withKey := func(k []byte) func(*Config) { return func(c *Config) { c.SecretKey = k } }
	nodes := cluster(t, withKey(key), "node-a", "node-b")
	a := nodes[0]

	wrong := startNode(t, "node-x", func(c *Config) {
		c.SecretKey = []byte("fedcba9876543210")
		c.Seeds = []string{a.Addr()}
	})
	never(t, time.Second, "a node with the wrong key joined", func() bool {
		select {
		case <-wrong.Joined():
			return true
		default:
		}
		return len(a.Members()) != 2 || len(nodes[1].Members()) != 2 || len(wrong.Members()) != 1
	})

	right := startNode(t, "node-y", func(c *Config) {
		c.SecretKey = key
		c.Seeds = []string{a.Addr()}
	})
	for _, n := range []*testNode{a, nodes[1], right} {
		waitMembers(t, n, "node-a", "node-b", "node-y")
	}
}

func TestPartitionAndRejoin(t *testing.T) {
	p := newPartition()
	a := startNode(t, "node-a", func(c *Config) { c.PacketFilter = p.filter("node-a") })
	b := startNode(t, "node-b", func(c *Config) { c.PacketFilter = p.filter("node-b"); c.Seeds = []string{a.Addr()} })
	c := startNode(t, "node-c", func(c *Config) { c.PacketFilter = p.filter("node-c"); c.Seeds = []string{a.Addr()} })
	for _, n := range []*testNode{a, b, c} {
		waitMembers(t, n, "node-a", "node-b", "node-c")
	}
	events, cancel := a.Subscribe(16)
	defer cancel()

	p.isolate(c, a, b)
	ev := waitEvent(t, events, EventFail, "node-c")
	if ev.Member.State != StateDead {
		t.Errorf("fail event state = %v", ev.Member.State)
	}
	waitMembers(t, a, "node-a", "node-b")
	waitMembers(t, b, "node-a", "node-b")
	waitMembers(t, c, "node-c")

	ctx, done := context.WithTimeout(context.Background(), waitTimeout)
	defer done()
	if err := c.Join(ctx, []string{a.Addr()}); err == nil {
		t.Fatal("Join through the partition succeeded")
	}
	p.heal()
	if err := c.Join(ctx, []string{a.Addr()}); err != nil {
		t.Fatalf("Join after heal: %v", err)
	}
	waitEvent(t, events, EventJoin, "node-c")
	for _, n := range []*testNode{a, b, c} {
		waitMembers(t, n, "node-a", "node-b", "node-c")
	}
}

func TestRunErrors(t *testing.T) {
	a := startNode(t, "node-a", nil)
	taken := TestConfig()
	taken.BindAddr = a.Addr()
	m, err := New(taken, testMeta("node-b"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := m.Run(ctx); err == nil || !strings.HasPrefix(err.Error(), "mesh: bind") {
		t.Fatalf("Run on a taken port = %v", err)
	}
	if err := a.Run(ctx); err == nil {
		t.Fatal("second Run accepted")
	}
	if err := m.Join(ctx, nil); err == nil {
		t.Fatal("Join without seeds accepted")
	}
}

func TestKillBeforeRun(t *testing.T) {
	m, err := New(TestConfig(), testMeta("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	m.Kill() // must not block
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("Run after Kill = %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run after Kill waited for ctx")
	}
}

func TestSubscriberDropsOldest(t *testing.T) {
	m, err := New(TestConfig(), testMeta("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := m.Subscribe(2)
	for i, id := range []string{"x1", "x2", "x3"} {
		m.dispatch([]Event{raw(EventJoin, id, i)})
	}
	for _, want := range []string{"x2", "x3"} {
		if ev := <-ch; ev.Member.ID != want {
			t.Fatalf("got %s, want %s", ev.Member.ID, want)
		}
	}
	cancel()
	cancel() // idempotent
	if _, ok := <-ch; ok {
		t.Fatal("channel open after cancel")
	}
	m.dispatch([]Event{raw(EventJoin, "x4", 4)}) // no send on a closed channel
}
