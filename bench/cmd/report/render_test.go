package main

import (
	"strings"
	"testing"

	"github.com/ringside-live/ringside/bench/crowd"
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
