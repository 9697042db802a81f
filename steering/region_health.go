package steering

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// RegionHealthView says whether a CDN is down in one region only (the
// viewers' telemetry there), besides what HealthView says about it
// everywhere. A CDN down in a region takes no new session of that region,
// and that region's sessions leave it at their next decision; the other
// regions keep it.
type RegionHealthView interface {
	DownIn(id, region string) bool
}

// RegionDown is the set of (CDN, region) pairs that are down: a
// RegionHealthView whose owner feeds it states that already went through
// hysteresis (telemetry.HealthTracker). Safe for concurrent use.
type RegionDown struct {
	mu   sync.RWMutex
	down map[regionKey]bool
	// gen counts changes, so answers derived from the set (the DNS plan)
	// know when to be rebuilt.
	gen atomic.Uint64
}

type regionKey struct{ id, region string }

// NewRegionDown returns an empty set: every CDN up in every region.
func NewRegionDown() *RegionDown { return &RegionDown{down: map[regionKey]bool{}} }

// Set marks id down (or up again) in region and reports whether that
// changed the set.
func (r *RegionDown) Set(id, region string, down bool) bool {
	k := regionKey{id, region}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down[k] == down {
		return false
	}
	if down {
		r.down[k] = true
	} else {
		delete(r.down, k)
	}
	r.gen.Add(1)
	return true
}

// DownIn reports whether id is down in region.
func (r *RegionDown) DownIn(id, region string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.down[regionKey{id, region}]
}

// Generation changes whenever the set changes.
func (r *RegionDown) Generation() uint64 { return r.gen.Load() }

// RegionDownEntry is one CDN down in one region.
type RegionDownEntry struct {
	ID     string `json:"id"`
	Region string `json:"region"`
}

// List returns the pairs that are down, sorted.
func (r *RegionDown) List() []RegionDownEntry {
	r.mu.RLock()
	out := make([]RegionDownEntry, 0, len(r.down))
	for k := range r.down {
		out = append(out, RegionDownEntry{ID: k.id, Region: k.region})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b RegionDownEntry) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Region, b.Region)
	})
	return out
}

var _ RegionHealthView = (*RegionDown)(nil)
