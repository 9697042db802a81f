package node

import (
	"fmt"
	"net"
	"sync"
)

// listeners are the node's bound sockets: the HTTP listener (tracked, so
// Kill can cut every connection) and the admin listener when admin.listen
// is set.
type listeners struct {
	http  *trackingListener
	https *trackingListener // nil without http.tls_listen; TLS is added by the node
	admin net.Listener      // nil: the admin API shares the HTTP listener
	mesh  *trackingListener // nil without mesh.listen; mutual TLS is added by the node
}

// listen binds the HTTP listener (and the admin one when configured).
func listen(cfg Config) (*listeners, error) {
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("node: http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	l := &listeners{http: &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}}
	if cfg.HTTP.TLSListen != "" {
		tln, err := net.Listen("tcp", cfg.HTTP.TLSListen)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("node: http.tls_listen %s: %w", cfg.HTTP.TLSListen, err)
		}
		l.https = &trackingListener{Listener: tln, conns: map[net.Conn]struct{}{}}
	}
	if cfg.Mesh.Listen != "" {
		mln, err := net.Listen("tcp", cfg.Mesh.Listen)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("node: mesh.listen %s: %w", cfg.Mesh.Listen, err)
		}
		l.mesh = &trackingListener{Listener: mln, conns: map[net.Conn]struct{}{}}
	}
	if cfg.Admin.Listen != "" {
		if l.admin, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			l.close()
			return nil, fmt.Errorf("node: admin.listen %s: %w", cfg.Admin.Listen, err)
		}
	}
	return l, nil
}

func (l *listeners) close() {
	l.http.Close()
	if l.https != nil {
		l.https.Close()
	}
	if l.admin != nil {
		l.admin.Close()
	}
	if l.mesh != nil {
		l.mesh.Close()
	}
}

// trackingListener remembers open connections so Kill can cut them.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	dead  bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.dead = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	l.Listener.Close()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
