package steering

import (
	"math/rand/v2"
	"testing"
)

func TestHealthHysteresis(t *testing.T) {
	const F, S = false, true
	tests := []struct {
		name    string
		cfg     HealthConfig
		signals []bool
		up      []bool // state after each signal
	}{
		{"starts up, stays up on success", HealthConfig{3, 2}, []bool{S, S}, []bool{true, true}},
		{"down after K=3 failures", HealthConfig{3, 2}, []bool{F, F, F}, []bool{true, true, false}},
		{"a success resets the failure streak", HealthConfig{3, 2}, []bool{F, F, S, F, F, F}, []bool{true, true, true, true, true, false}},
		{"up after M=2 successes", HealthConfig{3, 2}, []bool{F, F, F, S, S}, []bool{true, true, false, false, true}},
		{"a failure resets the success streak", HealthConfig{3, 2}, []bool{F, F, F, S, F, S, S}, []bool{true, true, false, false, false, false, true}},
		{"K=1 M=1 follows the signal", HealthConfig{1, 1}, []bool{F, S, F}, []bool{false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHealth(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, ok := range tt.signals {
				h.Observe("cdn-a", ok)
				if got := h.Up("cdn-a"); got != tt.up[i] {
					t.Fatalf("after signal %d (%v): up %v, want %v", i, ok, got, tt.up[i])
				}
			}
			if !h.Up("never-seen") {
				t.Fatal("unknown target is down")
			}
		})
	}
}

func TestHealthFlapping(t *testing.T) {
	h, _ := NewHealth(HealthConfig{DownAfter: 3, UpAfter: 2})
	// Alternating input never builds a streak: no flap at all.
	for i := range 1000 {
		h.Observe("alt", i%2 == 0)
	}
	if f := h.Flaps("alt"); f != 0 || !h.Up("alt") {
		t.Fatalf("alternating signal: %d flaps", f)
	}
	// Any input: a flap needs at least min(K, M) signals since the last.
	rng := rand.New(rand.NewPCG(7, 7))
	for _, p := range []float64{0.3, 0.5, 0.7, 0.9} {
		h.Forget("rnd")
		const n = 10000
		changes := 0
		for range n {
			if h.Observe("rnd", rng.Float64() < p) {
				changes++
			}
		}
		f := h.Flaps("rnd")
		if f != changes || f > n/min(3, 2) {
			t.Fatalf("p=%.1f: %d flaps (%d changes reported) in %d signals, bound %d", p, f, changes, n, n/min(3, 2))
		}
		t.Logf("p(ok)=%.1f: %d flaps in %d signals", p, f, n)
	}
	st := h.Status()
	if len(st) != 2 || st[0].ID != "alt" || st[1].ID != "rnd" {
		t.Fatalf("status %+v", st)
	}
}

func TestHealthConfigValidate(t *testing.T) {
	if _, err := NewHealth(HealthConfig{}); err == nil {
		t.Fatal("zero config accepted")
	}
	if err := DefaultHealthConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestHealthDrivesEngine: a CDN that fails K probes loses its sessions,
// and comes back for new sessions after M successes.
func TestHealthDrivesEngine(t *testing.T) {
	h, _ := NewHealth(HealthConfig{DownAfter: 2, UpAfter: 2})
	clk := newClock()
	e := newEngine(t, testConfig(), clk, h)
	s := world()
	s.CDNs = s.CDNs[:1]
	s.CDNs[0].Weight = 1000
	c := Client{Addr: addr("198.51.100.7"), Session: "x"}
	if got := primary(e.Decide(s, c)); got != "cdn-a" {
		t.Fatalf("start on %s", got)
	}
	h.Observe("cdn-a", false)
	if got := primary(e.Decide(s, c)); got != "cdn-a" {
		t.Fatalf("one failure moved the session to %s", got)
	}
	h.Observe("cdn-a", false)
	if got := primary(e.Decide(s, c)); got != MeshID {
		t.Fatalf("after two failures on %s", got)
	}
	h.Observe("cdn-a", true)
	h.Observe("cdn-a", true)
	if got := primary(e.Decide(s, Client{Addr: addr("198.51.100.7"), Session: "y"})); got != "cdn-a" {
		t.Fatalf("new session after recovery on %s", got)
	}
}
