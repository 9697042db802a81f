package telemetry

import (
	"cmp"
	"slices"
	"time"
)

// Grouping selects the labels a View groups by; labels left out are
// summed over (and sessions unioned over: a viewer switching renditions
// counts once).
type Grouping uint8

// Labels to group by.
const (
	ByEvent Grouping = 1 << iota
	ByRegion
	ByPathway
	ByRendition
	ByAll = ByEvent | ByRegion | ByPathway | ByRendition
)

// Query selects and groups series. An empty filter matches every value.
type Query struct {
	Event, Region, Pathway, Rendition string
	By                                Grouping
}

func (q *Query) match(l Labels) bool {
	return (q.Event == "" || q.Event == l.Event) && (q.Region == "" || q.Region == l.Region) &&
		(q.Pathway == "" || q.Pathway == l.Pathway) && (q.Rendition == "" || q.Rendition == l.Rendition)
}

func (g Grouping) key(l Labels) Labels {
	var k Labels
	if g&ByEvent != 0 {
		k.Event = l.Event
	}
	if g&ByRegion != 0 {
		k.Region = l.Region
	}
	if g&ByPathway != 0 {
		k.Pathway = l.Pathway
	}
	if g&ByRendition != 0 {
		k.Rendition = l.Rendition
	}
	return k
}

// Row is one group of a View.
type Row struct {
	Labels
	// Viewers is the number of distinct sessions seen in the viewer window
	// (HyperLogLog, 0.8% standard error).
	Viewers uint64 `json:"viewers"`
	Short   Stats  `json:"short"` // the last ShortWindow seconds (10 s)
	Long    Stats  `json:"long"`  // the last LongWindow seconds (60 s)
}

// Stats are a group's figures over a window of whole seconds, ending with
// the second before the current one (the current one is still arriving).
// Ratios are 0 when their denominator is.
type Stats struct {
	Seconds           int     `json:"seconds"`
	Requests          uint64  `json:"requests"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	Bytes             uint64  `json:"bytes"`
	Startups          uint64  `json:"startups"`
	StartupP50Ms      float64 `json:"startup_p50_ms"`
	StartupP90Ms      float64 `json:"startup_p90_ms"`
	Rebuffers         uint64  `json:"rebuffers"`
	// RebufferRatio is the share of media requests flagged bs (the
	// player starved since its previous request).
	RebufferRatio float64 `json:"rebuffer_ratio"`
	// StallRatio is reported stall time (v2 bsd) over stall plus played
	// media time (d of media requests); 0 from v1 players.
	StallRatio float64 `json:"stall_ratio"`
	// ErrorRate is the share of requests answered 5xx or not answered;
	// the three rates split requests by class.
	ErrorRate  float64 `json:"error_rate"`
	Rate4xx    float64 `json:"rate_4xx"`
	Rate5xx    float64 `json:"rate_5xx"`
	RateFailed float64 `json:"rate_failed"`
	// BitrateKbps is the mean encoded bitrate (br) of media requests.
	BitrateKbps float64 `json:"bitrate_kbps"`
	// ThroughputKbps is measured by the edges (bytes over response time);
	// ClientThroughputKbps is the players' mean mtp.
	ThroughputKbps       float64 `json:"throughput_kbps"`
	ClientThroughputKbps float64 `json:"client_throughput_kbps"`
	TTFBMs               float64 `json:"ttfb_ms"`
	// CMCDShare is the share of requests that carried CMCD.
	CMCDShare float64 `json:"cmcd_share"`
}

// window sums one series' seconds in [from, to].
type window struct {
	c [numCounters]uint64
	h [numBuckets]uint64
}

func (w *window) add(s *mseries, from, to int64) {
	for i := range s.secs {
		b := &s.secs[i]
		if b.sec < from || b.sec > to {
			continue
		}
		for j, v := range b.c {
			w.c[j] += v
		}
		for j, v := range b.h {
			w.h[j] += v
		}
	}
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (w *window) stats(seconds int) Stats {
	c := &w.c
	st := Stats{
		Seconds: seconds, Requests: c[cRequests], Bytes: c[cBytes], Startups: c[cStartups],
		Rebuffers:         c[cRebuffers],
		RequestsPerSecond: float64(c[cRequests]) / float64(seconds),
		StartupP50Ms:      float64(quantile(&w.h, 0.5)) / float64(time.Millisecond),
		StartupP90Ms:      float64(quantile(&w.h, 0.9)) / float64(time.Millisecond),
		RebufferRatio:     ratio(c[cRebuffers], c[cMedia]),
		StallRatio:        ratio(c[cStallMs], c[cStallMs]+c[cPlayedMs]),
		ErrorRate:         ratio(c[c5xx]+c[cFailed], c[cRequests]),
		Rate4xx:           ratio(c[c4xx], c[cRequests]),
		Rate5xx:           ratio(c[c5xx], c[cRequests]),
		RateFailed:        ratio(c[cFailed], c[cRequests]),
		BitrateKbps:       ratio(c[cBitrateKbps], c[cBitrateN]),
		// bits per µs is Mbit/s; ×1000 for kbit/s.
		ThroughputKbps:       1000 * ratio(8*c[cBytes], c[cDurationUs]),
		ClientThroughputKbps: ratio(c[cMTPKbps], c[cMTPN]),
		TTFBMs:               ratio(c[cTTFBUs], c[cRequests]) / 1000,
		CMCDShare:            ratio(c[cCMCD], c[cRequests]),
	}
	return st
}

// group accumulates the series of one Row.
type group struct {
	short, long window
	viewers     Sketch
}

// View returns one Row per group of the series q selects, sorted by
// labels. Windows end with the second before the Merger's now.
func (m *Merger) View(q Query) []Row {
	t := m.now().Unix()
	last := t - 1
	shortS := int64(m.cfg.ShortWindow / time.Second)
	longS := int64(m.cfg.LongWindow / time.Second)
	m.mu.Lock()
	defer m.mu.Unlock()
	groups := map[Labels]*group{}
	for l, s := range m.series {
		if !q.match(l) {
			continue
		}
		k := q.By.key(l)
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
		}
		g.short.add(s, last-shortS+1, last)
		g.long.add(s, last-longS+1, last)
		m.unionViewers(&g.viewers, s, last)
	}
	rows := make([]Row, 0, len(groups))
	for k, g := range groups {
		rows = append(rows, Row{
			Labels: k, Viewers: g.viewers.Estimate(),
			Short: g.short.stats(int(shortS)), Long: g.long.stats(int(longS)),
		})
	}
	slices.SortFunc(rows, func(a, b Row) int { return compareLabels(a.Labels, b.Labels) })
	return rows
}

// unionViewers merges into dst the slots of s that overlap the viewer
// window ending with second last.
func (m *Merger) unionViewers(dst *Sketch, s *mseries, last int64) {
	from := floorDiv(last-int64(m.cfg.ViewerWindow/time.Second)+1, int64(m.cfg.SlotSeconds))
	to := floorDiv(last, int64(m.cfg.SlotSeconds))
	for i := range s.slots {
		ss := &s.slots[i]
		if ss.slot >= from && ss.slot <= to {
			dst.Merge(&ss.sk)
		}
	}
}

// HealthKey names the target of a health signal: one pathway (the mesh or
// a CDN) in one region.
type HealthKey struct {
	Pathway string `json:"pathway"`
	Region  string `json:"region"`
}

// IntervalStats are one (pathway, region)'s figures over one interval,
// the input of the health state machine.
type IntervalStats struct {
	Requests  uint64 `json:"requests"`
	Errors    uint64 `json:"errors"` // 5xx and failed responses
	Media     uint64 `json:"media"`  // media requests with CMCD
	Rebuffers uint64 `json:"rebuffers"`
	Sessions  uint64 `json:"sessions"` // distinct sessions in the viewer window
}

// HealthInput is the interval stats of one HealthKey.
type HealthInput struct {
	HealthKey
	IntervalStats
}

// HealthInputs returns, per (pathway, region) over all events and
// renditions, the stats of the interval of the given whole seconds that
// ends with the second before now; call it once per interval and feed a
// HealthTracker.
func (m *Merger) HealthInputs(interval time.Duration) []HealthInput {
	n := max(int64(interval/time.Second), 1)
	last := m.now().Unix() - 1
	m.mu.Lock()
	defer m.mu.Unlock()
	type acc struct {
		w  window
		sk Sketch
	}
	groups := map[HealthKey]*acc{}
	for l, s := range m.series {
		k := HealthKey{Pathway: l.Pathway, Region: l.Region}
		a := groups[k]
		if a == nil {
			a = &acc{}
			groups[k] = a
		}
		a.w.add(s, last-n+1, last)
		m.unionViewers(&a.sk, s, last)
	}
	out := make([]HealthInput, 0, len(groups))
	for k, a := range groups {
		c := &a.w.c
		out = append(out, HealthInput{HealthKey: k, IntervalStats: IntervalStats{
			Requests: c[cRequests], Errors: c[c5xx] + c[cFailed], Media: c[cMedia],
			Rebuffers: c[cRebuffers], Sessions: a.sk.Estimate(),
		}})
	}
	slices.SortFunc(out, func(a, b HealthInput) int {
		return cmp.Or(cmp.Compare(a.Pathway, b.Pathway), cmp.Compare(a.Region, b.Region))
	})
	return out
}
