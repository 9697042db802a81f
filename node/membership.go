package node

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ringside-live/ringside/mesh"
)

// meshConfig maps the node's mesh section to mesh.Config.
func (n *Node) meshConfig() (mesh.Config, error) {
	mc := mesh.DefaultConfig()
	switch n.cfg.Mesh.Profile {
	case "test":
		mc = mesh.TestConfig()
	case "wan":
		mc.ProbeInterval, mc.ProbeTimeout, mc.SuspicionMult = 5*time.Second, 3*time.Second, 6
		mc.GossipInterval, mc.PushPullInterval = 500*time.Millisecond, 60*time.Second
	}
	mc.BindAddr, mc.AdvertiseAddr, mc.Seeds = n.cfg.Mesh.Bind, n.cfg.Mesh.Advertise, n.cfg.Mesh.Seeds
	key, err := n.cfg.Mesh.secretKey()
	if err != nil {
		return mc, err
	}
	mc.SecretKey = key
	mc.PacketFilter = n.deps.GossipFilter
	mc.Logger = n.log.With("component", "mesh")
	return mc, nil
}

// selfMeta is what this node advertises.
func (n *Node) selfMeta() mesh.Meta {
	meta := mesh.Meta{ID: n.cfg.Node.ID, Roles: n.cfg.Node.Roles, Region: n.cfg.Node.Region,
		Tier: n.cfg.Node.Tier, HTTPAddr: n.HTTPAddr(), Drain: n.drained.Load()}
	if meta.Tier == "" && n.cfg.hasRole(RoleShield) {
		meta.Tier = TierOrigin
	}
	if n.ingest != nil {
		meta.Events = n.ingest.ActiveEvents()
	}
	return meta
}

// runMesh joins the mesh and keeps the topology current until ctx ends.
// Without a mesh section the topology is this node alone.
func (n *Node) runMesh(ctx context.Context, wg *sync.WaitGroup) error {
	if n.cfg.Mesh.Bind == "" {
		n.rebuild()
		return nil
	}
	mc, err := n.meshConfig()
	if err != nil {
		return fmt.Errorf("node: mesh: %w", err)
	}
	m, err := mesh.New(mc, n.selfMeta())
	if err != nil {
		return fmt.Errorf("node: mesh: %w", err)
	}
	n.mesh.Store(m)
	if err := startService(ctx, wg, n.log, "mesh", m.Run, m.Ready()); err != nil {
		return err
	}
	n.rebuild()
	wg.Add(1)
	events, unsubscribe := m.Subscribe(256)
	go func() {
		defer wg.Done()
		defer unsubscribe()
		n.watchMesh(ctx, m, events)
	}()
	return nil
}

// watchMesh keeps the topology current and reconnects to members that
// failed (not those that left): after a partition heals, memberlist alone
// would never talk to a member it declared dead again.
func (n *Node) watchMesh(ctx context.Context, m *mesh.Mesh, events <-chan mesh.Event) {
	interval := 10 * time.Second
	switch n.cfg.Mesh.Profile {
	case "test":
		interval = 100 * time.Millisecond
	case "wan":
		interval = 30 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failed := map[string]string{} // node id -> gossip address
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.Changed():
			n.rebuild()
		case ev := <-events:
			switch ev.Type {
			case mesh.EventFail:
				failed[ev.Member.ID] = ev.Member.GossipAddr
			case mesh.EventJoin, mesh.EventLeave:
				delete(failed, ev.Member.ID)
			}
		case <-tick.C:
			if len(failed) == 0 {
				continue
			}
			addrs := make([]string, 0, len(failed))
			for _, a := range failed {
				addrs = append(addrs, a)
			}
			jctx, cancel := context.WithTimeout(ctx, interval)
			if err := m.Join(jctx, addrs); err == nil {
				n.log.Info("reconnected to failed members", "addrs", addrs)
			}
			cancel()
		}
	}
}

// advertiseEvents gossips the events this node now originates.
func (n *Node) advertiseEvents(string) {
	go func() {
		if m := n.mesh.Load(); m != nil {
			ctx, cancel := context.WithTimeout(n.runCtx, 5*time.Second)
			defer cancel()
			events := n.ingest.ActiveEvents()
			if err := m.UpdateMeta(ctx, func(meta *mesh.Meta) { meta.Events = events }); err != nil {
				n.log.Warn("advertising ingested events", "err", err)
			}
		}
		n.rebuild()
	}()
}

// rebuild recomputes the topology from the current members.
func (n *Node) rebuild() {
	var members []mesh.Member
	if m := n.mesh.Load(); m != nil {
		members = m.Members()
	} else {
		members = []mesh.Member{{Meta: n.selfMeta(), State: mesh.StateAlive}}
	}
	n.topo.Store(newTopology(n.cfg.Node.ID, n.cfg.Node.Region, members))
	n.topoGen.Add(1)
}

// members returns the current view of the mesh (this node alone without one).
func (n *Node) members() []mesh.Member {
	if t := n.topo.Load(); t != nil {
		return t.members
	}
	return nil
}

// setDrain drains or undrains this node: a drained node stops owning keys
// (every other node routes around it) but finishes what it is serving.
func (n *Node) setDrain(ctx context.Context, drain bool) error {
	n.drained.Store(drain)
	if m := n.mesh.Load(); m != nil {
		if err := m.UpdateMeta(ctx, func(meta *mesh.Meta) { meta.Drain = drain }); err != nil {
			return fmt.Errorf("node: gossip drain flag: %w", err)
		}
	}
	n.rebuild()
	return nil
}

// GossipAddr is the bound gossip address ("" without a mesh).
func (n *Node) GossipAddr() string {
	if m := n.mesh.Load(); m != nil {
		return m.Addr()
	}
	return ""
}

// Kill stops the node abruptly, as a crash would: no leave message, every
// open connection closed mid-response. For tests of failure handling.
func (n *Node) Kill() {
	if m := n.mesh.Load(); m != nil {
		m.Kill()
	}
	if n.conns != nil {
		n.conns.closeAll()
	}
	n.kill()
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

// Member is a mesh member as the node sees it.
type Member = mesh.Member

// Members returns the node's current view of the mesh.
func (n *Node) Members() []Member { return n.members() }

// Owner returns the node that owns key in the nearest shield tier of this
// node ("" when there is no shield), for operators and tests.
func (n *Node) Owner(key string) string {
	t := n.topo.Load()
	if t == nil {
		return ""
	}
	if tiers := t.tiers(); len(tiers) > 0 {
		return tiers[0].Owner(key)
	}
	return ""
}
