package main

import (
	"strings"
	"testing"

	"github.com/ringside-live/ringside/bench/crowd"
	"github.com/ringside-live/ringside/bench/llcrowd"
)

func TestRender(t *testing.T) {
	res := results{
		meta: meta{Date: "2025-01-01T00:00:00Z", NProc: 2, CPUModel: "cpu", Memory: "1 GiB",
			Systems: "origin nginx", Knobs: map[string]string{"PLAYERS": "10", "WRK_THREADS": "2"}},
		crowds: []crowd.Report{{
			Label: "nginx", Run: 1, Joined: 10, Settings: crowd.Settings{Players: 10}, Requests: 100,
			JoinSegments: crowd.Latency{Count: 30, P50MS: 0.25, P95MS: 1.5, P99MS: 500.6, MaxMS: 501},
			Origin:       &crowd.OriginSummary{Requests: 9, UniqueSegments: 4, MaxPerSegment: 1, PerUniqueSegment: 1},
			ErrorSamples: []string{"segment: boom"},
		}},
		rss:   []rssResult{{System: "nginx", Processes: 3, VmHWMKB: 2048}},
		notes: []string{"ringside-1 skipped"},
	}
	md := render(res)
	for _, want := range []string{
		"| nginx | 1 | 10/10 | 100 | 0 | 0 | 0 | 0 | 9 | 4 | 1 | 1.00 |",
		"| nginx | 1 | 0.2 / 1.5 / 501 / 501 | n/a | n/a |",
		"- nginx run 1: `segment: boom`",
		"| nginx | 3 | 2.0 |",
		"- ringside-1 skipped",
		"Knobs: `PLAYERS=10 WRK_THREADS=2`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestSystemOrder(t *testing.T) {
	order := systemOrder("origin nginx varnish")
	if cmpSystems(order, "origin", "varnish", 0) >= 0 || cmpSystems(order, "varnish", "zzz", 0) >= 0 ||
		cmpSystems(order, "nginx", "nginx", -1) != -1 {
		t.Fatal("systems out of order")
	}
}

func TestRenderLL(t *testing.T) {
	wake := func(p50, p99 float64) crowd.Latency {
		return crowd.Latency{Count: 100, P50MS: p50, P95MS: p99, P99MS: p99, MaxMS: p99}
	}
	origin := func(perKey int64, mean float64) *llcrowd.OriginSummary {
		return &llcrowd.OriginSummary{Requests: 300, Blocking: 100, Parts: 100, Plain: 100, Keys: 100,
			MaxPerKey: perKey, MeanPerKey: mean, MaxPerPart: 1, MeanPerPart: 1, UniqueParts: 100, MaxParked: 2}
	}
	parked := func(max float64) []llcrowd.Parked {
		return []llcrowd.Parked{{URL: "u", Samples: 10, Edge: llcrowd.Gauge{Present: true, Max: max}}}
	}
	res := llResults{
		meta: &llMeta{Date: "2025-01-01T00:00:00Z", NProc: 2, Systems: "nginx varnish ringside-1 ringside-3",
			Knobs: map[string]string{"LL_PLAYERS": "10", "LL_HINT": "1", "LL_SKIP": "1", "LL_PARKED": "50 20000"}},
		crowds: []llcrowd.Report{
			{Label: parkedLabel + "-50", Run: 1, Joined: 50, Settings: llcrowd.Settings{Players: 50}, Wake: wake(9, 40),
				Origin: origin(1, 1), Parked: parked(50)},
			{Label: parkedLabel + "-20000", Run: 1, Joined: 20000, Settings: llcrowd.Settings{Players: 20000}, Wake: wake(9, 49),
				Origin: origin(1, 1), Parked: parked(20000)},
			{Label: "ringside-3", Run: 1, Joined: 10, Cycles: 200, Wake: wake(6, 20), Origin: origin(2, 1.05),
				Parked: append(parked(4), llcrowd.Parked{URL: "v"}), Errors: 1,
				ErrorKinds: map[string]int64{"playlist stale": 1}, ErrorSamples: []string{"stale answer"}},
			{Label: "nginx", Run: 1, Joined: 10, Cycles: 190, Wake: wake(250, 500), Origin: origin(1, 1.03)},
			{Label: "nginx", Run: 2, Joined: 10, Cycles: 190, Wake: wake(400, 900), Origin: origin(1, 1.03)},
			{Label: "varnish", Run: 1, Joined: 10, Cycles: 200, Wake: wake(10, 25), Origin: origin(1, 1)},
		},
		sys: map[string]llSys{
			"nginx/1": {System: "nginx", Run: 1, CPUS: 3, MachineCPUS: 10, DurationS: 30, VmHWMKB: 2048, Processes: 4, IdlePct: 97},
			"nginx/2": {System: "nginx", Run: 2, CPUS: 3, MachineCPUS: 40, DurationS: 30, VmHWMKB: 2048, Processes: 4, IdlePct: 97},
		},
	}
	var b strings.Builder
	renderLL(&b, res)
	md := b.String()
	for _, want := range []string{
		"| ringside-3 | 1 | 10/0 | 200 | 1 | 0 | 0 | 2 / 1.05 | 1 / 1.00 | 100 | 2 + 0 | 4 / no sample |",
		"| nginx | 1 | 3.0 | 0.10 | 0.0 | 2.0 | 4 | 97% | 0.23 |",
		"| varnish | 1 | n/a |",
		"- ringside-3 run 1: playlist stale: 1\n  - `stale answer`",
		"`ringside-3`: not met (at most 2 per key",
		"`ringside-3` against `nginx`: p50 6.0 vs 250 ms, p99 20 vs 500 ms: ahead at both",
		"`ringside-3` against `varnish`: p50 6.0 vs 10 ms, p99 20 vs 25 ms: ahead at both",
		"(goal: 20,000 parked blocking requests, wake p99 under 50 ms): reached. 50 players: at most 50 parked at once (the node's gauge), wake p50 9.0 ms, p99 40 ms, 0 errors, 0 stalls; 20000 players: at most 20000 parked",
		"N = 50, 20000 players on one Ringside node",
		"- `nginx` (`proxy_cache_lock` sends",
		"`nginx` run 2 is left out of this reading: other work took 1.23 cores during it",
		"the origin got at most 1 request per (playlist, msn, part) (mean 1.03)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if i, j, k := strings.Index(md, "| nginx | 1 | 10/0"), strings.Index(md, "| "+parkedLabel+"-50 | 1"),
		strings.Index(md, "| "+parkedLabel+"-20000 | 1"); i > j || j > k {
		t.Error("the parked rounds are not last, by players")
	}
	var empty strings.Builder
	renderLL(&empty, llResults{})
	if empty.Len() != 0 {
		t.Fatal("a results directory without LL rounds renders an LL section")
	}
}
