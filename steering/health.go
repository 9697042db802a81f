package steering

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// HealthConfig sets the hysteresis of a Health tracker.
type HealthConfig struct {
	DownAfter int // consecutive failures that take an up target down
	UpAfter   int // consecutive successes that bring a down target back
}

// DefaultHealthConfig: down after 3 failures in a row, up after 2
// successes in a row.
func DefaultHealthConfig() HealthConfig { return HealthConfig{DownAfter: 3, UpAfter: 2} }

// Validate reports every problem in c at once.
func (c HealthConfig) Validate() error {
	var errs []error
	if c.DownAfter < 1 {
		errs = append(errs, fmt.Errorf("steering: health config: DownAfter: %d, must be at least 1", c.DownAfter))
	}
	if c.UpAfter < 1 {
		errs = append(errs, fmt.Errorf("steering: health config: UpAfter: %d, must be at least 1", c.UpAfter))
	}
	return errors.Join(errs...)
}

// Health turns a stream of ok/failed signals per target (a CDN id) into an
// up/down state with hysteresis: a target starts up, goes down after
// DownAfter consecutive failures and comes back after UpAfter consecutive
// successes. A signal that alternates therefore never flips the state
// (when both thresholds are above 1), and a target changes state at most
// once per min(DownAfter, UpAfter) signals. Safe for concurrent use.
type Health struct {
	cfg     HealthConfig
	mu      sync.Mutex
	targets map[string]*healthState
	// gen counts state changes of any target, so that answers derived
	// from the states (the DNS plan) know when to be rebuilt.
	gen atomic.Uint64
}

type healthState struct {
	down   bool
	streak int // consecutive signals against the current state
	flaps  int // state changes so far
}

// HealthStatus is one target's state, for metrics and the admin API
// (snake_case in JSON, like the rest of it).
type HealthStatus struct {
	ID    string `json:"id"`
	Up    bool   `json:"up"`
	Flaps int    `json:"flaps"`
	// Streak is how many signals in a row have disagreed with the current
	// state.
	Streak int `json:"streak"`
}

// NewHealth returns a tracker where every target is up.
func NewHealth(cfg HealthConfig) (*Health, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Health{cfg: cfg, targets: make(map[string]*healthState)}, nil
}

// Observe records one signal for id and reports whether it changed id's
// state.
func (h *Health) Observe(id string, ok bool) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.targets[id]
	if st == nil {
		st = &healthState{}
		h.targets[id] = st
	}
	if ok != st.down { // agrees with the current state
		st.streak = 0
		return false
	}
	st.streak++
	need := h.cfg.DownAfter
	if st.down {
		need = h.cfg.UpAfter
	}
	if st.streak < need {
		return false
	}
	st.down, st.streak = !st.down, 0
	st.flaps++
	h.gen.Add(1)
	return true
}

// Generation changes whenever some target changes state (or is
// forgotten): what was derived from the states before is stale.
func (h *Health) Generation() uint64 { return h.gen.Load() }

// Up reports whether id is up; targets never observed are up.
func (h *Health) Up(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.targets[id]
	return st == nil || !st.down
}

// Flaps returns how many times id changed state.
func (h *Health) Flaps(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.targets[id]; st != nil {
		return st.flaps
	}
	return 0
}

// Forget drops id (a CDN removed from the configuration).
func (h *Health) Forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.targets[id]; st != nil && st.down {
		h.gen.Add(1) // a forgotten target is up again
	}
	delete(h.targets, id)
}

// Status returns every observed target, sorted by id.
func (h *Health) Status() []HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HealthStatus, 0, len(h.targets))
	for id, st := range h.targets {
		out = append(out, HealthStatus{ID: id, Up: !st.down, Flaps: st.flaps, Streak: st.streak})
	}
	slices.SortFunc(out, func(a, b HealthStatus) int { return strings.Compare(a.ID, b.ID) })
	return out
}

var _ HealthView = (*Health)(nil)
