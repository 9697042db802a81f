package faults

import (
	"bufio"
	"encoding/json"

	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// wan puts 100 ms each way (200 ms RTT), 10 ms of jitter (reordering) and
// 2% loss between eu (n1, n2: origin-tier shields; the origin) and us (n3:
// origin-tier shield, n4: us regional shield, n5: edge; the client), while
// players join us edges one by one.
func (s *suite) wan(t *testing.T) {
	defer s.heal()
	s.lab.regroup(map[string]string{"n1": "eu", "n2": "eu", "origin": "eu", "n3": "us", "n4": "us", "n5": "us", "client": "us"})
	s.lab.fab.setLink("eu", "us", impair{Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.02})
	time.Sleep(2 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	c := newCrowd(s.lab.hosts["client"])
	defer func() { cancel(); c.wait() }()
	tStart := time.Now()
	for i := range 24 {
		id := []string{"n5", "n4", "n3"}[i%3]
		c.add(ctx, id, s.liveURL(id, i%2), true)
		time.Sleep(150 * time.Millisecond)
	}
	time.Sleep(14 * time.Second)
	tEnd := time.Now()
	cancel()
	c.wait()
	w := c.window(tStart, tEnd, nil)
	f, l := s.origin.segRange(tStart, tEnd)
	perSeg := 0
	for _, m := range s.origin.perSegment(f, l, func(string) string { return "all" }) {
		perSeg = max(perSeg, m["all"])
	}
	if perSeg > 1 {
		t.Errorf("origin saw %d requests for one segment across the WAN", perSeg)
	}
	if w.minSegs < 5 || w.mismatched > 0 {
		t.Errorf("us players did not keep playing: %+v", w)
	}
	// What crossed the WAN into the origin tier in eu, from the access logs
	// of n1 and n2: per segment, requests that came through the us
	// regional shield (n4), and requests from us edges that skipped it.
	viaRegional, skipped, skippedHops := map[string]int{}, 0, map[string]int{}
	for _, id := range []string{"n1", "n2"} {
		for _, a := range accessLog(t, s.mesh.byID[id].logPath, tStart, tEnd) {
			if !strings.Contains(a.Path, "/live/live/") || !strings.HasSuffix(a.Path, ".ts") {
				continue
			}
			switch {
			case strings.Contains(a.Hops, "n4"):
				viaRegional[a.Path]++
			case strings.Contains(a.Hops, "n5") || strings.Contains(a.Hops, "n3"):
				skipped++
				skippedHops[a.Hops]++
			}
		}
	}
	maxRegional := 0
	for _, v := range viaRegional {
		maxRegional = max(maxRegional, v)
	}
	if maxRegional > 1 {
		t.Errorf("the us regional shield sent up to %d requests for one segment to eu", maxRegional)
	}
	conv := s.mesh.converged()
	s.rep.add("wan", "| link eu <-> us | 100 ms each way (200 ms RTT), 0-10 ms jitter (reorders), 2%% loss each way |")
	s.rep.add("wan", "| players on us edges (n3, n4, n5), joining one every 150 ms | %d |", w.players)
	s.rep.add("wan", "| origin requests per segment (%d segment files) | max %d |", len(s.origin.perSegment(f, l, func(string) string { return "all" })), perSeg)
	s.rep.add("wan", "| requests per segment from the us regional shield (n4) to the eu origin tier | max %d (%d segment files) |", maxRegional, len(viaRegional))
	s.rep.add("wan", "| us requests into eu that did not come through the regional shield, by hop header (n3 is itself an origin-tier shield: it asks only nodes ranked above it, by design) | %d %v |", skipped, skippedHops)
	s.rep.add("wan", "| join TTFB p50 / p99 / max (%d segments fetched on joining) | %.0f / %.0f / %.0f ms |", len(w.joinTTFB),
		ms(pct(w.joinTTFB, 0.5)), ms(pct(w.joinTTFB, 0.99)), ms(pct(w.joinTTFB, 1)))
	s.rep.add("wan", "| live TTFB p50 / p99 | %.0f / %.0f ms |", ms(pct(w.liveTTFB, 0.5)), ms(pct(w.liveTTFB, 0.99)))
	s.rep.add("wan", "| players: segments, failed, mismatched, longest gap | %d, %d, %d, %.1f s |", w.segments, w.failed, w.mismatched, w.maxGap.Seconds())
	s.rep.add("wan", "| membership intact at the end (every node sees 5 alive, one leader) | %v |", conv)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// access is one access-log line of a node (log.access, JSON).
type access struct {
	Time  time.Time `json:"time"`
	Path  string    `json:"path"`
	Hops  string    `json:"hops"`
	Cache string    `json:"cache"`
}

func accessLog(t *testing.T, path string, from, to time.Time) []access {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []access
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"component":"access"`) {
			continue
		}
		var a access
		if json.Unmarshal(line, &a) == nil && !a.Time.Before(from) && !a.Time.After(to) {
			out = append(out, a)
		}
	}
	return out
}
