package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// listeners are the node's bound sockets: the HTTP listener (tracked, so
// Kill can cut every connection) and the admin listener when admin.listen
// is set.
type listeners struct {
	http  *trackingListener
	https *trackingListener // nil without http.tls_listen; TLS is added by the node
	admin *trackingListener // nil: the admin API shares the HTTP listener
	mesh  *trackingListener // nil without mesh.listen; mutual TLS is added by the node
}

// connLimits are what every accepted connection of a listener is held to.
type connLimits struct {
	perIP       int           // open connections per client address (IPv4, IPv6 /64); 0: no limit
	sendTimeout time.Duration // longest a write may make no progress; 0: none
}

// listen binds the HTTP listener (and the admin one when configured).
func listen(cfg Config, log *slog.Logger) (*listeners, error) {
	public := connLimits{perIP: cfg.HTTP.MaxConnsPerIP, sendTimeout: time.Duration(cfg.HTTP.SendTimeout)}
	trusted := connLimits{sendTimeout: time.Duration(cfg.HTTP.SendTimeout)} // operators and other nodes
	bind := func(what, addr string, lim connLimits) (*trackingListener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("node: %s %s: %w", what, addr, err)
		}
		return newTrackingListener(ln, lim, log.With("listener", what)), nil
	}
	l := &listeners{}
	var err error
	if l.http, err = bind("http.listen", cfg.HTTP.Listen, public); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		what, addr string
		lim        connLimits
		into       **trackingListener
	}{
		{"http.tls_listen", cfg.HTTP.TLSListen, public, &l.https},
		{"mesh.listen", cfg.Mesh.Listen, trusted, &l.mesh},
		{"admin.listen", cfg.Admin.Listen, trusted, &l.admin},
	} {
		if b.addr == "" {
			continue
		}
		if *b.into, err = bind(b.what, b.addr, b.lim); err != nil {
			l.close()
			return nil, err
		}
	}
	return l, nil
}

func (l *listeners) close() {
	for _, t := range []*trackingListener{l.http, l.https, l.admin, l.mesh} {
		if t != nil {
			t.Close()
		}
	}
}

// trackingListener remembers open connections so Kill can cut them, holds
// each client address to its share of connections, and rides out running
// out of file descriptors (or memory) by backing off instead of failing:
// a flood of idle connections must never end the process.
type trackingListener struct {
	net.Listener
	lim    connLimits
	log    *slog.Logger
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	byIP  map[netip.Addr]int
	dead  bool

	refused      atomic.Uint64 // connections closed at once: their address had its share
	acceptErrors atomic.Uint64 // accepts that failed for lack of resources
	lastWarn     atomic.Int64  // unix nanos of the last back-off warning
}

func newTrackingListener(ln net.Listener, lim connLimits, log *slog.Logger) *trackingListener {
	return &trackingListener{Listener: ln, lim: lim, log: log, closed: make(chan struct{}),
		conns: map[net.Conn]struct{}{}, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within its address's share. When
// accept fails for lack of descriptors or memory it waits (5 ms doubling
// to 1 s) and tries again; idle timeouts and finished responses free
// descriptors meanwhile.
func (l *trackingListener) Accept() (net.Conn, error) {
	delay := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !exhausted(err) {
				return nil, err
			}
			l.acceptErrors.Add(1)
			if now := time.Now().UnixNano(); now-l.lastWarn.Load() > int64(10*time.Second) {
				l.lastWarn.Store(now)
				l.log.Warn("accept failed, backing off", "err", err, "open", l.open())
			}
			select {
			case <-l.closed:
				return nil, net.ErrClosed
			case <-time.After(delay):
			}
			delay = min(delay*2, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		ip := clientKey(c.RemoteAddr())
		l.mu.Lock()
		if l.dead {
			l.mu.Unlock()
			c.Close()
			return nil, net.ErrClosed
		}
		if l.lim.perIP > 0 && l.byIP[ip] >= l.lim.perIP {
			l.mu.Unlock()
			c.Close()
			l.refused.Add(1)
			continue
		}
		l.byIP[ip]++
		tc := &trackedConn{Conn: c, l: l, ip: ip}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// exhausted reports whether an accept failed for lack of resources, which
// passes, rather than because the listener is gone.
func exhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// clientKey is what a client's connections are counted under: its IPv4
// address, or the /64 of its IPv6 address (one subscriber's prefix).
func clientKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// open is how many connections are open.
func (l *trackingListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *trackingListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.dead = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	l.Close()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	ip   netip.Addr
	once sync.Once
	// deadlineAt is when the write deadline was last pushed (unix nanos);
	// only the goroutine writing the response touches it.
	deadlineAt int64
	// For sendfile (zerocopy.go), got once per connection and used only
	// by the goroutine writing the response.
	raw      syscall.RawConn
	sendStep func(fd uintptr) bool
	send     sendState
}

// sendChunk is how much one write may carry under one deadline: a large
// body is sent in pieces, each of which must make progress in time.
const sendChunk = 256 << 10

// Write sends p, failing when the client takes nothing for the send
// timeout: a client that never reads cannot hold a connection and its
// response forever, while a slow one that keeps reading is fine.
func (c *trackedConn) Write(p []byte) (int, error) {
	timeout := c.l.lim.sendTimeout
	if timeout <= 0 {
		return c.Conn.Write(p)
	}
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), sendChunk)]
		// The deadline moves on with every large piece, and at least every
		// quarter of the timeout (pushing it costs a timer update).
		if now := time.Now(); now.UnixNano()-c.deadlineAt > int64(timeout/4) || len(chunk) == sendChunk {
			c.deadlineAt = now.UnixNano()
			c.Conn.SetWriteDeadline(now.Add(timeout))
		}
		n, err := c.Conn.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if _, ok := c.l.conns[c]; ok {
			delete(c.l.conns, c)
		}
		if c.l.byIP[c.ip]--; c.l.byIP[c.ip] <= 0 {
			delete(c.l.byIP, c.ip)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
