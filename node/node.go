package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/pkg/token"
	"github.com/ringside-live/ringside/shield"
)

// Deps are the collaborators of a Node.
type Deps struct {
	Logger *slog.Logger
	// GossipFilter, for tests, drops gossip to and from addresses for which
	// it returns false (simulated partitions).
	GossipFilter func(remoteAddr string) bool
	// Observe, if set, is called after every /live response; it is how an
	// access log or a test sees each request. It must not block.
	Observe func(Access)
}

// Access describes one answered /live request.
type Access struct {
	Path    string
	Status  int
	XCache  string
	Hops    string // the incoming hop header: which nodes it came through
	Elapsed time.Duration
}

// Node is one running Ringside node.
type Node struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	reg    *prometheus.Registry
	m      *httpMetrics
	ingest *ingest.Origin // nil without the ingest role
	shield *shield.Shield
	up     *meshFetcher
	events atomic.Pointer[eventTable]
	srv    *fasthttp.Server
	// adminSrv serves the operator routes on admin.listen, when set.
	adminSrv  *fasthttp.Server
	adminAddr atomic.Pointer[string]

	store      *control.Store // with the control role and a data_dir
	cfgSrc     configSource   // store or follower; nil: static config only
	docVersion atomic.Uint64  // version of the document being served

	mesh    atomic.Pointer[mesh.Mesh]
	topo    atomic.Pointer[topology]
	topoGen atomic.Uint64 // bumped on every topology rebuild
	steer   *steer        // the steer role; nil without it
	drained atomic.Bool
	conns   *trackingListener

	ready chan struct{}
	addr  atomic.Pointer[string]
	// runCtx ends when Run is asked to stop; uploads use it, not the
	// request, so shutdown interrupts waits inside ingest.
	runCtx context.Context
	kill   context.CancelFunc
}

// eventTable is the immutable set of events; replaced whole on change.
type eventTable struct {
	byID map[string]*eventInfo
}

type eventInfo struct {
	ID           string
	Title        string
	Push         bool
	StreamKeys   []string
	PullURL      string
	State        string // scheduled, rehearsal, live, ended ("" for static config)
	RequireToken bool
	Allowed      []string    // regions allowed (empty: everywhere)
	Blackout     []string    // regions refused
	TokenKeys    []token.Key // playback-token keys, current first
}

// New builds a node from cfg. It does no I/O.
func New(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, deps: deps, log: deps.Logger, reg: prometheus.NewRegistry(), ready: make(chan struct{}),
		runCtx: context.Background(), kill: func() {}}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("node", cfg.Node.ID)
	if cfg.Log.Access && n.deps.Observe == nil {
		access := n.log.With("component", "access")
		n.deps.Observe = func(a Access) {
			access.Info("request", "path", a.Path, "status", a.Status, "cache", a.XCache, "hops", a.Hops, "elapsed", a.Elapsed)
		}
	}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.m = newHTTPMetrics(n.reg)
	n.registerControlMetrics()
	n.up = newMeshFetcher(n)
	if cfg.hasRole(RoleIngest) {
		o, err := ingest.New(cfg.ingestConfig(), ingest.Deps{Logger: n.log.With("component", "ingest"),
			Registerer: n.reg, Filler: n.up, OnActive: n.advertiseEvents})
		if err != nil {
			return nil, err
		}
		n.ingest = o
	}
	sh, err := shield.New(cfg.shieldConfig(), n.up, shield.Deps{Logger: n.log.With("component", "shield"), Registerer: n.reg})
	if err != nil {
		return nil, err
	}
	n.shield = sh
	if cfg.hasRole(RoleSteer) {
		if n.steer, err = newSteer(n); err != nil {
			return nil, err
		}
	}
	n.SetEvents(cfg.Events)
	if cfg.Admin.Listen == "" {
		n.srv = n.newServer(serveAll)
	} else {
		n.srv, n.adminSrv = n.newServer(servePublic), n.newServer(serveAdmin)
	}
	return n, nil
}

// SetEvents replaces the node's events with static ones (the config file's
// events: section, served until a control plane publishes a document).
func (n *Node) SetEvents(evs []EventConfig) {
	infos := make([]eventInfo, 0, len(evs))
	for _, ev := range evs {
		info := eventInfo{ID: ev.ID, Title: ev.Title, Push: ev.StreamKey != "", PullURL: ev.PullURL}
		if ev.StreamKey != "" {
			info.StreamKeys = []string{ev.StreamKey}
		}
		infos = append(infos, info)
	}
	n.setEvents(infos)
}

func (n *Node) setEvents(evs []eventInfo) {
	t := &eventTable{byID: make(map[string]*eventInfo, len(evs))}
	var push []ingest.EventConfig
	for i := range evs {
		ev := &evs[i]
		t.byID[ev.ID] = ev
		if ev.Push {
			push = append(push, ingest.EventConfig{ID: ev.ID, StreamKeys: ev.StreamKeys})
		}
	}
	n.events.Store(t)
	if n.ingest != nil {
		n.ingest.SetEvents(push)
	}
}

func (n *Node) event(id string) *eventInfo { return n.events.Load().byID[id] }

func (n *Node) pullURL(id string) (string, bool) {
	ev := n.event(id)
	if ev == nil || ev.PullURL == "" {
		return "", false
	}
	return ev.PullURL, true
}

// Ready is closed once the HTTP listener is bound and the node has joined
// (or started) its mesh.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// HTTPAddr is the bound HTTP address (valid after Ready).
func (n *Node) HTTPAddr() string {
	if p := n.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// AdminAddr is the bound admin listener ("" when the admin API shares the
// HTTP listener).
func (n *Node) AdminAddr() string {
	if p := n.adminAddr.Load(); p != nil {
		return *p
	}
	return ""
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.Node.ID }

// Run serves until ctx ends, then shuts down gracefully: it leaves the
// mesh, stops accepting, lets running requests finish (bounded), and
// releases its stores.
func (n *Node) Run(ctx context.Context) error {
	adminLn, err := n.listen()
	if err != nil {
		return err
	}
	closeAll := func() {
		n.conns.Listener.Close()
		if adminLn != nil {
			adminLn.Close()
		}
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	n.runCtx, n.kill = runCtx, cancelRun
	var wg sync.WaitGroup
	defer wg.Wait()
	if err := n.startRoles(runCtx, &wg); err != nil {
		closeAll()
		return err
	}
	close(n.ready)
	n.log.Info("listening", "http", n.HTTPAddr(), "gossip", n.GossipAddr(), "roles", n.cfg.Node.Roles)
	errc := make(chan error, 2)
	go func() { errc <- n.srv.Serve(n.conns) }()
	if n.adminSrv != nil {
		go func() { errc <- n.adminSrv.Serve(adminLn) }()
	}
	select {
	case err = <-errc:
	case <-runCtx.Done():
		err = n.shutdownServers()
	}
	cancelRun()
	wg.Wait()
	n.shield.Close()
	if n.ingest != nil {
		n.ingest.Close()
	}
	if err != nil {
		return fmt.Errorf("node: serve: %w", err)
	}
	return nil
}

// listen binds the HTTP listener (and the admin one when configured).
func (n *Node) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", n.cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("node: listen %s: %w", n.cfg.HTTP.Listen, err)
	}
	n.conns = &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	addr := ln.Addr().String()
	n.addr.Store(&addr)
	if n.adminSrv == nil {
		return nil, nil
	}
	adminLn, err := net.Listen("tcp", n.cfg.Admin.Listen)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("node: listen %s (admin): %w", n.cfg.Admin.Listen, err)
	}
	a := adminLn.Addr().String()
	n.adminAddr.Store(&a)
	return adminLn, nil
}

// startRoles joins the mesh and starts the control plane, steering and
// the load advertisement; they stop with ctx.
func (n *Node) startRoles(ctx context.Context, wg *sync.WaitGroup) error {
	if err := n.runMesh(ctx, wg); err != nil {
		return err
	}
	if err := n.runControl(ctx, wg); err != nil {
		return err
	}
	if n.steer != nil {
		if err := n.steer.run(ctx, wg); err != nil {
			return err
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); n.publishLoad(ctx) }()
	return nil
}

// shutdownServers stops accepting and lets running requests finish, for
// at most 5 s.
func (n *Node) shutdownServers() error {
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := n.srv.ShutdownWithContext(sctx)
	if n.adminSrv != nil {
		n.adminSrv.ShutdownWithContext(sctx)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		err = nil // connections left open by idle clients, or killed
	}
	return err
}

// publishLoad advertises the node's load (open connections over its
// connection limit) when it moved by more than 5 points.
func (n *Node) publishLoad(ctx context.Context) {
	m := n.mesh.Load()
	if m == nil {
		return
	}
	limit := float64(n.srv.Concurrency)
	if limit <= 0 {
		limit = fasthttp.DefaultConcurrency
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		load := min(float64(n.srv.GetOpenConnectionsCount())/limit, 1)
		if load-last > 0.05 || last-load > 0.05 {
			last = load
			m.UpdateMeta(ctx, func(meta *mesh.Meta) { meta.Load = load })
		}
	}
}
