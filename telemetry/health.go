package telemetry

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// HealthConfig sets when interval stats make a target bad and the
// hysteresis between up and down.
type HealthConfig struct {
	// MaxErrorRate: an interval whose share of 5xx and failed responses
	// is above this is bad.
	MaxErrorRate float64
	// MaxRebufferRatio: an interval whose share of media requests flagged
	// bs is above this is bad (when at least MinMedia of them carried
	// CMCD).
	MaxRebufferRatio float64
	// MinRequests and MinSessions: an interval with fewer requests or
	// sessions says nothing (a few requests must not move a region).
	MinRequests uint64
	MinSessions uint64
	// MinMedia is the media requests with CMCD below which the rebuffer
	// ratio is not judged.
	MinMedia uint64
	// DownAfter bad intervals in a row take an up target down; UpAfter
	// good intervals in a row bring it back. Intervals without enough data
	// neither count nor break a streak.
	DownAfter, UpAfter int
}

// DefaultHealthConfig: down after 3 bad intervals (of 2 s: 6 s), up after
// 5 good ones; bad is above 5% errors or 10% rebuffering, judged from 50
// requests and 5 sessions.
func DefaultHealthConfig() HealthConfig {
	return HealthConfig{
		MaxErrorRate: 0.05, MaxRebufferRatio: 0.10,
		MinRequests: 50, MinSessions: 5, MinMedia: 20,
		DownAfter: 3, UpAfter: 5,
	}
}

// Validate reports every problem in c at once.
func (c HealthConfig) Validate() error {
	var errs []error
	if c.MaxErrorRate <= 0 || c.MaxErrorRate >= 1 {
		errs = append(errs, fmt.Errorf("telemetry: health config: max_error_rate: %v, must be in (0, 1)", c.MaxErrorRate))
	}
	if c.MaxRebufferRatio <= 0 || c.MaxRebufferRatio >= 1 {
		errs = append(errs, fmt.Errorf("telemetry: health config: max_rebuffer_ratio: %v, must be in (0, 1)", c.MaxRebufferRatio))
	}
	if c.MinRequests < 1 {
		errs = append(errs, fmt.Errorf("telemetry: health config: min_requests: %d, must be at least 1", c.MinRequests))
	}
	if c.DownAfter < 1 {
		errs = append(errs, fmt.Errorf("telemetry: health config: down_after: %d, must be at least 1", c.DownAfter))
	}
	if c.UpAfter < 1 {
		errs = append(errs, fmt.Errorf("telemetry: health config: up_after: %d, must be at least 1", c.UpAfter))
	}
	return errors.Join(errs...)
}

// Verdict is what one interval says about a target.
type Verdict uint8

// Verdicts.
const (
	NoData Verdict = iota // too few requests or sessions to judge
	Good
	Bad
)

// Judge classifies one interval.
func (c HealthConfig) Judge(s IntervalStats) Verdict {
	if s.Requests < c.MinRequests || s.Sessions < c.MinSessions {
		return NoData
	}
	if ratio(s.Errors, s.Requests) > c.MaxErrorRate {
		return Bad
	}
	if s.Media >= max(c.MinMedia, 1) && ratio(s.Rebuffers, s.Media) > c.MaxRebufferRatio {
		return Bad
	}
	return Good
}

// HealthState is one target's state between intervals. The zero value is
// up.
type HealthState struct {
	Down   bool `json:"down"`
	Streak int  `json:"streak"` // judged intervals in a row against the state
	Flaps  int  `json:"flaps"`  // state changes so far
}

// Step is the pure state machine: the state after one interval, and
// whether the interval changed Down.
func (c HealthConfig) Step(st HealthState, s IntervalStats) (HealthState, bool) {
	v := c.Judge(s)
	if v == NoData {
		return st, false
	}
	if (v == Bad) == st.Down { // agrees with the state: the streak ends
		st.Streak = 0
		return st, false
	}
	st.Streak++
	need := c.DownAfter
	if st.Down {
		need = c.UpAfter
	}
	if st.Streak < need {
		return st, false
	}
	st.Down, st.Streak = !st.Down, 0
	st.Flaps++
	return st, true
}

// Transition is a change of state at an interval.
type Transition struct {
	Interval int  `json:"interval"` // index of the interval that caused it
	Down     bool `json:"down"`     // the new state
}

// Transitions runs Step over a series of intervals from an up state.
func (c HealthConfig) Transitions(series []IntervalStats) []Transition {
	var out []Transition
	var st HealthState
	for i, s := range series {
		var changed bool
		if st, changed = c.Step(st, s); changed {
			out = append(out, Transition{Interval: i, Down: st.Down})
		}
	}
	return out
}

// HealthTracker keeps the state of every (pathway, region) fed to it.
// Safe for concurrent use.
type HealthTracker struct {
	cfg    HealthConfig
	mu     sync.Mutex
	states map[HealthKey]HealthState
}

// NewHealthTracker returns a tracker where every target is up.
func NewHealthTracker(cfg HealthConfig) (*HealthTracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &HealthTracker{cfg: cfg, states: make(map[HealthKey]HealthState)}, nil
}

// Observe feeds one interval of every target (Merger.HealthInputs) and
// returns the targets whose state changed, with their new state.
func (h *HealthTracker) Observe(inputs []HealthInput) []HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	var changed []HealthStatus
	for _, in := range inputs {
		st, ok := h.cfg.Step(h.states[in.HealthKey], in.IntervalStats)
		h.states[in.HealthKey] = st
		if ok {
			changed = append(changed, HealthStatus{HealthKey: in.HealthKey, HealthState: st})
		}
	}
	return changed
}

// Down reports whether pathway is down in region; unknown targets are up.
func (h *HealthTracker) Down(pathway, region string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.states[HealthKey{Pathway: pathway, Region: region}].Down
}

// Forget drops a target (a CDN removed from the configuration).
func (h *HealthTracker) Forget(k HealthKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.states, k)
}

// HealthStatus is one target's state.
type HealthStatus struct {
	HealthKey
	HealthState
}

// Status returns every target, sorted by pathway then region.
func (h *HealthTracker) Status() []HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HealthStatus, 0, len(h.states))
	for k, st := range h.states {
		out = append(out, HealthStatus{HealthKey: k, HealthState: st})
	}
	slices.SortFunc(out, func(a, b HealthStatus) int {
		return cmp.Or(cmp.Compare(a.Pathway, b.Pathway), cmp.Compare(a.Region, b.Region))
	})
	return out
}
