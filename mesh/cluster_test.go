package mesh

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// waitTimeout bounds every wait on gossip in these tests; conditions normally
// hold within a few hundred milliseconds with TestConfig timings.
const waitTimeout = 10 * time.Second

// testNode is one Mesh running in this process.
type testNode struct {
	*Mesh
	cancel context.CancelFunc
	done   chan error
}

// startNode runs a mesh with TestConfig timings, edited by mod, and waits
// until it is bound.
func startNode(t *testing.T, id string, mod func(*Config)) *testNode {
	t.Helper()
	cfg := TestConfig()
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg, testMeta(id))
	if err != nil {
		t.Fatalf("New(%s): %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{Mesh: m, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- m.Run(ctx) }()
	t.Cleanup(func() { n.stop(t) })
	select {
	case <-m.Ready():
	case err := <-n.done:
		t.Fatalf("Run(%s) = %v before Ready", id, err)
	case <-time.After(waitTimeout):
		t.Fatalf("%s not ready", id)
	}
	return n
}

func testMeta(id string) Meta {
	return Meta{ID: id, Roles: []string{RoleEdge, RoleShield}, Tier: "regional", Region: "ams",
		HTTPAddr: id + ".test:8080", Load: 0.1}
}

// stop cancels the node and waits for Run to return (once).
func (n *testNode) stop(t *testing.T) {
	t.Helper()
	n.cancel()
	select {
	case err, ok := <-n.done:
		if ok && err != nil {
			t.Errorf("Run(%s) = %v", n.id, err)
		}
		if ok {
			close(n.done)
		}
	case <-time.After(waitTimeout):
		t.Errorf("Run(%s) did not return", n.id)
	}
}

// cluster starts ids[0] alone and the rest with it as their seed, and waits
// until every node lists every other.
func cluster(t *testing.T, mod func(*Config), ids ...string) []*testNode {
	t.Helper()
	nodes := []*testNode{startNode(t, ids[0], mod)}
	for _, id := range ids[1:] {
		nodes = append(nodes, startNode(t, id, func(c *Config) {
			c.Seeds = []string{nodes[0].Addr()}
			if mod != nil {
				mod(c)
			}
		}))
	}
	for _, n := range nodes {
		waitMembers(t, n, ids...)
	}
	return nodes
}

func ids(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// never checks that cond stays false for d, polling.
func never(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("unexpectedly: %s", what)
		}
		<-tick.C
	}
}

func waitMembers(t *testing.T, n *testNode, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	poll.Until(t, fmt.Sprintf("%s to list %v", n.id, want), waitTimeout, func() bool {
		return slices.Equal(ids(n.Members()), want)
	})
}

// waitEvent reads ch until an event of typ for id arrives.
func waitEvent(t *testing.T, ch <-chan Event, typ EventType, id string) Event {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed waiting for %s of %s", typ, id)
			}
			if ev.Type == typ && ev.Member.ID == id {
				return ev
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s of %s", typ, id)
		}
	}
}

// partition cuts links between meshes through their PacketFilter.
type partition struct {
	mu  sync.Mutex
	cut map[string]map[string]bool // node id -> remote gossip addrs it drops
}

func newPartition() *partition { return &partition{cut: map[string]map[string]bool{}} }

func (p *partition) filter(id string) func(string) bool {
	return func(remote string) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return !p.cut[id][remote]
	}
}

// isolate cuts n off from others, both ways.
func (p *partition) isolate(n *testNode, others ...*testNode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range others {
		p.add(n.id, o.Addr())
		p.add(o.id, n.Addr())
	}
}

func (p *partition) add(id, addr string) {
	if p.cut[id] == nil {
		p.cut[id] = map[string]bool{}
	}
	p.cut[id][addr] = true
}

func (p *partition) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.cut)
}
