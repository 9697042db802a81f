package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/pkg/dvr"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/route"
	"github.com/ringside-live/ringside/shield"
)

// running is one node while it runs: every role built, every listener
// bound. Run builds it whole before any handler sees it; handlers receive
// it and nothing in it is filled in later (what changes is behind atomics).
type running struct {
	cfg     Config
	log     *slog.Logger
	observe func(Access) // nil: nobody watches /live responses
	// ctx ends when the node stops; request contexts derive from it, so
	// shutdown interrupts every wait.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	reg    *prometheus.Registry // every /metrics
	opsReg *prometheus.Registry // only for operators: the admin listener, or the admin token
	m      *httpMetrics
	ingest *ingest.Origin // nil without the ingest role
	// localTL is the output timeline of redundant events on a node
	// without a control plane (nil with one).
	localTL *control.LocalTimeline
	// dvr is the ingest role's DVR store (nil without ingest.dvr.dir).
	dvr *dvr.Store
	// mastersSent is what the DVR mirror has sent of each master playlist
	// (dvrMirror.sendMasters).
	mastersSent mirroredMasters
	shield      *shield.Shield
	// inflight bounds the bodies only responses hold (http.max_inflight_bytes).
	inflight *object.Budget
	fetcher  *route.Fetcher
	// peers verifies members' certificates; cluster is its client of
	// node-to-node control calls (purge, drain and key fan-out); config
	// polls, peer fetches and admin forwarding have their own. nil
	// without a mesh.
	peers   *peers
	cluster *http.Client

	events   atomic.Pointer[eventTable]
	mesh     *mesh.Mesh // nil without a mesh section
	tbl      atomic.Pointer[route.Table]
	tableGen atomic.Uint64 // bumped on every table rebuild
	drained  atomic.Bool

	store  *control.Store // with the control role (and a data_dir)
	cfgSrc configSource   // store or follower; nil: static config only
	follow *follow        // a follower's way to the voters; nil on a voter
	// raftListener is the Raft socket handed over by Deps (nil: bind).
	raftListener net.Listener
	docVersion   atomic.Uint64 // version of the document being served
	// applied is closed once a document has been applied (awaitConfig).
	applied     chan struct{}
	appliedOnce sync.Once

	id       *identity.Source   // the node's certificate; nil without an identity section
	https    *identity.KeyPairs // the players' HTTPS certificates; nil without http.tls_listen
	adminTLS *identity.KeyPairs // admin.listen's certificates; nil: plain HTTP (loopback or admin.insecure)
	tickets  *tickets           // the HTTPS listener's session ticket keys; nil without one
	steer    *steer             // nil without the steer role
	tel      *nodeTelemetry     // nil with telemetry.disabled
	admin    *admin.API         // the operator API, mounted on the admin listener

	lis                 *listeners
	srv, adminSrv       *fasthttp.Server // adminSrv: only with admin.listen
	httpAddr, adminAddr string
	httpsAddr           string            // "" without http.tls_listen
	meshAddr            string            // advertised node-to-node address; "" without a mesh
	peerFilter          func(string) bool // tests: Deps.PeerFilter
	meshSrv             *fasthttp.Server
}

// newRunning builds every role of the node over its bound listeners. It
// does no I/O besides what the listeners already did.
func newRunning(ctx context.Context, cancel context.CancelFunc, cfg Config, deps Deps, log *slog.Logger, l *listeners) (*running, error) {
	n := &running{cfg: cfg, log: log, observe: deps.Observe, ctx: ctx, cancel: cancel, reg: prometheus.NewRegistry(), opsReg: prometheus.NewRegistry(),
		lis: l, httpAddr: l.http.Addr().String(), applied: make(chan struct{}), raftListener: deps.RaftListener,
		peerFilter: deps.PeerFilter}
	if l.admin != nil {
		n.adminAddr = l.admin.Addr().String()
	}
	if l.https != nil {
		n.httpsAddr = l.https.Addr().String()
	}
	if cfg.Log.Access && n.observe == nil {
		access := log.With("component", "access")
		n.observe = func(a Access) {
			access.Info("request", "path", a.Path, "status", a.Status, "cache", a.XCache, "hops", a.Hops, "elapsed", a.Elapsed)
		}
	}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.m = newHTTPMetrics(n.reg)
	n.registerListenerMetrics()
	n.inflight = object.NewBudget(int64(cfg.HTTP.MaxInflightBytes))
	n.registerControlMetrics()
	if err := n.loadIdentity(); err != nil {
		return nil, err
	}
	if err := n.loadHTTPS(); err != nil {
		return nil, err
	}
	if n.https != nil {
		n.tickets = &tickets{n: n}
	}
	if l.mesh != nil {
		n.meshAddr = advertised(l.mesh.Addr().String(), cfg.Mesh.Advertise, cfg.Mesh.Bind)
		n.peers = newPeers(n)
	}
	n.cluster = n.peerClient(5 * time.Second)
	var err error
	if n.fetcher, err = n.newFetcher(); err != nil {
		return nil, err
	}
	if err := n.openDVR(); err != nil { // an ingest node's DVR, or a shield's mirror of it
		return nil, err
	}
	if cfg.hasRole(RoleIngest) {
		n.ingest, err = ingest.New(cfg.ingestConfig(), ingest.Deps{Logger: log.With("component", "ingest"),
			Registerer: n.reg, Filler: n.fetcher, OnActive: n.advertiseEvents, Timeline: n.timelineFor(), DVR: n.dvr,
			Mirror: dvrMirror{n}, PullClient: route.NewClient(10 * time.Second)})
		if err != nil {
			n.closeDVR()
			return nil, err
		}
	}
	n.shield, err = shield.New(cfg.shieldConfig(), n.fetcher, shield.Deps{Logger: log.With("component", "shield"), Registerer: n.reg})
	if err != nil {
		return nil, err
	}
	n.setEvents(n.staticEvents())
	if cfg.hasRole(RoleSteer) {
		if n.steer, err = newSteer(cfg.Steering, n, n.reg, log); err != nil {
			return nil, err
		}
	}
	if err := n.newTelemetry(); err != nil {
		return nil, err
	}
	if err := n.newMesh(deps); err != nil {
		return nil, err
	}
	if err := n.newControl(); err != nil {
		return nil, err
	}
	if n.admin, err = n.newAdmin(); err != nil {
		return nil, err
	}
	n.newServers()
	return n, nil
}

func (n *running) newFetcher() (*route.Fetcher, error) {
	rc := route.DefaultConfig()
	rc.NodeID, rc.FillTimeout = n.cfg.Node.ID, time.Duration(n.cfg.Mesh.FillTimeout)
	return route.NewFetcher(rc, route.Deps{Table: n.table, Sources: n, Registerer: n.reg,
		Peer: n.peerClient(time.Duration(n.cfg.Mesh.PeerTimeout)), Origin: route.NewClient(10 * time.Second),
		HeldPeer: n.heldPeerClient()})
}

func (n *running) newMesh(deps Deps) error {
	if n.cfg.Mesh.Bind == "" {
		return nil
	}
	mc, err := meshConfig(n.cfg, deps)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	mc.Logger = n.log.With("component", "mesh")
	if n.mesh, err = mesh.New(mc, n.selfMeta()); err != nil {
		return fmt.Errorf("node: mesh: %w", err)
	}
	return nil
}

// start joins the mesh, starts the control plane, steering and the load
// advertisement, and waits until the configuration is applied; they all
// stop with n.ctx.
func (n *running) start() error {
	n.runIdentity()
	if err := n.runMesh(); err != nil {
		return err
	}
	if err := n.runControl(); err != nil {
		return err
	}
	if n.steer != nil {
		if err := n.steer.run(n.ctx, &n.wg); err != nil {
			return err
		}
	}
	n.wg.Go(n.publishLoad)
	if n.tel != nil {
		n.tel.run(n.ctx, &n.wg)
	}
	n.awaitConfig()
	return nil
}

// serve answers on the listeners until n.ctx ends, then stops accepting
// and lets running requests finish, for at most 5 s.
func (n *running) serve() error {
	errc := make(chan error, 4)
	go func() { errc <- n.srv.Serve(n.lis.http) }()
	if n.https != nil {
		go func() { errc <- n.srv.Serve(tls.NewListener(n.lis.https, n.https.TLSConfig())) }()
	}
	if n.adminSrv != nil {
		var ln net.Listener = n.lis.admin
		if n.adminTLS != nil {
			ln = tls.NewListener(ln, n.adminTLS.TLSConfig())
		}
		go func() { errc <- n.adminSrv.Serve(ln) }()
	}
	if n.meshSrv != nil {
		go func() { errc <- n.meshSrv.Serve(tls.NewListener(n.lis.mesh, n.id.ServerTLS(nil))) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
		// A listener failed (or was cut by a kill): the other servers and
		// the requests still running are stopped below all the same, so
		// nothing runs when the stores are released.
	case <-n.ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := n.srv.ShutdownWithContext(sctx)
	if n.adminSrv != nil {
		n.adminSrv.ShutdownWithContext(sctx)
	}
	if n.meshSrv != nil {
		n.meshSrv.ShutdownWithContext(sctx)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		err = nil // connections left open by idle clients, or killed
	}
	if serveErr != nil {
		return serveErr
	}
	return err
}

// release frees the stores once every goroutine has stopped.
func (n *running) release() {
	n.shield.Close()
	if n.ingest != nil {
		n.ingest.Close()
	}
	n.closeDVR()
}

// killNow stops the node as a crash would: no leave message, every open
// connection cut.
func (n *running) killNow() {
	if n.mesh != nil {
		n.mesh.Kill()
	}
	n.lis.http.closeAll()
	if n.lis.https != nil {
		n.lis.https.closeAll()
	}
	if n.lis.mesh != nil {
		n.lis.mesh.closeAll()
	}
	n.cancel()
}

// startService runs one component's Run in the node's wait group and
// waits until it is ready or failed to start. A failure after the start
// is logged (the component's own error ends only that component).
func startService(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger, name string,
	run func(context.Context) error, ready <-chan struct{}) error {
	errc := make(chan error, 1)
	wg.Go(func() {
		if err := run(ctx); err != nil && ctx.Err() == nil {
			log.Error(name+" stopped", "err", err)
			errc <- err
		}
	})
	select {
	case <-ready:
		return nil
	case err := <-errc:
		return fmt.Errorf("node: %s: %w", name, err)
	}
}
