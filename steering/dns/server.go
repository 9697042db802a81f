package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	miekg "github.com/miekg/dns"
)

// Server is an authoritative DNS server for one zone.
type Server struct {
	cfg   Config
	h     *handler
	log   *slog.Logger
	ready chan struct{}

	mu   sync.Mutex
	addr netip.AddrPort
}

// New returns a Server. It does no I/O: Run binds the sockets.
func New(cfg Config, deps Deps) (*Server, error) {
	err := cfg.Validate()
	if deps.Resolver == nil {
		err = errors.Join(err, errors.New("dns: Deps.Resolver is required"))
	}
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UDPListeners == 0 {
		cfg.UDPListeners = runtime.GOMAXPROCS(0)
	}
	if !reusePortSupported {
		cfg.UDPListeners = 1
	}
	return &Server{
		cfg: cfg, log: deps.Logger, ready: make(chan struct{}),
		h: newHandler(cfg, deps.Resolver, deps.Logger, time.Now()),
	}, nil
}

// Ready is closed once every listener serves.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address the server listens on (UDP and TCP), valid once
// Ready is closed.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run binds the UDP sockets and the TCP listener, serves until ctx ends,
// then shuts them down and returns ctx's error (or the error that stopped
// a listener).
func (s *Server) Run(ctx context.Context) error {
	pcs, ln, err := listen(ctx, s.cfg.Listen, s.cfg.UDPListeners)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.addr = pcs[0].LocalAddr().(*net.UDPAddr).AddrPort()
	s.mu.Unlock()

	var started sync.WaitGroup
	servers := make([]*miekg.Server, 0, len(pcs)+1)
	for _, pc := range pcs {
		servers = append(servers, &miekg.Server{PacketConn: pc, Handler: s.h, UDPSize: 4096, NotifyStartedFunc: started.Done})
	}
	idle := s.cfg.IdleTimeout
	servers = append(servers, &miekg.Server{
		Listener: ln, Handler: s.h, NotifyStartedFunc: started.Done,
		ReadTimeout: s.cfg.ReadTimeout, WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: func() time.Duration { return idle },
	})
	started.Add(len(servers))
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errc <- srv.ActivateAndServe() }()
	}
	go func() {
		started.Wait()
		close(s.ready)
	}()
	s.log.Info("serving", "zone", s.cfg.Zone, "addr", s.Addr(), "udp_sockets", len(pcs))

	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-errc:
		err = fmt.Errorf("dns: serve: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.ShutdownContext(shutdown) // a server that never started says so; nothing to do
	}
	return err
}

// listen binds n UDP sockets and a TCP listener on one port. With port 0
// the first UDP socket picks it; the others (SO_REUSEPORT) and TCP follow,
// retrying with a new port when TCP finds it taken.
func listen(ctx context.Context, addr string, n int) ([]net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	var err error
	for range 5 {
		var pcs []net.PacketConn
		var ln net.Listener
		pcs, ln, err = tryListen(ctx, addr, n)
		if err == nil {
			return pcs, ln, nil
		}
		if port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("dns: listen %s: %w", addr, err)
}

func tryListen(ctx context.Context, addr string, n int) (pcs []net.PacketConn, ln net.Listener, err error) {
	lc := net.ListenConfig{Control: reusePort}
	defer func() {
		if err != nil {
			for _, pc := range pcs {
				pc.Close()
			}
		}
	}()
	first, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, nil, err
	}
	pcs = append(pcs, first)
	bound := first.LocalAddr().String()
	for len(pcs) < n {
		pc, err := lc.ListenPacket(ctx, "udp", bound)
		if err != nil {
			return pcs, nil, err
		}
		pcs = append(pcs, pc)
	}
	ln, err = lc.Listen(ctx, "tcp", bound)
	return pcs, ln, err
}
