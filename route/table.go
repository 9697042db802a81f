package route

import (
	"slices"

	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/pkg/rendezvous"
)

// Table is an immutable view of the mesh from one node, rebuilt whenever
// membership or metadata changes: the shield tiers as rendezvous rings of
// live, undrained members, and who ingests which event.
type Table struct {
	self     string
	region   string
	members  []mesh.Member
	addr     map[string]string           // node id -> mesh (node-to-node) host:port
	regional map[string]*rendezvous.Ring // region -> its regional shields
	origin   *rendezvous.Ring            // the origin-shield tier
	ingest   map[string]*rendezvous.Ring // event -> nodes ingesting it
	inOrigin bool                        // self is an origin shield
}

// NewTable builds the table of node self (in region) over members. A
// member is a shield of the regional tier of its region when it says so
// (and names a region), of the origin tier otherwise; drained members own
// nothing.
func NewTable(self, region string, members []mesh.Member) *Table {
	t := &Table{self: self, region: region, members: members, addr: map[string]string{},
		regional: map[string]*rendezvous.Ring{}, ingest: map[string]*rendezvous.Ring{}}
	var origin []string
	regional := map[string][]string{}
	ingest := map[string][]string{}
	for _, m := range members {
		t.addr[m.ID] = m.MeshAddr
		for _, ev := range m.Events {
			ingest[ev] = append(ingest[ev], m.ID)
		}
		if m.Drain || !m.HasRole(mesh.RoleShield) {
			continue
		}
		if m.Tier == mesh.TierRegional && m.Region != "" {
			regional[m.Region] = append(regional[m.Region], m.ID)
		} else {
			origin = append(origin, m.ID)
			t.inOrigin = t.inOrigin || m.ID == self
		}
	}
	t.origin = rendezvous.New(origin)
	for r, ids := range regional {
		t.regional[r] = rendezvous.New(ids)
	}
	for ev, ids := range ingest {
		t.ingest[ev] = rendezvous.New(ids)
	}
	return t
}

// Self is the id of the node the table is for.
func (t *Table) Self() string { return t.self }

// Members is the member list the table was built from. Read-only.
func (t *Table) Members() []mesh.Member { return t.members }

// Addr is node id's mesh address, where its node-to-node listener is
// ("" when unknown).
func (t *Table) Addr(id string) string { return t.addr[id] }

// tiers lists the shield tiers a request from this node climbs, nearest
// first: its region's regional shields (if any), then the origin shields.
func (t *Table) tiers() []*rendezvous.Ring {
	var out []*rendezvous.Ring
	// Requests only climb: an origin shield never asks a regional one.
	if r := t.regional[t.region]; r != nil && r.Len() > 0 && !t.inOrigin {
		out = append(out, r)
	}
	if t.origin.Len() > 0 {
		out = append(out, t.origin)
	}
	return out
}

// Peers returns, in the order to try them, the nodes to fetch key from.
// In each shield tier, nearest first, the candidates are the members ranked
// above this node for the key (all of them when this node is not in the
// tier), owner first: a request only ever moves to a higher-ranked node, so
// failover can never loop, and when every node above it is down this node
// is the effective owner and climbs to the next tier. Nodes the request
// already went through (hops) are skipped. At most max are returned; none
// means: go to the origin.
func (t *Table) Peers(key string, hops []string, max int) []string {
	var out []string
	for _, ring := range t.tiers() {
		for _, id := range ring.Ranked(key, nil) {
			if id == t.self {
				break
			}
			if slices.Contains(hops, id) || slices.Contains(out, id) {
				continue
			}
			out = append(out, id)
			if len(out) == max {
				return out
			}
		}
	}
	return out
}

// Owner is the owner of key in the nearest shield tier of this node (""
// without shields).
func (t *Table) Owner(key string) string {
	if tiers := t.tiers(); len(tiers) > 0 {
		return tiers[0].Owner(key)
	}
	return ""
}

// Owners returns the owner of key in every shield tier (each region's
// regional tier and the origin tier): the targets of a push fill.
func (t *Table) Owners(key string) []string {
	var out []string
	add := func(id string) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	add(t.origin.Owner(key))
	for _, r := range t.regional {
		add(r.Owner(key))
	}
	return out
}

// Replicas returns the first n nodes of the origin shield tier for key,
// this node left out: the owner and those that take the key over when
// it fails, in order (where copies that must outlive a node go).
func (t *Table) Replicas(key string, n int) []string {
	var out []string
	if t.origin == nil {
		return nil
	}
	for _, id := range t.origin.Ranked(key, nil) {
		if id != t.self {
			out = append(out, id)
		}
		if len(out) == n {
			break
		}
	}
	return out
}

// Ingesters returns the nodes ingesting event, ranked for key.
func (t *Table) Ingesters(event, key string) []string {
	r := t.ingest[event]
	if r == nil {
		return nil
	}
	return r.Ranked(key, nil)
}
