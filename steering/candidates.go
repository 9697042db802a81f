package steering

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// candidate is one pathway as seen for one decision.
type candidate struct {
	id, kind string
	weight   int
	cdn      *CDN // nil for the mesh
	// keep: sessions on it may stay. fresh: it takes new sessions. full:
	// it would take new sessions but is at capacity (CDN) or every edge is
	// at high water (mesh); used only when nothing is fresh.
	keep, fresh, full bool
	draining          bool
	drainSince        time.Time
	why               string // state, or why it is not eligible
	// mesh only: alive, undrained edges with the client's region first,
	// then by load (ranked), and those of them below high water (open).
	ranked, open []int
}

// decider holds one decision in the making.
type decider struct {
	e       *Engine
	s       *Snapshot
	v       *view
	c       Client
	region  string
	now     time.Time
	cands   []candidate
	reasons []string
	commit  bool // false for Simulate: change no engine state
}

func (d *decider) reason(format string, args ...any) {
	d.reasons = append(d.reasons, fmt.Sprintf(format, args...))
}

// buildCandidates lists the mesh and every CDN with their eligibility,
// in priority order: weight, then the mesh, then id.
func (d *decider) buildCandidates() {
	d.cands = make([]candidate, 0, 1+len(d.s.CDNs))
	d.cands = append(d.cands, d.meshCandidate())
	for i := range d.s.CDNs {
		d.cands = append(d.cands, d.cdnCandidate(&d.s.CDNs[i]))
	}
	slices.SortStableFunc(d.cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(b2i(b.kind == KindMesh), b2i(a.kind == KindMesh)), cmp.Compare(a.id, b.id))
	})
	for _, c := range d.cands {
		if !c.fresh {
			d.reason("%s: %s", c.id, c.why)
		}
	}
}

func (d *decider) meshCandidate() candidate {
	c := candidate{id: MeshID, kind: KindMesh, weight: d.e.cfg.MeshWeight}
	edges := d.s.Edges
	c.ranked = make([]int, 0, len(d.v.byLoad))
	for _, local := range []bool{true, false} {
		for _, i := range d.v.byLoad {
			if (edges[i].Region == d.region && d.region != "") == local {
				c.ranked = append(c.ranked, i)
			}
		}
	}
	c.open = make([]int, 0, len(c.ranked))
	for _, i := range c.ranked {
		if edges[i].Load < d.e.cfg.HighWater {
			c.open = append(c.open, i)
		}
	}
	switch {
	case len(c.ranked) == 0:
		c.why = "no live, undrained edge"
	case len(c.open) == 0:
		c.keep, c.full = true, true
		c.why = fmt.Sprintf("every edge at or above high water %.2f", d.e.cfg.HighWater)
	default:
		c.keep, c.fresh = true, true
		c.why = "open"
		if !d.commit { // only Simulate shows it
			c.why = fmt.Sprintf("%d of %d edges open", len(c.open), len(c.ranked))
		}
	}
	return c
}

func (d *decider) cdnCandidate(cdn *CDN) candidate {
	c := candidate{id: cdn.ID, kind: KindCDN, weight: cdn.Weight, cdn: cdn}
	switch {
	case !ValidPathwayID(cdn.ID) || cdn.ID == MeshID:
		c.why = "invalid pathway id"
	case d.e.health != nil && !d.e.health.Up(cdn.ID):
		c.why = "unhealthy"
	case d.region != "" && d.e.regionHealth != nil && d.e.regionHealth.DownIn(cdn.ID, d.region):
		c.why = "unhealthy in region " + d.region + " (viewers' telemetry)"
	case cdn.State == CDNDisabled:
		c.why = "disabled"
	case cdn.State == CDNDraining:
		c.keep, c.draining = true, true
		c.drainSince = d.e.cdnDrain[cdn.ID]
		c.why = "draining: no new sessions"
	case cdn.State != CDNActive:
		c.why = fmt.Sprintf("unknown state %q", cdn.State)
	case cdn.Weight < 0:
		c.why = "negative weight"
	default:
		c.keep = true
		load := d.e.sessions.mbps[cdn.ID]
		if cdn.CapacityMbps > 0 && load+d.mbps() > float64(cdn.CapacityMbps) {
			c.full = true
			c.why = fmt.Sprintf("at capacity: %.0f of %d Mbps", load, cdn.CapacityMbps)
		} else {
			c.fresh = true
			c.why = "active"
		}
	}
	return c
}

// mbps is the estimated bitrate of the client's session.
func (d *decider) mbps() float64 {
	if d.c.Mbps > 0 {
		return d.c.Mbps
	}
	return d.e.cfg.SessionMbps
}

func (d *decider) find(id string) *candidate {
	for i := range d.cands {
		if d.cands[i].id == id {
			return &d.cands[i]
		}
	}
	return nil
}

// ValidPathwayID reports whether id can be an HLS pathway id or a DASH
// service location: one or more of [A-Za-z0-9._-].
func ValidPathwayID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
