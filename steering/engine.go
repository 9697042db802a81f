package steering

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Engine makes steering decisions. It remembers sessions (stickiness,
// capacity accounting, bounded rebalancing) and when it first saw each
// drain. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	now    func() time.Time
	health HealthView
	// regionHealth: CDNs down in one region only; nil: none.
	regionHealth RegionHealthView

	mu       sync.Mutex
	rnd      *rand.Rand
	view     *view // derived from the last snapshot with a non-zero Version
	sessions *sessionTable
	// cdnDrain and edgeDrain hold when each draining CDN or edge was first
	// seen draining: its sessions must be gone one TTL later.
	cdnDrain, edgeDrain map[string]time.Time
	// intervalStart and budget implement MaxShiftPerInterval: moves left
	// in the current interval.
	intervalStart time.Time
	budget        int
	// shedding marks pathways being rebalanced down to their share.
	shedding map[string]bool
}

// view is what the engine derives from one snapshot.
type view struct {
	version     uint64
	edges, cdns int // lengths of the snapshot's slices
	regions     regionTable
	byLoad      []int // alive, undrained edges (indexes into Snapshot.Edges), least loaded first
	edgeIdx     map[string]int
	cdnIdx      map[string]int
}

// Stats is a summary of the engine's sessions, for metrics.
type Stats struct {
	Sessions   int
	PerPathway map[string]int
	Mbps       map[string]float64
	PerEdge    map[string]int // mesh sessions per edge id
	// ShiftBudget is how many sessions may still be moved for rebalancing
	// in the current interval.
	ShiftBudget int
	// OverNetworkCap counts, since the engine started, the new sessions
	// not remembered because their client network already held
	// Config.SessionsPerNetwork.
	OverNetworkCap uint64
}

// New returns an Engine. It does no I/O.
func New(cfg Config, deps Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, now: deps.Now, health: deps.Health, regionHealth: deps.RegionHealth, rnd: deps.Rand,
		sessions: newSessionTable(cfg.StickyTTL, cfg.MaxSessions, cfg.SessionsPerNetwork),
		cdnDrain: make(map[string]time.Time), edgeDrain: make(map[string]time.Time),
		shedding: make(map[string]bool),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rnd == nil {
		seed := uint64(time.Now().UnixNano())
		e.rnd = rand.New(rand.NewPCG(seed, seed>>17|1))
	}
	return e, nil
}

// Decide returns where c should fetch the event of s from, and records the
// session's assignment.
func (e *Engine) Decide(s Snapshot, c Client) Decision {
	d, _ := e.decide(&s, c, true)
	return d
}

// Stats returns a summary of the sessions the engine remembers.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sessions.expire(e.now())
	t := e.sessions
	st := Stats{Sessions: t.len(), PerPathway: make(map[string]int), Mbps: make(map[string]float64), PerEdge: make(map[string]int),
		ShiftBudget: e.budget, OverNetworkCap: t.overCap}
	for id, n := range t.count {
		st.PerPathway[id] = n
		st.Mbps[id] = t.mbps[id]
	}
	for id, n := range t.perEdge {
		st.PerEdge[id] = n
	}
	return st
}

// decide is Decide, or with commit false a dry run that leaves the
// session table as it was (Simulate).
func (e *Engine) decide(s *Snapshot, c Client, commit bool) (Decision, []candidate) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.viewOf(s, now)
	d := Decision{TTL: e.cfg.TTL, Reasons: make([]string, 0, 4)}
	a := clientAddr(c)
	d.Region, d.Scope = v.regions.lookup(a)
	if d.Region != "" {
		d.Reasons = append(d.Reasons, "region "+d.Region+" for "+a.String()+" (scope /"+strconv.Itoa(d.Scope)+")")
	} else {
		d.Reasons = append(d.Reasons, "no region for "+a.String())
	}
	if reason := blockReason(&s.Event, d.Region); reason != "" {
		d.Blocked, d.BlockReason = true, reason
		d.Reasons = append(d.Reasons, "blocked: "+reason)
		return d, nil
	}
	e.sessions.expire(now)
	if commit {
		e.roll(now)
	}
	dc := &decider{e: e, s: s, v: v, c: c, region: d.Region, now: now, commit: commit}
	dc.buildCandidates()
	ch := dc.assign()
	d.Reasons = append(d.Reasons, dc.reasons...)
	if ch.cand == nil {
		d.Reasons = append(d.Reasons, "no eligible pathway")
		return d, dc.cands
	}
	if ch.ttl > 0 && ch.ttl < d.TTL {
		d.TTL = ch.ttl
	}
	d.Pathways = dc.pathways(ch)
	return d, dc.cands
}

// roll starts a new rebalancing interval when the current one is over.
func (e *Engine) roll(now time.Time) {
	if !e.intervalStart.IsZero() && now.Sub(e.intervalStart) < e.cfg.Interval {
		return
	}
	e.intervalStart = now
	e.budget = int(e.cfg.MaxShiftPerInterval * float64(e.sessions.len()))
}

// viewOf returns the view of s, from the cache when its version matches.
// A new version also updates the drain clocks.
func (e *Engine) viewOf(s *Snapshot, now time.Time) *view {
	// The lengths guard against a caller reusing a version for a changed
	// snapshot: a stale view would then be wrong, but never index out of
	// range.
	if v := e.view; s.Version != 0 && v != nil && v.version == s.Version && v.edges == len(s.Edges) && v.cdns == len(s.CDNs) {
		return v
	}
	v := &view{
		version: s.Version, regions: newRegionTable(s.Regions), edges: len(s.Edges), cdns: len(s.CDNs),
		edgeIdx: make(map[string]int, len(s.Edges)), cdnIdx: make(map[string]int, len(s.CDNs)),
	}
	for i, ed := range s.Edges {
		v.edgeIdx[ed.ID] = i
		if ed.Alive && !ed.Drain && ed.Addr.IsValid() {
			v.byLoad = append(v.byLoad, i)
		}
	}
	slices.SortStableFunc(v.byLoad, func(a, b int) int {
		return cmp.Or(cmp.Compare(s.Edges[a].Load, s.Edges[b].Load), cmp.Compare(s.Edges[a].ID, s.Edges[b].ID))
	})
	for i, c := range s.CDNs {
		v.cdnIdx[c.ID] = i
	}
	trackDrains(e.cdnDrain, now, len(s.CDNs), func(i int) (string, bool) { return s.CDNs[i].ID, s.CDNs[i].State == CDNDraining })
	trackDrains(e.edgeDrain, now, len(s.Edges), func(i int) (string, bool) { return s.Edges[i].ID, s.Edges[i].Drain })
	if s.Version != 0 {
		e.view = v
	}
	return v
}

// trackDrains keeps since[id] = when id was first seen draining, for the
// n items that item describes, and forgets the others.
func trackDrains(since map[string]time.Time, now time.Time, n int, item func(int) (string, bool)) {
	draining := make(map[string]bool)
	for i := range n {
		if id, ok := item(i); ok {
			draining[id] = true
			if _, seen := since[id]; !seen {
				since[id] = now
			}
		}
	}
	for id := range since {
		if !draining[id] {
			delete(since, id)
		}
	}
}

// blockReason says why the event may not be played in region, or "".
func blockReason(ev *Event, region string) string {
	switch ev.State {
	case StateLive, StateRehearsal:
	case "":
		return fmt.Sprintf("event %s has no state, not live", ev.ID)
	default:
		return fmt.Sprintf("event %s is %s, not live", ev.ID, ev.State)
	}
	if region != "" && slices.Contains(ev.BlackoutRegions, region) {
		return fmt.Sprintf("region %s is blacked out for event %s", region, ev.ID)
	}
	if len(ev.AllowedRegions) > 0 && !slices.Contains(ev.AllowedRegions, region) {
		if region == "" {
			return fmt.Sprintf("client is in no known region; event %s is limited to %v", ev.ID, ev.AllowedRegions)
		}
		return fmt.Sprintf("region %s is not allowed for event %s (allowed: %v)", region, ev.ID, ev.AllowedRegions)
	}
	return ""
}
