package mesh

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Run binds the gossip listener, joins the seeds (retrying every JoinRetry
// until one answers) and keeps this node in the mesh until ctx ends; then it
// announces its leave, leaves gracefully and shuts down. After Kill it shuts
// down without leaving. It returns bind errors, and nil once stopped. Run
// may be called once.
func (m *Mesh) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("mesh: Run called more than once")
	}
	defer close(m.done)
	ml, seeds, err := m.start()
	if err != nil {
		return err
	}
	joinCtx, stopJoin := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { m.joinLoop(joinCtx, ml, seeds) })
	wg.Go(func() { m.reconnectLoop(joinCtx) })
	select {
	case <-ctx.Done():
		m.leave(ml)
	case <-m.killed:
	}
	stopJoin()
	if err := ml.Shutdown(); err != nil {
		m.log.Warn("shutdown", "err", err)
	}
	wg.Wait()
	m.stop()
	return nil
}

// Kill shuts this node down without leaving, so the others see it fail, and
// waits for Run to return. For tests.
func (m *Mesh) Kill() {
	m.killOnce.Do(func() { close(m.killed) })
	if m.started.Load() {
		<-m.done
	}
}

// start binds the transport and starts memberlist. It returns the seeds
// left to join: all but our own address, which would otherwise "join"
// itself when a node is listed in its own seed list.
func (m *Mesh) start() (*memberlist.Memberlist, []string, error) {
	logger := log.New(slogWriter{m.log}, "", 0)
	nt, port, err := m.bind(logger)
	if err != nil {
		return nil, nil, err
	}
	var tr memberlist.NodeAwareTransport = nt
	if m.cfg.PacketFilter != nil {
		tr = newFilterTransport(nt, m.cfg.PacketFilter)
	}
	conf, err := m.memberlistConfig(tr, port, logger)
	if err != nil {
		_ = tr.Shutdown()
		return nil, nil, err
	}
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	ml, err := memberlist.Create(conf)
	if err != nil {
		_ = tr.Shutdown()
		return nil, nil, fmt.Errorf("mesh: start memberlist: %w", err)
	}
	m.ml.Store(ml)
	addr := ml.LocalNode().Address()
	m.bound(addr)
	seeds := slices.DeleteFunc(slices.Clone(m.cfg.Seeds), func(s string) bool { return s == addr })
	if len(seeds) == 0 {
		m.markJoined()
	}
	close(m.ready)
	m.log.Debug("bound", "addr", addr)
	return ml, seeds, nil
}

// bind opens the UDP and TCP listeners. With port 0 the TCP port the kernel
// picks may be taken for UDP; memberlist retries that case, and so do we.
func (m *Mesh) bind(logger *log.Logger) (*memberlist.NetTransport, int, error) {
	host, port, err := splitPort(m.cfg.BindAddr)
	if err != nil {
		return nil, 0, fmt.Errorf("mesh: bind: %w", err)
	}
	attempts := 1
	if port == 0 {
		attempts = 10
	}
	for range attempts {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{host}, BindPort: port, Logger: logger,
		})
		if err == nil {
			return nt, nt.GetAutoBindPort(), nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, 0, fmt.Errorf("mesh: bind %s: %w", m.cfg.BindAddr, err)
}

func (m *Mesh) memberlistConfig(tr memberlist.NodeAwareTransport, port int, logger *log.Logger) (*memberlist.Config, error) {
	c := memberlist.DefaultLANConfig()
	c.Name = m.id
	c.BindAddr, _, _ = splitPort(m.cfg.BindAddr)
	c.BindPort, c.AdvertisePort = port, port
	if m.cfg.AdvertiseAddr != "" {
		host, aport, err := splitPort(m.cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("mesh: advertise: %w", err)
		}
		c.AdvertiseAddr, c.AdvertisePort = host, aport
		if aport == 0 {
			c.AdvertisePort = port
		}
	}
	c.Transport = tr
	c.Delegate = metaDelegate{m}
	c.Events = eventDelegate{m}
	c.Keyring = m.keyring // nil: plain gossip
	c.GossipInterval = m.cfg.GossipInterval
	c.ProbeInterval = m.cfg.ProbeInterval
	c.ProbeTimeout = m.cfg.ProbeTimeout
	c.PushPullInterval = m.cfg.PushPullInterval
	c.SuspicionMult = m.cfg.SuspicionMult
	c.Logger, c.LogOutput = logger, nil
	return c, nil
}

// joinLoop joins the seeds, retrying until one answers or ctx ends.
func (m *Mesh) joinLoop(ctx context.Context, ml *memberlist.Memberlist, seeds []string) {
	if len(seeds) == 0 {
		return
	}
	for {
		n, err := ml.Join(seeds)
		if n > 0 {
			m.markJoined()
			m.log.Debug("joined", "seeds_answered", n)
			return
		}
		m.log.Warn("no seed answered, retrying", "seeds", seeds, "in", m.cfg.JoinRetry, "err", err)
		t := time.NewTimer(m.cfg.JoinRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Join contacts seeds and merges state with those that answer; it succeeds
// if at least one did. Use it to rejoin after a partition healed.
func (m *Mesh) Join(ctx context.Context, seeds []string) error {
	if len(seeds) == 0 {
		return errors.New("mesh: join: no seeds")
	}
	select {
	case <-m.ready:
	case <-ctx.Done():
		return fmt.Errorf("mesh: join: %w", ctx.Err())
	}
	ml := m.ml.Load()
	done := make(chan error, 1)
	go func() {
		n, err := ml.Join(slices.Clone(seeds))
		if n > 0 {
			err = nil
		} else if err == nil {
			err = errors.New("no seed answered")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("mesh: join %v: %w", seeds, err)
		}
		m.markJoined()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mesh: join: %w", ctx.Err())
	}
}

// leave announces the leave (so others report EventLeave, not EventFail),
// broadcasts memberlist's leave and gives it a few gossip rounds to go out
// before Run closes the sockets.
func (m *Mesh) leave(ml *memberlist.Memberlist) {
	if m.numMembers.Load() > 1 {
		m.announceLeave(m.cfg.BroadcastTimeout)
	}
	if err := ml.Leave(m.cfg.BroadcastTimeout); err != nil {
		m.log.Warn("leave", "err", err)
	}
	t := time.NewTimer(min(2*m.cfg.GossipInterval, m.cfg.BroadcastTimeout))
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.killed:
	}
}

// stop ends coalescing after memberlist has shut down and delivers what is
// still pending (such as our own leave).
func (m *Mesh) stop() {
	m.stateMu.Lock()
	m.stopped = true
	if m.flushTimer != nil {
		m.flushTimer.Stop()
	}
	m.stateMu.Unlock()
	m.flush()
}

// UpdateMeta changes this node's Meta with fn and gossips it. fn gets a copy
// and must not call back into the Mesh; the ID cannot change. Before Run the
// new Meta is simply what Run will advertise. An error after the change was
// accepted (ctx ended, broadcast timed out) means only that it was not yet
// seen to go out: the new Meta stays and spreads with later gossip.
func (m *Mesh) UpdateMeta(ctx context.Context, fn func(*Meta)) error {
	m.lifeMu.Lock()
	m.metaMu.Lock()
	next := m.self.clone()
	fn(&next)
	enc, err := next.encode()
	switch {
	case next.ID != m.id:
		err = fmt.Errorf("mesh: update meta: ID %q cannot change to %q", m.id, next.ID)
	case err != nil:
		err = fmt.Errorf("mesh: update meta: %w", err)
	default:
		m.self, m.encoded = next, enc
	}
	m.metaMu.Unlock()
	ml := m.ml.Load()
	if err == nil && ml == nil {
		m.setSelf(next)
	}
	m.lifeMu.Unlock()
	if err != nil || ml == nil {
		return err
	}
	select {
	case <-m.done:
		return errors.New("mesh: update meta: mesh stopped")
	default:
	}
	return m.gossipMeta(ctx, ml)
}

func (m *Mesh) gossipMeta(ctx context.Context, ml *memberlist.Memberlist) error {
	timeout := m.cfg.BroadcastTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- ml.UpdateNode(timeout) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("mesh: update meta: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mesh: update meta: %w", ctx.Err())
	}
}

// encodedMeta is our advertised Meta, for memberlist.
func (m *Mesh) encodedMeta(limit int) []byte {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	if len(m.encoded) > limit { // cannot happen: encode enforces MetaMaxSize
		m.log.Error("meta over memberlist's limit", "size", len(m.encoded), "limit", limit)
		return nil
	}
	return m.encoded
}
