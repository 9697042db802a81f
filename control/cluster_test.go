package control

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

var raftLog = flag.Bool("raftlog", false, "write the stores' and Raft's log to stderr")

// testCluster runs N stores in this process on 127.0.0.1 with the test
// profile. Node 0 bootstraps alone; the others join through AddVoter, the
// way a real cluster grows.
type testCluster struct {
	t     testing.TB
	mu    sync.Mutex // guards the nodes' store and cancel against live()
	nodes []*testNode
}

type testNode struct {
	cfg    Config // RaftAddr pinned to the bound address after the first start
	store  *Store
	cancel context.CancelFunc
	done   chan error
	net    netGate  // Isolate, Rejoin; kept across restarts
	disk   diskGate // StallDisk, ResumeDisk
}

func testConfig(t testing.TB, id string) Config {
	cfg := DefaultConfig()
	cfg.NodeID = id
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), id)
	cfg.Profile = ProfileTest
	cfg.Logger = slog.New(slog.DiscardHandler)
	if *raftLog {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", id)
	}
	return cfg
}

// newCluster starts n voters; tweak adjusts each config before the first
// start.
func newCluster(t testing.TB, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	for i := range n {
		cfg := testConfig(t, fmt.Sprintf("n%d", i))
		if i == 0 {
			cfg.Bootstrap = []Peer{{ID: cfg.NodeID}}
		}
		if tweak != nil {
			tweak(&cfg)
		}
		c.nodes = append(c.nodes, &testNode{cfg: cfg})
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.Kill(i)
		}
	})
	leader := c.Leader()
	ctx := testCtx(t, 10*time.Second)
	for i := 1; i < n; i++ {
		if err := leader.AddVoter(ctx, c.nodes[i].cfg.NodeID, c.nodes[i].store.Addr()); err != nil {
			t.Fatalf("add voter n%d: %v", i, err)
		}
	}
	poll.Until(t, "every node to know the leader", 10*time.Second, func() bool {
		id, _ := leader.Leader()
		for _, nd := range c.nodes {
			if l, _ := nd.store.Leader(); l != id {
				return false
			}
		}
		return true
	})
	return c
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	s, err := New(nd.cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	s.wrapStream, s.wrapLogs = nd.net.wrap, nd.disk.wrap
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c.mu.Lock()
	nd.store, nd.cancel, nd.done = s, cancel, done
	c.mu.Unlock()
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		c.t.Fatalf("n%d: Run: %v", i, err)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("n%d: not ready", i)
	}
	nd.cfg.RaftAddr = s.Addr() // a restart binds the same address
	nd.cfg.Listener = nil      // closed by the store
}

// Kill stops node i at once: Raft shuts down without a goodbye, so to the
// others it is a crash. Its DataDir stays.
func (c *testCluster) Kill(i int) {
	c.mu.Lock()
	nd := c.nodes[i]
	cancel, done := nd.cancel, nd.done
	nd.cancel = nil
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	if err := <-done; err != nil {
		c.t.Errorf("n%d: Run: %v", i, err)
	}
}

// Isolate cuts node i off the network, both ways, until Rejoin.
func (c *testCluster) Isolate(i int) { c.nodes[i].net.set(true) }

// Rejoin ends Isolate.
func (c *testCluster) Rejoin(i int) { c.nodes[i].net.set(false) }

// StallDisk makes node i's Raft log writes block until ResumeDisk; the
// channel is closed once one blocks. A leader stalled this way is paused:
// its main loop stops while it still believes it leads.
func (c *testCluster) StallDisk(i int) <-chan struct{} {
	c.t.Cleanup(func() { c.ResumeDisk(i) }) // before the cluster stops: Raft cannot shut down mid-write
	return c.nodes[i].disk.stall()
}

// ResumeDisk ends StallDisk.
func (c *testCluster) ResumeDisk(i int) { c.nodes[i].disk.resume() }

// Restart starts node i again on its DataDir and address.
func (c *testCluster) Restart(i int) *Store {
	c.t.Helper()
	c.start(i)
	return c.nodes[i].store
}

func (c *testCluster) Store(i int) *Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].store
}

func (c *testCluster) live() []*Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Store
	for _, nd := range c.nodes {
		if nd.cancel != nil {
			out = append(out, nd.store)
		}
	}
	return out
}

// Leader waits until exactly one live node leads and every live node agrees.
func (c *testCluster) Leader() *Store {
	c.t.Helper()
	var leader *Store
	poll.Until(c.t, "a leader", 10*time.Second, func() bool {
		leader = nil
		for _, s := range c.live() {
			if s.IsLeader() {
				if leader != nil {
					return false
				}
				leader = s
			}
		}
		return leader != nil
	})
	return leader
}

// LeaderIndex is Leader as an index.
func (c *testCluster) LeaderIndex() int {
	l := c.Leader()
	for i := range c.nodes {
		if c.Store(i) == l {
			return i
		}
	}
	panic("leader not in cluster")
}

// WaitConverged waits until every live node has applied version v.
func (c *testCluster) WaitConverged(v uint64) {
	c.t.Helper()
	ctx := testCtx(c.t, 10*time.Second)
	for _, s := range c.live() {
		if _, err := s.WaitVersion(ctx, v-1); err != nil {
			c.t.Fatalf("%s stuck at version %d, want %d: %v", s.cfg.NodeID, s.Current().Version, v, err)
		}
	}
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
