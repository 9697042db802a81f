package telemetry

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

func good() IntervalStats {
	return IntervalStats{Requests: 200, Errors: 2, Media: 150, Rebuffers: 3, Sessions: 40}
}
func bad() IntervalStats {
	return IntervalStats{Requests: 200, Errors: 60, Media: 150, Rebuffers: 3, Sessions: 40}
}

func repeat(n int, f func(i int) IntervalStats) []IntervalStats {
	out := make([]IntervalStats, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestHealthTransitions(t *testing.T) {
	cfg := DefaultHealthConfig() // down after 3, up after 5
	stall := IntervalStats{Requests: 200, Media: 150, Rebuffers: 30, Sessions: 40}
	few := IntervalStats{Requests: 10, Errors: 10, Sessions: 40}
	fewSessions := IntervalStats{Requests: 500, Errors: 500, Sessions: 2}
	cases := []struct {
		name   string
		series []IntervalStats
		want   []Transition
	}{
		{"all good", repeat(120, func(int) IntervalStats { return good() }), nil},
		{"failing", repeat(10, func(int) IntervalStats { return bad() }), []Transition{{2, true}}},
		{"two bad are not enough", []IntervalStats{bad(), bad(), good(), bad(), bad(), good()}, nil},
		{"alternating for 2 minutes never flaps",
			repeat(120, func(i int) IntervalStats { return [2]IntervalStats{good(), bad()}[i%2] }), nil},
		{"bad, bad, good for 2 minutes never flaps",
			repeat(120, func(i int) IntervalStats { return [3]IntervalStats{bad(), bad(), good()}[i%3] }), nil},
		{"down then recovers after 5 good",
			append(repeat(3, func(int) IntervalStats { return bad() }), repeat(6, func(int) IntervalStats { return good() })...),
			[]Transition{{2, true}, {7, false}}},
		{"down stays down on alternating",
			append(repeat(3, func(int) IntervalStats { return bad() }), repeat(117, func(i int) IntervalStats { return [2]IntervalStats{good(), bad()}[i%2] })...),
			[]Transition{{2, true}}},
		{"too few requests say nothing", repeat(20, func(int) IntervalStats { return few }), nil},
		{"too few sessions say nothing", repeat(20, func(int) IntervalStats { return fewSessions }), nil},
		{"no data neither counts nor breaks a streak",
			[]IntervalStats{bad(), few, bad(), {}, bad()}, []Transition{{4, true}}},
		{"rebuffering", repeat(3, func(int) IntervalStats { return stall }), []Transition{{2, true}}},
		{"rebuffering with too few media requests",
			repeat(3, func(int) IntervalStats { return IntervalStats{Requests: 200, Media: 10, Rebuffers: 10, Sessions: 40} }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cfg.Transitions(tc.series); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("transitions %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHealthConfigValidate(t *testing.T) {
	if err := DefaultHealthConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (HealthConfig{}).Validate(); err == nil {
		t.Fatal("zero config accepted")
	}
}

// TestHealthPipeline runs recorders, a merger and a tracker on a fake
// clock: CDN "cdn-b" answers 5xx to 30% of segment requests in region "x"
// only, from second 30. It goes down in x within 10 s, stays up in y, and
// over the next 2 minutes it never flaps; then a CDN whose errors
// alternate interval by interval never goes down at all.
func TestHealthPipeline(t *testing.T) {
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(DefaultMergerConfig(), clock.Now)
	h, _ := NewHealthTracker(DefaultHealthConfig())
	nodes := []*Recorder{testRecorder(t, 1), testRecorder(t, 2), testRecorder(t, 3)}
	const interval = 2 // seconds
	var p Parser
	var downAt []int
	var transitions []HealthStatus
	for sec := range 180 {
		for i := range 600 { // 600 sessions, one segment a second each
			region := []string{"x", "y"}[i%2]
			pathway := []string{"mesh", "cdn-b", "cdn-c"}[(i/2)%3]
			_ = p.ParseHeaders(nil, nil, nil, []byte(`sid="s`+strconv.Itoa(i)+`",ot=v,br=3000,bl=9000`))
			status := 200
			switch {
			case pathway == "cdn-b" && region == "x" && sec >= 30 && i%10 < 3:
				status = 503 // 30% failing from second 30
			case pathway == "cdn-c" && (sec/interval)%2 == 1 && i%10 < 3:
				status = 503 // failing every other interval, everywhere
			}
			nodes[i%3].Record(obs("fight", region, pathway, "720p", &p.CMCD, status))
		}
		clock.Set(t0.Add(time.Duration(sec+1)*time.Second + 50*time.Millisecond))
		for n, r := range nodes {
			if err := m.ApplyDelta(strconv.Itoa(n), r.Delta(clock.Now())); err != nil {
				t.Fatal(err)
			}
		}
		if (sec+1)%interval == 0 {
			for _, c := range h.Observe(m.HealthInputs(interval * time.Second)) {
				transitions = append(transitions, c)
				if c.Pathway == "cdn-b" && c.Region == "x" && c.Down {
					downAt = append(downAt, sec)
				}
			}
		}
	}
	if len(downAt) != 1 || downAt[0] < 30 || downAt[0] > 40 {
		t.Fatalf("cdn-b in x went down at %v (failing from 30 s)", downAt)
	}
	if len(transitions) != 1 {
		t.Fatalf("transitions %+v, want only cdn-b in x going down", transitions)
	}
	if !h.Down("cdn-b", "x") || h.Down("cdn-b", "y") || h.Down("cdn-c", "x") || h.Down("mesh", "x") {
		t.Fatalf("status %+v", h.Status())
	}
	t.Logf("cdn-b down in x %d s after it started failing", downAt[0]-30+1)
}
