package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ringside-live/ringside/mesh"
)

// Deps are the collaborators of a Node.
type Deps struct {
	Logger *slog.Logger
	// GossipFilter, for tests, drops gossip to and from addresses for which
	// it returns false (simulated partitions).
	GossipFilter func(remoteAddr string) bool
	// PeerFilter, for tests, cuts node-to-node HTTP (peer fetches, fills,
	// the control plane's calls) to mesh addresses for which it returns
	// false: dials fail and open connections break at their next read or
	// write (simulated partitions, with GossipFilter).
	PeerFilter func(meshAddr string) bool
	// Observe, if set, is called after every /live response; it is how an
	// access log or a test sees each request. It must not block.
	Observe func(Access)
	// RaftListener, if set, is the control voter's Raft socket, already
	// bound (control.raft_bind is then not bound); the node closes it.
	RaftListener net.Listener
}

// Access describes one answered /live request.
type Access struct {
	Path    string
	Query   string // the raw query string, "" for none
	Status  int
	XCache  string
	Hops    string // the incoming hop header: which nodes it came through
	Elapsed time.Duration
}

// Node is one Ringside node: its configuration until Run, then the
// running value Run builds (listeners, roles, the hot path).
type Node struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	ready chan struct{}
	rt    atomic.Pointer[running] // set before ready closes
}

// New checks cfg and returns a node. It does no I/O.
func New(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.Node.ID)
	cfg.HTTP.MaxConns, cfg.HTTP.MaxConnsPerIP = connBudget(cfg.HTTP.MaxConns, cfg.HTTP.MaxConnsPerIP, openFileLimit(), log)
	return &Node{cfg: cfg, deps: deps, log: log, ready: make(chan struct{})}, nil
}

// connBudget sizes the connection limits to the descriptors the process
// may open (RLIMIT_NOFILE, which Go raises to the hard limit): players get
// at most three quarters of them (the rest is for the mesh, Raft, DNS,
// upstream connections and files), so a flood of connections meets a 503
// or a closed socket, never a process without descriptors. One client
// address gets an eighth of that by default (not less than 256: many
// players may share an address behind a carrier NAT).
func connBudget(maxConns, perIP int, nofile uint64, log *slog.Logger) (int, int) {
	limit := 256 << 10
	if nofile > 0 && nofile < 1<<40 {
		limit = min(limit, max(int(nofile*3/4), 64))
	}
	switch {
	case maxConns <= 0:
		maxConns = limit
	case maxConns > limit:
		log.Warn("http.max_conns is above what the descriptor limit allows; lowered", "max_conns", maxConns,
			"now", limit, "nofile", nofile)
		maxConns = limit
	}
	if perIP == 0 {
		perIP = max(maxConns/8, 256)
	}
	if perIP < 0 {
		perIP = 0 // no per-address limit
	}
	return maxConns, perIP
}

// openFileLimit is the process's RLIMIT_NOFILE (0 when unknown).
func openFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

// Run binds the listeners, builds and starts every role, serves until ctx
// ends, then shuts down gracefully: it leaves the mesh, stops accepting,
// lets running requests finish (bounded), and releases its stores.
func (n *Node) Run(ctx context.Context) error {
	l, err := listen(n.cfg, n.log)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := newRunning(runCtx, cancel, n.cfg, n.deps, n.log, l)
	if err != nil {
		l.close()
		return err
	}
	if err := r.start(); err != nil {
		l.close()
		cancel()
		r.wg.Wait()
		r.release()
		return err
	}
	n.rt.Store(r)
	close(n.ready)
	r.log.Info("listening", "http", r.httpAddr, "admin", r.adminAddr, "gossip", r.gossipAddr(), "roles", r.cfg.Node.Roles)
	err = r.serve()
	cancel()
	r.wg.Wait()
	r.release()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("node: serve: %w", err)
	}
	return nil
}

// Ready is closed once the node serves: listeners bound, mesh joined or
// started, and its configuration applied (see control.ready_timeout).
func (n *Node) Ready() <-chan struct{} { return n.ready }

func (n *Node) running() *running { return n.rt.Load() }

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.Node.ID }

// HTTPAddr is the bound HTTP address ("" before Ready).
func (n *Node) HTTPAddr() string {
	if r := n.running(); r != nil {
		return r.httpAddr
	}
	return ""
}

// HTTPSAddr is the bound HTTPS listener ("" without http.tls_listen, or
// before Ready).
func (n *Node) HTTPSAddr() string {
	if r := n.running(); r != nil {
		return r.httpsAddr
	}
	return ""
}

// AdminAddr is the bound admin listener ("" when the admin API shares the
// HTTP listener, or before Ready).
func (n *Node) AdminAddr() string {
	if r := n.running(); r != nil {
		return r.adminAddr
	}
	return ""
}

// MeshAddr is the advertised node-to-node address ("" without a mesh).
func (n *Node) MeshAddr() string {
	if r := n.running(); r != nil {
		return r.meshAddr
	}
	return ""
}

// GossipAddr is the bound gossip address ("" without a mesh).
func (n *Node) GossipAddr() string {
	if r := n.running(); r != nil {
		return r.gossipAddr()
	}
	return ""
}

// DNSAddr is the bound steering DNS address ("" without one).
func (n *Node) DNSAddr() string {
	if r := n.running(); r != nil && r.steer != nil && r.steer.dns != nil {
		return r.steer.dns.Addr().String()
	}
	return ""
}

// Member is a mesh member as the node sees it.
type Member = mesh.Member

// Members returns the node's current view of the mesh.
func (n *Node) Members() []Member {
	if r := n.running(); r != nil {
		return r.table().Members()
	}
	return nil
}

// Owner returns the node that owns key in the nearest shield tier of this
// node ("" when there is no shield), for operators and tests.
func (n *Node) Owner(key string) string {
	if r := n.running(); r != nil {
		return r.table().Owner(key)
	}
	return ""
}

// Kill stops the node abruptly, as a crash would: no leave message, every
// open connection closed mid-response. For tests of failure handling.
func (n *Node) Kill() {
	if r := n.running(); r != nil {
		r.killNow()
	}
}
