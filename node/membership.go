package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/route"
)

// meshConfig maps the node's mesh section to mesh.Config.
func meshConfig(cfg Config, deps Deps) (mesh.Config, error) {
	mc, err := mesh.Profile(cfg.Mesh.Profile)
	if err != nil {
		return mc, err
	}
	mc.BindAddr, mc.AdvertiseAddr, mc.Seeds = cfg.Mesh.Bind, cfg.Mesh.Advertise, cfg.Mesh.Seeds
	if mc.SecretKey, err = cfg.Mesh.secretKey(); err != nil {
		return mc, fmt.Errorf("mesh.secret_key: %w", err)
	}
	mc.PacketFilter = deps.GossipFilter
	return mc, nil
}

// selfMeta is what this node advertises.
func (n *running) selfMeta() mesh.Meta {
	meta := mesh.Meta{ID: n.cfg.Node.ID, Roles: n.cfg.Node.Roles, Region: n.cfg.Node.Region,
		Tier: n.cfg.Node.Tier, HTTPAddr: n.httpAddr, HTTPSAddr: n.httpsAddr, AdminAddr: n.adminAddr, MeshAddr: n.meshAddr, Drain: n.drained.Load()}
	if meta.Tier == "" && n.cfg.hasRole(RoleShield) {
		meta.Tier = mesh.TierOrigin
	}
	if n.ingest != nil {
		meta.Events = n.ingest.ActiveEvents()
	}
	return meta
}

// runMesh joins the mesh and keeps the routing table current until the
// node stops. Without a mesh the table is this node alone.
func (n *running) runMesh() error {
	n.rebuild()
	if n.mesh == nil {
		return nil
	}
	if err := startService(n.ctx, &n.wg, n.log, "mesh", n.mesh.Run, n.mesh.Ready()); err != nil {
		return err
	}
	n.rebuild()
	n.wg.Go(func() {
		due := time.NewTicker(peerRetry) // checks that are due start here
		defer due.Stop()
		for {
			select {
			case <-n.ctx.Done():
				return
			case <-n.mesh.Changed():
				n.rebuild()
			case <-n.peers.changed:
				n.rebuild()
			case <-due.C:
				n.peers.effective(n.mesh.Members())
			}
		}
	})
	return nil
}

// advertiseEvents gossips the events this node now originates.
func (n *running) advertiseEvents(string) {
	go func() {
		if n.mesh != nil {
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			defer cancel()
			events := n.ingest.ActiveEvents()
			if err := n.mesh.UpdateMeta(ctx, func(meta *mesh.Meta) { meta.Events = events }); err != nil {
				n.log.Warn("advertising ingested events", "err", err)
			}
		}
		n.rebuild()
	}()
}

// rebuild recomputes the routing table from the current members whose
// certificates were verified, with the roles they confirm.
func (n *running) rebuild() {
	var members []mesh.Member
	if n.mesh != nil {
		members = n.peers.effective(n.mesh.Members())
	} else {
		members = []mesh.Member{{Meta: n.selfMeta(), State: mesh.StateAlive}}
	}
	n.tbl.Store(route.NewTable(n.cfg.Node.ID, n.cfg.Node.Region, members))
	n.tableGen.Add(1)
}

// table is the current routing table; never nil once the node runs.
func (n *running) table() *route.Table { return n.tbl.Load() }

// members returns the members this node routes to: verified, with their
// certified roles (this node alone without a mesh).
func (n *running) members() []mesh.Member { return n.table().Members() }

// setDrain drains or undrains this node: a drained node stops owning keys
// (every other node routes around it) but finishes what it is serving.
func (n *running) setDrain(ctx context.Context, drain bool) error {
	n.drained.Store(drain)
	if n.mesh != nil {
		if err := n.mesh.UpdateMeta(ctx, func(meta *mesh.Meta) { meta.Drain = drain }); err != nil {
			return fmt.Errorf("node: gossip drain flag: %w", err)
		}
	}
	n.rebuild()
	return nil
}

func (n *running) gossipAddr() string {
	if n.mesh != nil {
		return n.mesh.Addr()
	}
	return ""
}

// publishLoad advertises the node's load (open connections over its
// connection limit) when it moved by more than 5 points.
func (n *running) publishLoad() {
	if n.mesh == nil {
		return
	}
	limit := float64(n.srv.Concurrency)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last := 0.0
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		load := min(float64(n.srv.GetOpenConnectionsCount())/limit, 1)
		if load-last > 0.05 || last-load > 0.05 {
			last = load
			n.mesh.UpdateMeta(n.ctx, func(meta *mesh.Meta) { meta.Load = load })
		}
	}
}

// ownsKey reports whether this node is one of key's shield owners (the
// nodes an ingest pushes the key's updates to).
func (n *running) ownsKey(key string) bool {
	t := n.table()
	return t != nil && slices.Contains(t.Owners(key), t.Self())
}
