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
)

// maxQuery is the largest UDP query read; a larger one is dropped (a
// query is a question and an OPT RR: a few hundred bytes).
const maxQuery = 4096

// Server is an authoritative DNS server for one zone.
type Server struct {
	cfg   Config
	z     *zone
	src   Steerer
	log   *slog.Logger
	ready chan struct{}

	mu   sync.Mutex
	addr netip.AddrPort

	// TCP shares one responder (TCP is the rare path); tcpConns tracks
	// the open connections, bounded by MaxTCPConns.
	tcpMu    sync.Mutex
	tcpResp  *responder
	connMu   sync.Mutex
	tcpConns map[net.Conn]struct{}
}

// New returns a Server. It does no I/O: Run binds the sockets.
func New(cfg Config, deps Deps) (*Server, error) {
	err := cfg.Validate()
	if deps.Steerer == nil {
		err = errors.Join(err, errors.New("dns: Deps.Steerer is required"))
	}
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UDPListeners == 0 {
		cfg.UDPListeners = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if !reusePortSupported {
		cfg.UDPListeners = 1
	}
	z, err := newZone(cfg, time.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, z: z, src: deps.Steerer, log: deps.Logger, ready: make(chan struct{}),
		tcpConns: make(map[net.Conn]struct{})}
	s.tcpResp = newResponder(z, deps.Steerer, deps.Logger)
	return s, nil
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
// then closes them and returns ctx's error (or the error that stopped a
// listener). Each UDP socket has one worker reading in a loop (batches of
// packets where the platform allows); each TCP connection has one
// goroutine, at most MaxTCPConns of them.
func (s *Server) Run(ctx context.Context) error {
	pcs, ln, err := listen(ctx, s.cfg.Listen, s.cfg.UDPListeners)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.addr = ln.Addr().(*net.TCPAddr).AddrPort()
	if a := s.addr.Addr(); a.Is4In6() {
		s.addr = netip.AddrPortFrom(a.Unmap(), s.addr.Port())
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	errc := make(chan error, len(pcs)+1)
	for _, pc := range pcs {
		w := newResponder(s.z, s.src, s.log)
		wg.Go(func() {
			if err := pc.serve(s, w); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("dns: serve udp: %w", err)
			}
		})
	}
	wg.Go(func() {
		if err := s.serveTCP(ln); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("dns: serve tcp: %w", err)
		}
	})
	close(s.ready)
	s.log.Info("serving", "zone", s.cfg.Zone, "addr", s.Addr(), "udp_sockets", len(pcs), "max_tcp_conns", s.cfg.MaxTCPConns)

	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-errc:
	}
	for _, pc := range pcs {
		pc.shutdown()
	}
	ln.Close()
	s.connMu.Lock()
	for c := range s.tcpConns {
		c.Close()
	}
	s.connMu.Unlock()
	wg.Wait()
	for _, pc := range pcs {
		pc.close()
	}
	return err
}

// udpSocket is one UDP socket with its worker loop (udp_linux.go,
// udp_other.go).
type udpSocket interface {
	// serve answers queries until shutdown; it returns nil then.
	serve(s *Server, w *responder) error
	shutdown()    // makes serve return soon
	close() error // after serve returned
}

// serveTCP accepts connections until ln is closed. A connection beyond
// MaxTCPConns is closed at once.
func (s *Server) serveTCP(ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	delay := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off, go on.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.connMu.Lock()
		full := len(s.tcpConns) >= s.cfg.MaxTCPConns
		if !full {
			s.tcpConns[c] = struct{}{}
		}
		s.connMu.Unlock()
		if full {
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() {
				s.connMu.Lock()
				delete(s.tcpConns, c)
				s.connMu.Unlock()
				c.Close()
			}()
			s.serveConn(c)
		})
	}
}

// openTCP is how many TCP connections are open.
func (s *Server) openTCP() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.tcpConns)
}

// serveConn answers the queries of one TCP connection (RFC 7766: several,
// in order) until it is idle for IdleTimeout, slow, or closed.
func (s *Server) serveConn(c net.Conn) {
	var client netip.Addr
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		client = a.AddrPort().Addr().Unmap()
	}
	var lenb [2]byte
	var buf, out []byte
	for {
		c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		if _, err := c.Read(lenb[:1]); err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		if _, err := readFull(c, lenb[1:]); err != nil {
			return
		}
		n := int(lenb[0])<<8 | int(lenb[1])
		if n < headerLen {
			return
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		if _, err := readFull(c, buf[:n]); err != nil {
			return
		}
		s.tcpMu.Lock()
		s.tcpResp.refresh()
		resp := s.tcpResp.respond(buf[:n], client, true, append(out[:0], 0, 0))
		s.tcpMu.Unlock()
		if resp == nil {
			continue
		}
		out = resp
		m := len(resp) - 2
		resp[0], resp[1] = byte(m>>8), byte(m)
		c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := c.Write(resp); err != nil {
			return
		}
		if cap(buf) > 4096 { // one big query does not pin its buffer
			buf = nil
		}
		if cap(out) > 4096 {
			out = nil
		}
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// listen binds n UDP sockets and a TCP listener on one port. With port 0
// the first UDP socket picks it; the others (SO_REUSEPORT) and TCP follow,
// retrying with a new port when TCP finds it taken.
func listen(ctx context.Context, addr string, n int) ([]udpSocket, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	var err error
	for range 5 {
		var pcs []udpSocket
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

func tryListen(ctx context.Context, addr string, n int) ([]udpSocket, net.Listener, error) {
	pcs, bound, err := listenUDP(ctx, addr, n)
	if err != nil {
		return nil, nil, err
	}
	lc := net.ListenConfig{Control: reusePort}
	ln, err := lc.Listen(ctx, "tcp", bound)
	if err != nil {
		for _, pc := range pcs {
			pc.shutdown()
			pc.close()
		}
		return nil, nil, err
	}
	return pcs, ln, nil
}
