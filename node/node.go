package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/shield"
)

// Deps are the collaborators of a Node.
type Deps struct {
	Logger *slog.Logger
}

// Node is one running Ringside node.
type Node struct {
	cfg    Config
	log    *slog.Logger
	reg    *prometheus.Registry
	m      *httpMetrics
	ingest *ingest.Origin // nil without the ingest role
	shield *shield.Shield
	events atomic.Pointer[eventTable]
	srv    *fasthttp.Server

	ready chan struct{}
	addr  atomic.Pointer[string]
	// runCtx ends when Run is asked to stop; uploads use it, not the
	// request, so shutdown interrupts waits inside ingest.
	runCtx context.Context
}

// eventTable is the immutable set of events; replaced whole on change.
type eventTable struct {
	byID map[string]*eventInfo
}

type eventInfo struct {
	ID      string
	Title   string
	Push    bool
	PullURL string
}

// New builds a node from cfg. It does no I/O.
func New(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: deps.Logger, reg: prometheus.NewRegistry(), ready: make(chan struct{}),
		runCtx: context.Background()}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("node", cfg.Node.ID)
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.m = newHTTPMetrics(n.reg)
	if cfg.hasRole(RoleIngest) {
		o, err := ingest.New(cfg.ingestConfig(), ingest.Deps{Logger: n.log.With("component", "ingest"), Registerer: n.reg})
		if err != nil {
			return nil, err
		}
		n.ingest = o
	}
	fetcher := &shield.OriginFetcher{Client: upstreamClient(), BaseURL: n.pullURL, NodeID: cfg.Node.ID}
	sh, err := shield.New(cfg.shieldConfig(), fetcher, shield.Deps{Logger: n.log.With("component", "shield"), Registerer: n.reg})
	if err != nil {
		return nil, err
	}
	n.shield = sh
	n.SetEvents(cfg.Events)
	n.srv = n.newServer()
	return n, nil
}

// upstreamClient is tuned for many concurrent fetches to few hosts.
func upstreamClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	tr.ResponseHeaderTimeout = 10 * time.Second
	tr.DisableCompression = true
	return &http.Client{Transport: tr}
}

// SetEvents replaces the node's events (from the config now, from the
// control plane later).
func (n *Node) SetEvents(evs []EventConfig) {
	t := &eventTable{byID: make(map[string]*eventInfo, len(evs))}
	var push []ingest.EventConfig
	for _, ev := range evs {
		t.byID[ev.ID] = &eventInfo{ID: ev.ID, Title: ev.Title, Push: ev.StreamKey != "", PullURL: ev.PullURL}
		if ev.StreamKey != "" {
			push = append(push, ingest.EventConfig{ID: ev.ID, StreamKey: ev.StreamKey})
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

// Ready is closed once the HTTP listener is bound.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// HTTPAddr is the bound HTTP address (valid after Ready).
func (n *Node) HTTPAddr() string {
	if p := n.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.Node.ID }

// Run serves until ctx ends, then shuts down gracefully: it stops
// accepting, lets running requests finish (bounded), and releases stores.
func (n *Node) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", n.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("node: listen %s: %w", n.cfg.HTTP.Listen, err)
	}
	addr := ln.Addr().String()
	n.addr.Store(&addr)
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	n.runCtx = runCtx
	close(n.ready)
	n.log.Info("listening", "http", addr, "roles", n.cfg.Node.Roles)
	errc := make(chan error, 1)
	go func() { errc <- n.srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		cancelRun()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = n.srv.ShutdownWithContext(sctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil // connections left open by idle clients
		}
	}
	n.shield.Close()
	if n.ingest != nil {
		n.ingest.Close()
	}
	if err != nil {
		return fmt.Errorf("node: serve: %w", err)
	}
	return nil
}
