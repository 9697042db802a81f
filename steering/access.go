package steering

import "net/netip"

// Regions finds a client address's region the way Decide does (longest
// prefix match over the regions' networks), for servers that re-check an
// event's region rules on each request without running the engine.
type Regions struct {
	t regionTable
}

// NewRegions indexes regions; it keeps no reference to them.
func NewRegions(regions []Region) *Regions {
	return &Regions{t: newRegionTable(regions)}
}

// Of returns the region of addr, "" for none (or a nil Regions).
func (r *Regions) Of(addr netip.Addr) string {
	if r == nil || !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap()
	for _, c := range r.t.cidrs {
		if c.prefix.Contains(addr) {
			return c.region
		}
	}
	return ""
}

// BlockReason says why ev may not be played by a client in region (a
// state that is not live or rehearsal, a blackout, a region not allowed),
// or "": the rule Decide blocks by.
func BlockReason(ev *Event, region string) string { return blockReason(ev, region) }
