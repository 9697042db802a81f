package telemetry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// MergerConfig tunes a Merger. Start from DefaultMergerConfig.
type MergerConfig struct {
	// MaxSeries bounds the mesh-wide series; more go to the overflow
	// series (OverflowLabel). Memory is about MaxSeries × (LongWindow
	// seconds × 0.26 KiB + up to ViewerWindow/SlotSeconds+2 sketches of at
	// most 16 KiB, sparse while small).
	MaxSeries int
	// SlotSeconds must be the Recorders' (deltas with another are refused).
	SlotSeconds int
	// ViewerWindow is how far back distinct sessions count as viewers,
	// rounded out to whole slots.
	ViewerWindow time.Duration
	// ShortWindow and LongWindow are the two windows of a View.
	ShortWindow, LongWindow time.Duration
	// NodeTTL forgets a node that has sent nothing for this long.
	NodeTTL time.Duration
	// MaxSkew refuses deltas stamped further ahead of the Merger's clock.
	MaxSkew time.Duration
}

// DefaultMergerConfig returns settings matching DefaultRecorderConfig.
func DefaultMergerConfig() MergerConfig {
	return MergerConfig{
		MaxSeries: 4096, SlotSeconds: 10, ViewerWindow: 30 * time.Second,
		ShortWindow: 10 * time.Second, LongWindow: 60 * time.Second,
		NodeTTL: 10 * time.Second, MaxSkew: 5 * time.Second,
	}
}

// Validate reports every problem in c at once.
func (c MergerConfig) Validate() error {
	var errs []error
	if c.MaxSeries < 1 || c.MaxSeries > 1<<20 {
		errs = append(errs, fmt.Errorf("telemetry: merger config: max_series: %d, must be 1..1048576", c.MaxSeries))
	}
	if c.SlotSeconds < 1 || c.SlotSeconds > 60 {
		errs = append(errs, fmt.Errorf("telemetry: merger config: slot_seconds: %d, must be 1..60", c.SlotSeconds))
	}
	if c.ViewerWindow < time.Second || c.ViewerWindow > 10*time.Minute {
		errs = append(errs, fmt.Errorf("telemetry: merger config: viewer_window: %v, must be 1s..10m", c.ViewerWindow))
	}
	if c.ShortWindow < time.Second || c.ShortWindow > c.LongWindow {
		errs = append(errs, fmt.Errorf("telemetry: merger config: short_window: %v, must be 1s..long_window", c.ShortWindow))
	}
	if c.LongWindow > 10*time.Minute {
		errs = append(errs, fmt.Errorf("telemetry: merger config: long_window: %v, must be at most 10m", c.LongWindow))
	}
	if c.NodeTTL < time.Second {
		errs = append(errs, fmt.Errorf("telemetry: merger config: node_ttl: %v, must be at least 1s", c.NodeTTL))
	}
	if c.MaxSkew < 0 {
		errs = append(errs, fmt.Errorf("telemetry: merger config: max_skew: %v, must not be negative", c.MaxSkew))
	}
	return errors.Join(errs...)
}

// Errors of Merger.Apply besides ErrDelta.
var (
	// ErrDuplicate: a delta whose sequence number was already applied.
	ErrDuplicate = errors.New("telemetry: duplicate delta")
	// ErrOutOfWindow: a delta stamped too far in the past (older than the
	// long window) or in the future (beyond MaxSkew), or with another slot
	// width.
	ErrOutOfWindow = errors.New("telemetry: delta out of window")
)

// Merger folds the deltas of many nodes into one mesh-wide view: per
// series, a ring of per-second counters over the long window and a ring of
// sketch slots over the viewer window. A node that stops reporting simply
// stops adding seconds: its last ones age out of the windows, and the node
// itself is forgotten after NodeTTL. Safe for concurrent use.
type Merger struct {
	cfg     MergerConfig
	now     func() time.Time
	ringLen int64
	slotLen int64

	mu       sync.Mutex
	nodes    map[string]*nodeState
	series   map[Labels]*mseries
	overflow uint64 // series refused for MaxSeries, since start
	lastGC   int64
}

type nodeState struct {
	epoch, seq uint64
	lastSeen   time.Time
	lastSecond int64
	applied    uint64
	rejected   uint64
	overflow   uint64
}

type mseries struct {
	labels Labels
	last   int64 // latest second with data
	secs   []secBucket
	slots  []slotSketch
}

type secBucket struct {
	sec int64
	c   [numCounters]uint64
	h   [numBuckets]uint64
}

type slotSketch struct {
	slot int64
	sk   Sketch
}

// NewMerger returns an empty Merger reading the time from now.
func NewMerger(cfg MergerConfig, now func() time.Time) (*Merger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		return nil, errors.New("telemetry: merger: no clock")
	}
	return &Merger{
		cfg: cfg, now: now,
		ringLen: int64(cfg.LongWindow/time.Second) + 2,
		slotLen: int64(cfg.ViewerWindow/time.Second)/int64(cfg.SlotSeconds) + 3,
		nodes:   make(map[string]*nodeState), series: make(map[Labels]*mseries),
	}, nil
}

// Apply decodes a delta received from nodeID (the authenticated peer) and
// merges it. The error wraps ErrDelta, ErrDuplicate or ErrOutOfWindow.
func (m *Merger) Apply(nodeID string, b []byte) error {
	d, err := DecodeDelta(b)
	if err != nil {
		m.reject(nodeID)
		return err
	}
	return m.ApplyDelta(nodeID, d)
}

func (m *Merger) reject(nodeID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.nodes[nodeID]; st != nil {
		st.rejected++
	}
}

// ApplyDelta merges a decoded delta from nodeID.
func (m *Merger) ApplyDelta(nodeID string, d *Delta) error {
	now := m.now()
	t := now.Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gc(t, now)
	st := m.nodes[nodeID]
	if st == nil {
		st = &nodeState{}
		m.nodes[nodeID] = st
	}
	st.lastSeen = now
	if d.Epoch != st.epoch {
		st.epoch, st.seq = d.Epoch, 0
	}
	if d.Seq <= st.seq {
		st.rejected++
		return fmt.Errorf("%w: node %q seq %d, last %d", ErrDuplicate, nodeID, d.Seq, st.seq)
	}
	st.seq = d.Seq
	maxSkew := int64(m.cfg.MaxSkew / time.Second)
	if d.SlotSeconds != uint32(m.cfg.SlotSeconds) || d.Second > t+maxSkew || d.Second <= t-m.ringLen+1 {
		st.rejected++
		return fmt.Errorf("%w: node %q second %d (now %d), slot width %d", ErrOutOfWindow, nodeID, d.Second, t, d.SlotSeconds)
	}
	st.applied++
	st.overflow += d.Overflow
	st.lastSecond = max(st.lastSecond, d.Second)
	minSlot := floorDiv(t-int64(m.cfg.ViewerWindow/time.Second), int64(m.cfg.SlotSeconds))
	maxSlot := floorDiv(t+maxSkew, int64(m.cfg.SlotSeconds))
	for i := range d.series {
		sd := &d.series[i]
		s := m.lookup(sd.labels)
		s.last = max(s.last, d.Second)
		b := &s.secs[mod(d.Second, m.ringLen)]
		if b.sec != d.Second {
			*b = secBucket{sec: d.Second}
		}
		for j, v := range sd.c {
			b.c[j] += v
		}
		for j, v := range sd.h {
			b.h[j] += v
		}
		if len(sd.regs) == 0 || sd.slot < minSlot || sd.slot > maxSlot {
			continue
		}
		ss := &s.slots[mod(sd.slot, m.slotLen)]
		if ss.slot != sd.slot {
			if ss.slot > sd.slot {
				continue
			}
			ss.slot = sd.slot
			ss.sk.Reset()
		}
		for _, e := range sd.regs {
			ss.sk.set(e>>8, uint8(e))
		}
	}
	return nil
}

func (m *Merger) lookup(l Labels) *mseries {
	if s := m.series[l]; s != nil {
		return s
	}
	if len(m.series) >= m.cfg.MaxSeries {
		m.overflow++
		l = Labels{OverflowLabel, OverflowLabel, OverflowLabel, OverflowLabel}
		if s := m.series[l]; s != nil {
			return s
		}
	}
	s := &mseries{labels: l, secs: make([]secBucket, m.ringLen), slots: make([]slotSketch, m.slotLen)}
	for i := range s.secs {
		s.secs[i].sec = -1
	}
	for i := range s.slots {
		s.slots[i].slot = -1 << 62
	}
	m.series[l] = s
	return s
}

// gc forgets silent nodes and series without data in the long window, at
// most once a second.
func (m *Merger) gc(t int64, now time.Time) {
	if t == m.lastGC {
		return
	}
	m.lastGC = t
	for id, st := range m.nodes {
		if now.Sub(st.lastSeen) > m.cfg.NodeTTL {
			delete(m.nodes, id)
		}
	}
	for l, s := range m.series {
		if s.last < t-m.ringLen-int64(m.cfg.ViewerWindow/time.Second) {
			delete(m.series, l)
		}
	}
}

// NodeStatus is what the Merger knows of one reporting node.
type NodeStatus struct {
	ID         string    `json:"id"`
	LastSeen   time.Time `json:"last_seen"`
	LastSecond int64     `json:"last_second"` // newest second it reported
	Applied    uint64    `json:"applied"`     // deltas merged
	Rejected   uint64    `json:"rejected"`    // deltas refused (bad, duplicate, out of window)
	Overflow   uint64    `json:"overflow"`    // observations it could not give a series
}

// Nodes returns the nodes heard from within NodeTTL, sorted by id.
func (m *Merger) Nodes() []NodeStatus {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]NodeStatus, 0, len(m.nodes))
	for id, st := range m.nodes {
		if now.Sub(st.lastSeen) > m.cfg.NodeTTL {
			continue
		}
		out = append(out, NodeStatus{ID: id, LastSeen: st.lastSeen, LastSecond: st.lastSecond,
			Applied: st.applied, Rejected: st.rejected, Overflow: st.overflow})
	}
	slices.SortFunc(out, func(a, b NodeStatus) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Series returns the number of mesh-wide series held, and how many were
// refused for MaxSeries since the start.
func (m *Merger) Series() (held int, overflow uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.series), m.overflow
}

func mod(a, n int64) int64 {
	r := a % n
	if r < 0 {
		r += n
	}
	return r
}
