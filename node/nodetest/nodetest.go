package nodetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/node"

	"github.com/ringside-live/ringside/pkg/poll"
)

// Tokens and the gossip key every cluster uses.
const (
	AdminToken    = "nodetest-admin-token"
	ReadOnlyToken = "nodetest-read-only-token"
	// GossipKey is mesh.secret_key (base64 of 32 bytes): gossip is always
	// encrypted.
	GossipKey = "bm9kZXRlc3QtZ29zc2lwLWtleS1vZi0zMi1ieXRlcyE="
)

// FreeAddr returns a loopback TCP address with a port free right now, for
// other processes that must be told their address before they start (the
// nginx CDNs, a `ringside node` config file). In-process servers get a
// listener handed over instead.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Options shape a cluster.
type Options struct {
	N      int
	Events []node.EventConfig
	// Configure, if set, adjusts node i's configuration.
	Configure func(i int, c *node.Config)
	// Observe, if set, sees every /live response of node i.
	Observe func(i int, a node.Access)
	// Voters gives the first Voters nodes the control role: a Raft group
	// bootstrapped among them. With Voters > 0 every node has a data
	// directory (Raft state, or the followed configuration).
	Voters int
}

// Cluster is a running set of nodes.
type Cluster struct {
	t       testing.TB
	Nodes   []*node.Node
	cfgs    []node.Config
	observe func(int, node.Access)

	mu      sync.Mutex
	stop    []context.CancelFunc
	done    []chan error
	dead    []bool
	blocked []map[string]bool // per node: gossip addresses it must not hear
	raftLn  []net.Listener    // voters' Raft sockets until their first start
	ca      *identity.CA      // the cluster CA every node's certificate comes from
	pki     string            // where the CA and the node certificates are written
}

// Start runs opts.N nodes; node 0 is the seed of the others. It returns
// once every node sees all N members. Nodes stop when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, observe: opts.Observe}
	seed := ""
	var peers []node.PeerConfig
	for i := range opts.Voters {
		// The voters' Raft sockets are bound here and handed over, so every
		// voter knows the others' addresses before any of them starts.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.raftLn = append(c.raftLn, ln)
		peers = append(peers, node.PeerConfig{ID: fmt.Sprintf("n%d", i), Addr: ln.Addr().String()})
	}
	for i := range opts.N {
		cfg := node.DefaultConfig()
		cfg.Node.ID = fmt.Sprintf("n%d", i)
		cfg.Node.Roles = []string{node.RoleEdge, node.RoleShield}
		cfg.HTTP.Listen = "127.0.0.1:0"
		cfg.Ingest.ListedGrace = node.Duration(3 * time.Second)
		cfg.Mesh.Bind, cfg.Mesh.Listen, cfg.Mesh.Profile = "127.0.0.1:0", "127.0.0.1:0", "test"
		cfg.Mesh.SecretKey = GossipKey
		cfg.Mesh.PeerTimeout = node.Duration(time.Second)
		if seed != "" {
			cfg.Mesh.Seeds = []string{seed}
		}
		cfg.Admin.Token, cfg.Admin.ReadOnlyToken = AdminToken, ReadOnlyToken
		cfg.Events = opts.Events
		if opts.Voters > 0 {
			cfg.Control.DataDir, cfg.Control.Profile = t.TempDir(), "test"
			if i < opts.Voters {
				cfg.Node.Roles = append(cfg.Node.Roles, node.RoleControl)
				cfg.Control.RaftBind, cfg.Control.Bootstrap = peers[i].Addr, peers
				if i < opts.Voters-1 {
					// Nodes start one by one: the first voters cannot
					// reach quorum (and seed) until the last one runs.
					cfg.Control.ReadyTimeout = node.Duration(100 * time.Millisecond)
				}
			}
		}
		if opts.Configure != nil {
			opts.Configure(i, &cfg)
		}
		if cfg.Identity == (node.IdentitySection{}) {
			cfg.Identity = c.issue(cfg.Node.ID, cfg.Node.Roles)
		}
		n := c.start(i, cfg)
		if i == 0 {
			seed = n.GossipAddr()
		}
	}
	t.Cleanup(c.stopAll)
	c.WaitFor("all members joined", 20*time.Second, func() bool {
		for _, n := range c.Live() {
			if len(n.Members()) != opts.N {
				return false
			}
		}
		return true
	})
	return c
}

func (c *Cluster) start(i int, cfg node.Config) *node.Node {
	c.t.Helper()
	observe := c.observe
	c.mu.Lock()
	if i == len(c.blocked) {
		c.blocked = append(c.blocked, map[string]bool{})
	}
	c.mu.Unlock()
	open := func(addr string) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.blocked[i][addr]
	}
	deps := node.Deps{GossipFilter: open, PeerFilter: open}
	if observe != nil {
		deps.Observe = func(a node.Access) { observe(i, a) }
	}
	if i < len(c.raftLn) && c.raftLn[i] != nil {
		deps.RaftListener, c.raftLn[i] = c.raftLn[i], nil // a restart binds control.raft_bind again
	}
	n, err := node.New(cfg, deps)
	if err != nil {
		c.t.Fatalf("nodetest: node %d: %v", i, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-done:
		cancel()
		c.t.Fatalf("nodetest: node %d did not start: %v", i, err)
	}
	c.mu.Lock()
	if i == len(c.Nodes) {
		c.Nodes, c.cfgs = append(c.Nodes, n), append(c.cfgs, cfg)
		c.stop, c.done, c.dead = append(c.stop, cancel), append(c.done, done), append(c.dead, false)
	} else {
		c.Nodes[i], c.stop[i], c.done[i], c.dead[i] = n, cancel, done, false
	}
	c.mu.Unlock()
	return n
}

// issue gives node id a certificate from the cluster's CA with roles, as
// `ringside ca issue` does, and returns its identity section.
func (c *Cluster) issue(id string, roles []string) node.IdentitySection { return c.Issue(id, roles...) }

// Issue writes a certificate of the cluster CA for id with roles (and
// the CA, the first time) and returns the identity section naming them:
// for nodes a test runs beside the cluster.
func (c *Cluster) Issue(id string, roles ...string) node.IdentitySection {
	c.t.Helper()
	if c.ca == nil {
		ca, err := identity.NewCA(0)
		if err != nil {
			c.t.Fatal(err)
		}
		c.ca, c.pki = ca, c.t.TempDir()
		if _, _, err := ca.WriteFiles(c.pki, false); err != nil {
			c.t.Fatal(err)
		}
	}
	nc, err := c.ca.Issue(id, roles, 0, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	cert, key, err := nc.WriteFiles(c.pki)
	if err != nil {
		c.t.Fatal(err)
	}
	return node.IdentitySection{Cert: cert, Key: key, CA: filepath.Join(c.pki, identity.CACertFile)}
}

// CA is the cluster CA the nodes' certificates come from (nil before the
// first node started).
func (c *Cluster) CA() *identity.CA { return c.ca }

// URL is node i's HTTP base URL.
func (c *Cluster) URL(i int) string { return "http://" + c.Nodes[i].HTTPAddr() }

// Live returns the nodes not killed or stopped.
func (c *Cluster) Live() []*node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node.Node
	for i, n := range c.Nodes {
		if !c.dead[i] {
			out = append(out, n)
		}
	}
	return out
}

// Kill crashes node i: no leave message, open connections cut.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	c.dead[i] = true
	c.mu.Unlock()
	c.Nodes[i].Kill()
	<-c.done[i]
}

// Stop shuts node i down gracefully (it leaves the mesh).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	c.dead[i] = true
	c.mu.Unlock()
	c.stop[i]()
	if err := <-c.done[i]; err != nil {
		c.t.Errorf("nodetest: node %d: %v", i, err)
	}
}

// Run runs one node from cfg until the test ends, and returns it ready.
func Run(t testing.TB, cfg node.Config, deps node.Deps) *node.Node {
	t.Helper()
	n, err := node.New(cfg, deps)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("nodetest: node %s: %v", cfg.Node.ID, err)
		}
	})
	select {
	case <-n.Ready():
	case err := <-done:
		t.Fatalf("nodetest: node %s did not start: %v", cfg.Node.ID, err)
	}
	return n
}

// Restart starts node i again (after Kill or Stop) with its configuration
// and data directory, joining through the first live node.
func (c *Cluster) Restart(i int) *node.Node {
	c.t.Helper()
	cfg := c.cfgs[i]
	cfg.Mesh.Seeds = nil
	for _, n := range c.Live() {
		if n != c.Nodes[i] {
			cfg.Mesh.Seeds = []string{n.GossipAddr()}
			break
		}
	}
	return c.start(i, cfg)
}

// Partition cuts gossip and node-to-node HTTP (peer fetches, fills, the
// control plane's calls; not Raft between voters) between every pair of
// nodes in different groups.
func (c *Cluster) Partition(groups ...[]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	group := map[int]int{}
	for g, members := range groups {
		for _, i := range members {
			group[i] = g
		}
	}
	for i := range c.Nodes {
		for j, n := range c.Nodes {
			if group[i] != group[j] {
				c.blocked[i][n.GossipAddr()] = true
				if a := n.MeshAddr(); a != "" {
					c.blocked[i][a] = true
				}
			}
		}
	}
}

// Heal removes every partition.
func (c *Cluster) Heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.blocked {
		c.blocked[i] = map[string]bool{}
	}
}

// WaitFor polls cond until it holds or limit passes (then the test fails).
func (c *Cluster) WaitFor(what string, limit time.Duration, cond func() bool) {
	c.t.Helper()
	poll.Until(c.t, what, limit, cond)
}

func (c *Cluster) stopAll() {
	for i := range c.Nodes {
		c.mu.Lock()
		dead := c.dead[i]
		c.dead[i] = true
		c.mu.Unlock()
		if !dead {
			c.stop[i]()
			<-c.done[i]
		}
	}
}

// WaitControl waits until node i's admin API can write: a consistent read
// of the configuration succeeds there (a leader is elected and reachable).
func (c *Cluster) WaitControl(i int) {
	c.t.Helper()
	c.WaitFor("a control leader answers through node "+c.Nodes[i].ID(), 20*time.Second, func() bool {
		req, _ := http.NewRequest(http.MethodGet, c.URL(i)+"/admin/v1/config?consistent=true", nil)
		req.Header.Set("Authorization", "Bearer "+AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
