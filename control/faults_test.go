package control

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

var errPartitioned = errors.New("test: partitioned")

// netGate cuts one voter off the network, both ways: it wraps the stream
// under the voter's Raft transport, so its dials fail, connections to it
// are dropped, and every connection it holds fails at its next read or
// write.
type netGate struct {
	cut   atomic.Bool
	mu    sync.Mutex
	conns map[*gatedConn]struct{}
}

func (g *netGate) wrap(s raft.StreamLayer) raft.StreamLayer {
	return &gatedStream{StreamLayer: s, g: g}
}

func (g *netGate) set(cut bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cut.Store(cut)
	if cut {
		for c := range g.conns {
			c.Conn.Close()
		}
		clear(g.conns)
	}
}

func (g *netGate) track(c net.Conn) net.Conn {
	gc := &gatedConn{Conn: c, g: g}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cut.Load() {
		c.Close()
		return gc
	}
	if g.conns == nil {
		g.conns = map[*gatedConn]struct{}{}
	}
	g.conns[gc] = struct{}{}
	return gc
}

type gatedStream struct {
	raft.StreamLayer
	g *netGate
}

func (s *gatedStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.g.cut.Load() {
		return nil, errPartitioned
	}
	c, err := s.StreamLayer.Dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	return s.g.track(c), nil
}

func (s *gatedStream) Accept() (net.Conn, error) {
	for {
		c, err := s.StreamLayer.Accept()
		if err != nil {
			return nil, err
		}
		if !s.g.cut.Load() {
			return s.g.track(c), nil
		}
		c.Close()
	}
}

type gatedConn struct {
	net.Conn
	g *netGate
}

func (c *gatedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.g.cut.Load() {
		c.Conn.Close()
		return 0, errPartitioned
	}
	return n, err
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if c.g.cut.Load() {
		c.Conn.Close()
		return 0, errPartitioned
	}
	return c.Conn.Write(p)
}

func (c *gatedConn) Close() error {
	c.g.mu.Lock()
	delete(c.g.conns, c)
	c.g.mu.Unlock()
	return c.Conn.Close()
}

// diskGate stalls one voter's Raft log writes: a leader's main loop blocks
// in the write and stops where it stands, still believing it leads, like a
// paused process.
type diskGate struct {
	mu      sync.Mutex
	stalled chan struct{} // non-nil while stalled; closed to resume
	entered chan struct{} // a write is blocked
}

func (g *diskGate) wrap(ls raft.LogStore) raft.LogStore { return &stallingLogs{LogStore: ls, g: g} }

// stall makes the next log writes block; the channel is closed when one
// does.
func (g *diskGate) stall() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stalled, g.entered = make(chan struct{}), make(chan struct{})
	return g.entered
}

func (g *diskGate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stalled != nil {
		close(g.stalled)
		g.stalled = nil
	}
}

func (g *diskGate) wait() {
	g.mu.Lock()
	stalled, entered := g.stalled, g.entered
	if stalled != nil {
		select {
		case <-entered:
		default:
			close(entered)
		}
	}
	g.mu.Unlock()
	if stalled != nil {
		<-stalled
	}
}

type stallingLogs struct {
	raft.LogStore
	g *diskGate
}

func (l *stallingLogs) StoreLog(log *raft.Log) error {
	l.g.wait()
	return l.LogStore.StoreLog(log)
}

func (l *stallingLogs) StoreLogs(logs []*raft.Log) error {
	l.g.wait()
	return l.LogStore.StoreLogs(logs)
}
