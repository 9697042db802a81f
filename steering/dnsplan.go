package steering

import (
	"math"
	"net/netip"
	"time"
)

// DNSPlan is what DNS clients of one event get, derived once from a
// snapshot so that answering a query is a region lookup and a hash: per
// region, the pathways (and, on the mesh, the first edge) a new client may
// be handed, with their weights.
//
// DNS clients have no sessions. A client's choice is a weighted rendezvous
// hash of its subnet (the EDNS client subnet, else the resolver's address,
// at most a /24 or /56) and the event, so that A, AAAA and CNAME queries of
// one client agree, a client keeps its answer while the plan's weights do
// not change, and a change of weights moves only the subnets whose choice
// it changes. The weights are the ones a new HTTP session gets: pathway
// weights, CDN health, state and capacity, edge headroom below high water.
//
// A DNSPlan is immutable and safe for concurrent use.
type DNSPlan struct {
	event   string
	eventH  uint64 // hash of the event id, mixed into every subnet hash
	regions regionTable
	index   map[string]int // region name -> index into plans; "" is 0
	plans   []dnsRegion
	choices []Pathway // by choice index
	ttl     time.Duration
}

// dnsRegion is the plan of one region.
type dnsRegion struct {
	blocked bool
	reason  string
	opts    []dnsOption
}

// dnsOption is one weighted outcome.
type dnsOption struct {
	choice int
	weight float64
	seed   uint64 // hash of the pathway and edge ids: stable across plans
}

// DNSChoice is the outcome of DNSPlan.Choose.
type DNSChoice struct {
	// Choice indexes the plan's pathways (Pathway); -1 when the client
	// gets nothing (blocked, or no eligible pathway).
	Choice int
	// Scope is the ECS SCOPE PREFIX-LENGTH the choice holds for: the
	// region's scope, or the hashed subnet's length when the region has
	// more than one outcome.
	Scope  int
	Region string
}

// Hashed subnet lengths: RFC 7871 section 11.1 recommends that resolvers
// send no more than these, so more bits would only split caches.
const (
	dnsSubnet4 = 24
	dnsSubnet6 = 56
)

// DNSPlan derives the DNS plan of s: region by region, the pathways a new
// DNS client may get. It reads the engine's health, drain and capacity
// state; the caller rebuilds the plan when any input changes.
func (e *Engine) DNSPlan(s Snapshot) *DNSPlan {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.viewOf(&s, now)
	e.sessions.expire(now)
	p := &DNSPlan{event: s.Event.ID, eventH: hashString(s.Event.ID), regions: v.regions,
		index: map[string]int{"": 0}, ttl: e.cfg.TTL}
	names := []string{""}
	for _, r := range s.Regions {
		if _, ok := p.index[r.Name]; !ok {
			p.index[r.Name] = len(names)
			names = append(names, r.Name)
		}
	}
	byKey := make(map[string]int)
	for _, region := range names {
		p.plans = append(p.plans, e.dnsRegion(&s, v, region, now, p, byKey))
	}
	return p
}

// dnsRegion lists the weighted outcomes of one region.
func (e *Engine) dnsRegion(s *Snapshot, v *view, region string, now time.Time, p *DNSPlan, byKey map[string]int) dnsRegion {
	if reason := blockReason(&s.Event, region); reason != "" {
		return dnsRegion{blocked: true, reason: reason}
	}
	dc := &decider{e: e, s: s, v: v, region: region, now: now}
	dc.buildCandidates()
	var r dnsRegion
	for _, pass := range []func(*candidate) bool{
		func(c *candidate) bool { return c.fresh },
		func(c *candidate) bool { return c.full },
	} {
		total := 0
		var pool []*candidate
		for i := range dc.cands {
			if c := &dc.cands[i]; pass(c) {
				pool = append(pool, c)
				total += c.weight
			}
		}
		if len(pool) == 0 {
			continue
		}
		for _, c := range pool {
			w := float64(c.weight)
			if total == 0 { // all weights 0: the first in priority order
				w = 0
				if c == pool[0] {
					w = 1
				}
			}
			if w > 0 {
				r.opts = append(r.opts, dc.dnsOptions(c, w, p, byKey)...)
			}
		}
		break
	}
	return r
}

// dnsOptions splits candidate c of weight w into its outcomes: a CDN is
// one; the mesh is one per edge a new session may get (pickEdge's pool),
// weighted by headroom below high water.
func (d *decider) dnsOptions(c *candidate, w float64, p *DNSPlan, byKey map[string]int) []dnsOption {
	add := func(key string, edge int, w float64) dnsOption {
		i, ok := byKey[key]
		if !ok {
			i = len(p.choices)
			byKey[key] = i
			pw := d.pathway(c, edge, "dns")
			pw.Why = "dns: weighted by subnet"
			p.choices = append(p.choices, pw)
		}
		return dnsOption{choice: i, weight: w, seed: hashString(key[len(d.region)+1:])}
	}
	if c.kind == KindCDN {
		return []dnsOption{add(d.region+"/cdn/"+c.id, -1, w)}
	}
	edges := d.s.Edges
	pool := c.open
	if len(pool) == 0 {
		if len(c.ranked) == 0 {
			return nil
		}
		return []dnsOption{add(d.region+"/mesh/"+edges[c.ranked[0]].ID, c.ranked[0], w)}
	}
	if d.region != "" && edges[pool[0]].Region == d.region {
		n := 0
		for n < len(pool) && edges[pool[n]].Region == d.region {
			n++
		}
		pool = pool[:n]
	}
	total := 0.0
	for _, i := range pool {
		total += d.e.cfg.HighWater - edges[i].Load
	}
	out := make([]dnsOption, 0, len(pool))
	for _, i := range pool {
		share := 1 / float64(len(pool))
		if total > 0 {
			share = (d.e.cfg.HighWater - edges[i].Load) / total
		}
		if share > 0 {
			out = append(out, add(d.region+"/mesh/"+edges[i].ID, i, w*share))
		}
	}
	return out
}

// Event is the id of the plan's event.
func (p *DNSPlan) Event() string { return p.event }

// Choices is how many pathways the plan can hand out (the range of
// DNSChoice.Choice).
func (p *DNSPlan) Choices() int { return len(p.choices) }

// Pathway returns the pathway of a choice; ok is false for -1 or out of
// range.
func (p *DNSPlan) Pathway(choice int) (Pathway, bool) {
	if choice < 0 || choice >= len(p.choices) {
		return Pathway{}, false
	}
	return p.choices[choice], true
}

// Choose returns what a DNS client gets. It does not allocate, lock or
// change any state.
func (p *DNSPlan) Choose(c Client) DNSChoice {
	a := clientAddr(c)
	region, scope := p.regions.lookup(a)
	r := &p.plans[0]
	if region != "" {
		r = &p.plans[p.index[region]]
	}
	out := DNSChoice{Choice: -1, Scope: scope, Region: region}
	switch {
	case r.blocked || len(r.opts) == 0:
		return out
	case len(r.opts) == 1:
		out.Choice = r.opts[0].choice
		return out
	}
	h, bits := subnetHash(c, a)
	h ^= p.eventH
	best, bestScore := 0, math.Inf(1)
	for i, o := range r.opts {
		// Weighted rendezvous: the smallest -ln(u)/w wins, so each
		// option wins with probability w/sum(w).
		u := float64(mix(h^o.seed)>>11+1) / (1 << 53)
		if s := -math.Log(u) / o.weight; s < bestScore {
			best, bestScore = i, s
		}
	}
	out.Choice = r.opts[best].choice
	if c.Prefix.IsValid() && c.Prefix.Bits() > 0 {
		out.Scope = max(out.Scope, bits)
	}
	return out
}

// subnetHash hashes the subnet a choice is made for: the client subnet
// (at most /24 or /56) or the resolver's /24 or /56. It returns the hash
// and the subnet's length.
func subnetHash(c Client, a netip.Addr) (uint64, int) {
	bits := dnsSubnet4
	if a.Is6() {
		bits = dnsSubnet6
	}
	if p := unmapPrefix(c.Prefix); p.IsValid() && p.Bits() > 0 {
		bits = min(bits, p.Bits())
	}
	pre, err := a.Prefix(bits)
	if err != nil {
		return 0, 0
	}
	b := pre.Addr().As16()
	lo := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	hi := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	return mix(mix(lo^uint64(bits)) ^ hi), bits
}

// mix is the SplitMix64 finaliser: a fast, well-spread 64-bit hash step.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// hashString is FNV-1a, then mixed: fixed across processes, unlike
// maphash.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}
