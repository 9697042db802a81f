package telemetry

import (
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RecorderConfig tunes a Recorder. Start from DefaultRecorderConfig.
type RecorderConfig struct {
	// MaxSeries bounds the series (event × region × pathway × rendition)
	// kept at once; observations for more go to one overflow series
	// labelled OverflowLabel and are counted in Delta.Overflow. Memory is
	// about MaxSeries × (18 KiB of sketch + Stripes × 256 B).
	MaxSeries int
	// MaxLabelLen bounds each label; an observation with a longer one goes
	// to the overflow series.
	MaxLabelLen int
	// Stripes spreads the counters of a series over this many cache lines
	// (a power of two) so that concurrent requests rarely write the same
	// one. 0 picks GOMAXPROCS rounded up, at most 16.
	Stripes int
	// SlotSeconds is the width of a sketch slot: sessions are counted per
	// slot, and the Merger unions the slots of the last ViewerWindow. Must
	// be the Merger's.
	SlotSeconds int
	// IdleDeltas drops a series after this many deltas without a request,
	// freeing its place and its sketch.
	IdleDeltas int
	// Epoch identifies this run of the node, so that a Merger accepts a
	// restarted node's sequence numbers from 1 again. Pass a random
	// number; zero is refused.
	Epoch uint64
}

// OverflowLabel labels the overflow series.
const OverflowLabel = "_other"

// DefaultRecorderConfig returns settings for an edge; set Epoch.
func DefaultRecorderConfig() RecorderConfig {
	return RecorderConfig{MaxSeries: 1024, MaxLabelLen: 64, SlotSeconds: 10, IdleDeltas: 60}
}

// Validate reports every problem in c at once.
func (c RecorderConfig) Validate() error {
	var errs []error
	if c.MaxSeries < 1 || c.MaxSeries > 1<<16 {
		errs = append(errs, fmt.Errorf("telemetry: recorder config: max_series: %d, must be 1..65536", c.MaxSeries))
	}
	if c.MaxLabelLen < 1 || c.MaxLabelLen > 255 {
		errs = append(errs, fmt.Errorf("telemetry: recorder config: max_label_len: %d, must be 1..255", c.MaxLabelLen))
	}
	if c.Stripes < 0 || c.Stripes > 256 || c.Stripes&(c.Stripes-1) != 0 {
		errs = append(errs, fmt.Errorf("telemetry: recorder config: stripes: %d, must be 0 or a power of two up to 256", c.Stripes))
	}
	if c.SlotSeconds < 1 || c.SlotSeconds > 60 {
		errs = append(errs, fmt.Errorf("telemetry: recorder config: slot_seconds: %d, must be 1..60", c.SlotSeconds))
	}
	if c.IdleDeltas < 1 {
		errs = append(errs, fmt.Errorf("telemetry: recorder config: idle_deltas: %d, must be at least 1", c.IdleDeltas))
	}
	if c.Epoch == 0 {
		errs = append(errs, errors.New("telemetry: recorder config: epoch: must be a non-zero random number"))
	}
	return errors.Join(errs...)
}

// Observation is one served request: its labels, its CMCD and what the
// edge measured. The Recorder copies nothing from it unless the labels
// name a new series.
type Observation struct {
	Event, Region, Pathway, Rendition []byte
	// CMCD is the request's CMCD, or nil.
	CMCD *CMCD
	// CMCDInvalid marks a request whose CMCD did not parse (it is still
	// counted, without CMCD).
	CMCDInvalid bool
	// Status is the HTTP status sent, 0 when the response failed before
	// one (timeout, reset).
	Status int
	// TTFB and Duration are measured by the edge from the request's
	// arrival to the first and the last byte sent.
	TTFB, Duration time.Duration
	// Bytes is the body bytes sent.
	Bytes int64
}

// Recorder aggregates a node's observations per series and cuts a Delta
// every second. Record is safe for many goroutines at once, lock-free and
// allocation-free once a series exists; Delta is called by one goroutine
// (concurrent calls are serialized).
type Recorder struct {
	cfg        RecorderConfig
	stripeMask uint32

	// table is the series by key, read without locks: a new series
	// publishes a new copy of the map (series are created rarely and at
	// most MaxSeries of them are live).
	table    atomic.Pointer[map[string]*series]
	mu       sync.Mutex // serializes table writers
	overflow *series
	dropped  atomic.Uint64 // observations routed to overflow since the last delta

	deltaMu sync.Mutex
	seq     uint64
	// retired are series dropped from the table, drained by a few more
	// deltas so that a request that found one just before it was dropped
	// is still counted.
	retired []retiredSeries
}

type retiredSeries struct {
	s    *series
	left int // deltas that still drain it
}

// retireDeltas is how many deltas drain a dropped series.
const retireDeltas = 3

// series is one label combination's accumulators.
type series struct {
	labels  Labels
	stripes []stripe
	regs    atomic.Pointer[registers] // allocated on the first session id
	active  atomic.Bool               // a request since the last delta

	// Owned by Delta (deltaMu).
	slot int64 // sketch slot the registers belong to; -1 before the first
	idle int   // deltas in a row without a request
}

// stripe is one cache-line-aligned share of a series' counters.
type stripe struct {
	c [numCounters]atomic.Uint64
	h [numBuckets]atomic.Uint64
	_ [(64 - (numCounters+numBuckets)*8%64) % 64]byte
}

// NewRecorder returns an empty Recorder.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Stripes == 0 {
		cfg.Stripes = min(16, 1<<bits.Len(uint(runtime.GOMAXPROCS(0)-1)))
	}
	r := &Recorder{cfg: cfg, stripeMask: uint32(cfg.Stripes - 1)}
	r.overflow = r.newSeries(Labels{OverflowLabel, OverflowLabel, OverflowLabel, OverflowLabel})
	empty := map[string]*series{}
	r.table.Store(&empty)
	return r, nil
}

func (r *Recorder) newSeries(l Labels) *series {
	return &series{labels: l, stripes: make([]stripe, r.cfg.Stripes), slot: -1}
}

// Record adds one observation. For a request with CMCD:
//   - a startup is a v2 report of its media start delay (msd, the startup
//     time), or, from a v1 player, a video or muxed request flagged su
//     with an empty buffer (bl absent or 0), timed by the edge's Duration;
//   - a rebuffer is a media request flagged bs; v2's bsd adds stall time;
//   - the session id goes into the series' sketch.
func (r *Recorder) Record(o *Observation) {
	s := r.lookup(o)
	if !s.active.Load() {
		s.active.Store(true)
	}
	st := &s.stripes[rand.Uint32()&r.stripeMask]
	st.c[cRequests].Add(1)
	if o.Bytes > 0 {
		st.c[cBytes].Add(uint64(o.Bytes))
	}
	if o.Duration > 0 {
		st.c[cDurationUs].Add(uint64(o.Duration.Microseconds()))
	}
	if o.TTFB > 0 {
		st.c[cTTFBUs].Add(uint64(o.TTFB.Microseconds()))
	}
	switch {
	case o.Status >= 200 && o.Status < 300:
		st.c[c2xx].Add(1)
	case o.Status >= 300 && o.Status < 400:
		st.c[c3xx].Add(1)
	case o.Status >= 400 && o.Status < 500:
		st.c[c4xx].Add(1)
	case o.Status >= 500 && o.Status < 600:
		st.c[c5xx].Add(1)
	default:
		st.c[cFailed].Add(1)
	}
	if o.CMCDInvalid {
		st.c[cCMCDInvalid].Add(1)
	}
	c := o.CMCD
	if c == nil || c.Has == 0 {
		return
	}
	st.c[cCMCD].Add(1)
	media := c.OT.Media()
	if media {
		st.c[cMedia].Add(1)
		if c.BS {
			st.c[cRebuffers].Add(1)
		}
		if c.D > 0 {
			st.c[cPlayedMs].Add(uint64(c.D))
		}
		if c.BR > 0 {
			st.c[cBitrateKbps].Add(uint64(c.BR))
			st.c[cBitrateN].Add(1)
		}
	}
	if c.BSD > 0 {
		st.c[cStallMs].Add(uint64(c.BSD))
	}
	if c.MTP > 0 {
		st.c[cMTPKbps].Add(uint64(c.MTP))
		st.c[cMTPN].Add(1)
	}
	switch {
	case c.Has&HasMSD != 0 && c.MSD >= 0:
		st.c[cStartups].Add(1)
		st.h[startupBucket(c.MSD)].Add(1)
	case c.V < 2 && c.SU && c.BL == 0 && (c.OT == OTVideo || c.OT == OTMuxed || c.OT == OTUnknown):
		st.c[cStartups].Add(1)
		st.h[startupBucket(o.Duration.Milliseconds())].Add(1)
	}
	if len(c.SID) > 0 {
		regs := s.regs.Load()
		if regs == nil {
			regs = new(registers)
			if !s.regs.CompareAndSwap(nil, regs) {
				regs = s.regs.Load()
			}
		}
		regs.add(Hash64(c.SID))
	}
}

// lookup finds or creates the series of o's labels.
func (r *Recorder) lookup(o *Observation) *series {
	max := r.cfg.MaxLabelLen
	if len(o.Event) > max || len(o.Region) > max || len(o.Pathway) > max || len(o.Rendition) > max {
		r.dropped.Add(1)
		return r.overflow
	}
	var buf [4 * 256]byte
	key := appendKey(buf[:0], o.Event, o.Region, o.Pathway, o.Rendition)
	if s := (*r.table.Load())[string(key)]; s != nil {
		return s
	}
	return r.create(key, o)
}

// appendKey joins the labels with length prefixes (labels may hold any
// byte).
func appendKey(b []byte, labels ...[]byte) []byte {
	for _, l := range labels {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return b
}

func (r *Recorder) create(key []byte, o *Observation) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.table.Load()
	if s := old[string(key)]; s != nil {
		return s
	}
	if len(old) >= r.cfg.MaxSeries {
		r.dropped.Add(1)
		return r.overflow
	}
	s := r.newSeries(Labels{string(o.Event), string(o.Region), string(o.Pathway), string(o.Rendition)})
	m := make(map[string]*series, len(old)+1)
	maps.Copy(m, old)
	m[string(key)] = s
	r.table.Store(&m)
	return s
}

// Series returns the number of live series, the overflow series aside.
func (r *Recorder) Series() int { return len(*r.table.Load()) }

// Delta returns what was recorded since the previous call, stamped with
// the second that just ended: call it once a second (a late or early tick
// is harmless; two calls within one second add up). now decides the
// second and the sketch slot; the clock is the caller's.
func (r *Recorder) Delta(now time.Time) *Delta {
	r.deltaMu.Lock()
	defer r.deltaMu.Unlock()
	sec := now.Add(-time.Second / 2).Unix()
	slot := floorDiv(sec, int64(r.cfg.SlotSeconds))
	r.seq++
	d := &Delta{
		Epoch: r.cfg.Epoch, Seq: r.seq, Second: sec, SlotSeconds: uint32(r.cfg.SlotSeconds),
		Overflow: r.dropped.Swap(0),
	}
	var idle []*series
	tbl := *r.table.Load()
	all := make([]*series, 0, len(tbl)+1)
	for _, s := range tbl {
		all = append(all, s)
	}
	all = append(all, r.overflow)
	for _, s := range all {
		sd, ok := r.drain(s, slot)
		if ok {
			d.series = append(d.series, sd)
		}
		if s.active.Swap(false) {
			s.idle = 0
		} else if s.idle++; s.idle >= r.cfg.IdleDeltas && s != r.overflow {
			idle = append(idle, s)
		}
	}
	kept := r.retired[:0]
	for _, rs := range r.retired {
		if sd, ok := r.drain(rs.s, slot); ok {
			d.series = append(d.series, sd)
		}
		if rs.left--; rs.left > 0 {
			kept = append(kept, rs)
		}
	}
	r.retired = kept
	slices.SortFunc(d.series, func(a, b seriesDelta) int { return compareLabels(a.labels, b.labels) })
	r.forget(idle)
	for _, s := range idle {
		r.retired = append(r.retired, retiredSeries{s: s, left: retireDeltas})
	}
	return d
}

// drain empties one series' counters and changed registers.
func (r *Recorder) drain(s *series, slot int64) (seriesDelta, bool) {
	sd := seriesDelta{labels: s.labels}
	any := false
	for i := range s.stripes {
		st := &s.stripes[i]
		for j := range st.c {
			if v := st.c[j].Load(); v != 0 {
				sd.c[j] += st.c[j].Swap(0)
				any = true
			}
		}
		for j := range st.h {
			if v := st.h[j].Load(); v != 0 {
				sd.h[j] += st.h[j].Swap(0)
			}
		}
	}
	if regs := s.regs.Load(); regs != nil {
		if s.slot < 0 {
			s.slot = slot
		}
		sd.slot = s.slot
		sd.regs = regs.drain(sd.regs)
		if len(sd.regs) > 0 {
			any = true
		}
		if slot != s.slot { // a new slot: start counting sessions afresh
			regs.clear()
			s.slot = slot
		}
	}
	return sd, any
}

// forget drops idle series from the table. A request racing with it may
// still land in a dropped series: the next retireDeltas deltas drain it.
func (r *Recorder) forget(idle []*series) {
	if len(idle) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	drop := make(map[*series]bool, len(idle))
	for _, s := range idle {
		drop[s] = true
	}
	old := *r.table.Load()
	m := make(map[string]*series, len(old))
	for k, s := range old {
		if !drop[s] {
			m[k] = s
		}
	}
	r.table.Store(&m)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
