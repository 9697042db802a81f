package node

import (
	"slices"
	"strings"

	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/pkg/rendezvous"
)

// topology is an immutable view of the mesh, rebuilt whenever membership
// or metadata changes: the shield tiers as rendezvous rings of live,
// undrained members, and who ingests which event.
type topology struct {
	self     string
	region   string
	members  []mesh.Member
	addr     map[string]string           // node id -> HTTP host:port
	regional map[string]*rendezvous.Ring // region -> its regional shields
	origin   *rendezvous.Ring            // the origin-shield tier
	ingest   map[string]*rendezvous.Ring // event -> nodes ingesting it
}

func newTopology(self, region string, members []mesh.Member) *topology {
	t := &topology{self: self, region: region, members: members, addr: map[string]string{},
		regional: map[string]*rendezvous.Ring{}, ingest: map[string]*rendezvous.Ring{}}
	var origin []string
	regional := map[string][]string{}
	ingest := map[string][]string{}
	for _, m := range members {
		t.addr[m.ID] = m.HTTPAddr
		for _, ev := range m.Events {
			ingest[ev] = append(ingest[ev], m.ID)
		}
		if m.Drain || !m.HasRole(mesh.RoleShield) {
			continue
		}
		if m.Tier == TierRegional && m.Region != "" {
			regional[m.Region] = append(regional[m.Region], m.ID)
		} else {
			origin = append(origin, m.ID)
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

// tiers lists the shield tiers a request from this node climbs, nearest
// first: its region's regional shields (if any), then the origin shields.
func (t *topology) tiers() []*rendezvous.Ring {
	var out []*rendezvous.Ring
	// Requests only climb: an origin shield never asks a regional one.
	inOrigin := slices.Contains(t.origin.Members(), t.self)
	if r := t.regional[t.region]; r != nil && r.Len() > 0 && !inOrigin {
		out = append(out, r)
	}
	if t.origin.Len() > 0 {
		out = append(out, t.origin)
	}
	return out
}

// peers returns, in the order to try them, the nodes to fetch key from.
// In each shield tier, nearest first, the candidates are the members ranked
// above this node for the key (all of them when this node is not in the
// tier), owner first: a request only ever moves to a higher-ranked node, so
// failover can never loop, and when every node above it is down this node
// is the effective owner and climbs to the next tier. Nodes the request
// already went through are skipped. An empty list means: go to the origin.
func (t *topology) peers(key string, hops []string, max int) []string {
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

// owners returns the owner of key in every shield tier (each region's
// regional tier and the origin tier): the targets of a push fill.
func (t *topology) owners(key string) []string {
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

// ingestNodes returns the nodes ingesting event, ranked for key.
func (t *topology) ingestNodes(event, key string) []string {
	r := t.ingest[event]
	if r == nil {
		return nil
	}
	return r.Ranked(key, nil)
}

func splitHops(h string) []string {
	if h == "" {
		return nil
	}
	return strings.Split(h, ",")
}
