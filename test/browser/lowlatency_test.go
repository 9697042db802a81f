//go:build unix

package browser

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// llEvent is the demo's low-latency event (ringside demo --low-latency):
// a second ffmpeg pushes LL-DASH/CMAF (2 s segments, 0.5 s fragments),
// the node serves the MPD as pushed and packages LL-HLS (ll.m3u8).
const llEvent = "demo-ll"

// llSeconds is how long each low-latency case plays in the suite (the
// figures in README.md were measured over 60 s).
const llSeconds = 40

// dashLowLatency is dash.js's configuration for the low-latency case. The
// MPD says low latency itself (availabilityTimeComplete="false"); the
// player aims 2 s behind the live edge with catch-up on. Its clock: the
// MPD has no UTCTiming (ffmpeg writes one only with -utc_timing_url), and
// dash.js would then ask its default time server, on the internet.
// Synchronisation is off, so dash.js uses the device clock, which here is
// the encoder's own: ffmpeg, the node and Chromium share this machine, so
// the offset is exactly 0, where an HTTP HEAD Date of the node would only
// give it to the second.
var dashLowLatency = map[string]any{"streaming": map[string]any{
	"delay":              map[string]any{"liveDelay": 2},
	"liveCatchup":        map[string]any{"enabled": true},
	"utcSynchronization": map[string]any{"enabled": false},
}}

// llTags are the LL-HLS tags counted in the playlists hls.js fetched.
var llTags = []string{"#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:", "#EXT-X-SERVER-CONTROL:", "#EXT-X-SKIP:"}

// waitLowLatency waits until the low-latency event's MPD is live with at
// least four segments behind its live edge and, with hls, until each
// LL-HLS media playlist lists three segments with parts.
func (d *demo) waitLowLatency(t *testing.T, hls bool) {
	t.Helper()
	base := d.base + "/live/" + llEvent + "/"
	var last string
	ok := eventually(40*time.Second, func() bool {
		if closed(d.exited) {
			return true // reported below
		}
		mpd, err := get(d.client, base+"manifest.mpd")
		if err != nil {
			last = err.Error()
			return false
		}
		start, err := availabilityStart(mpd)
		if err != nil || time.Since(start) < 8*time.Second {
			last = fmt.Sprintf("MPD (available since %v: %v):\n%s", start, err, mpd)
			return false
		}
		if !hls {
			return true
		}
		for _, r := range []string{"ll-0.m3u8", "ll-1.m3u8", "ll-2.m3u8"} {
			pl, err := get(d.client, base+r)
			if err != nil {
				last = err.Error()
				return false
			}
			if strings.Count(pl, "#EXTINF") < 3 || !strings.Contains(pl, "#EXT-X-PART:") {
				last = r + ":\n" + pl
				return false
			}
		}
		return true
	})
	if !ok || closed(d.exited) {
		t.Fatalf("the low-latency event at %s was not live within 40 s (exited: %v); last: %s", base, closed(d.exited), last)
	}
}

// availabilityStart reads the MPD's availabilityStartTime.
func availabilityStart(mpd string) (time.Time, error) {
	const attr = `availabilityStartTime="`
	i := strings.Index(mpd, attr)
	if i < 0 {
		return time.Time{}, fmt.Errorf("no availabilityStartTime")
	}
	v := mpd[i+len(attr):]
	return time.Parse(time.RFC3339Nano, v[:strings.IndexByte(v, '"')])
}

// checkLowLatency lists what went wrong in a low-latency case beyond
// checkPlayed: a request that left this machine, a player not in its
// low-latency mode, and for LL-HLS a media playlist without parts or no
// blocking playlist reload.
func checkLowLatency(c playCase, r result) []string {
	var problems []string
	for _, q := range r.Requests {
		if u, err := url.Parse(q.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "127.0.0.1" {
			problems = append(problems, "a request left the machine: "+q.Method+" "+q.URL)
		}
	}
	if p := r.Report; c.player != "shaka" && (p.LowLatency == nil || !*p.LowLatency) {
		problems = append(problems, "the player is not in its low-latency mode")
	}
	if !c.llHLS {
		return problems
	}
	media, blocking := 0, 0
	for _, q := range r.Requests {
		u, err := url.Parse(q.URL)
		if err != nil || !strings.HasPrefix(u.Path, "/live/"+llEvent+"/ll-") || !strings.HasSuffix(u.Path, ".m3u8") {
			continue
		}
		if q.Status == 200 && u.Query().Has("_HLS_msn") {
			blocking++
		}
		if q.Tags == nil {
			continue // its body was not read before Chromium closed
		}
		media++
		if q.Tags["#EXT-X-PART:"] == 0 {
			problems = append(problems, "a media playlist without EXT-X-PART: "+q.URL)
		}
	}
	if media == 0 {
		problems = append(problems, "hls.js fetched no LL-HLS media playlist")
	}
	if blocking == 0 {
		problems = append(problems, "hls.js made no blocking playlist reload (no _HLS_msn)")
	}
	return problems
}

// latencyRecord is what a low-latency case measured, logged as one JSON
// line (LATENCY {...}) for scripts.
type latencyRecord struct {
	Case, Player, Version string
	// Median and P95 of the player's own latency figure, WallMedian and
	// WallP95 of now minus the wall-clock time of the frame playing, in
	// seconds; Samples: how many samples had a figure.
	Median, P95, WallMedian, WallP95 float64
	Samples                          int
	Stalls                           int
	RebufferSeconds, SecondsPlayed   float64
	BlockingReloads                  int `json:",omitempty"`
	NonFatalErrors                   int
}

// logLatency logs the latency figures of a low-latency case.
func logLatency(t *testing.T, c playCase, r result) {
	p := r.Report
	var own, wall []float64
	for _, s := range p.Latency {
		if s.Latency != nil {
			own = append(own, *s.Latency)
		}
		if s.Wall != nil {
			wall = append(wall, *s.Wall)
		}
	}
	rec := latencyRecord{Case: c.name, Player: c.player, Version: p.PlayerVersion,
		Median: percentile(own, 50), P95: percentile(own, 95), WallMedian: percentile(wall, 50), WallP95: percentile(wall, 95),
		Samples: len(own), Stalls: len(p.Stalls), RebufferSeconds: p.RebufferSeconds, SecondsPlayed: p.SecondsPlayed}
	for _, e := range p.Errors {
		if !e.Fatal {
			rec.NonFatalErrors++
		}
	}
	for _, q := range r.Requests {
		if strings.Contains(q.URL, "_HLS_msn=") && q.Status == 200 {
			rec.BlockingReloads++
		}
	}
	t.Logf("%s %s latency: median %.2f s, p95 %.2f s (wall clock: median %.2f s, p95 %.2f s), %d samples over %.0f s played; "+
		"%d stalls (%.2f s), %d non-fatal errors", rec.Player, rec.Version, rec.Median, rec.P95, rec.WallMedian, rec.WallP95,
		rec.Samples, rec.SecondsPlayed, rec.Stalls, rec.RebufferSeconds, rec.NonFatalErrors)
	b, _ := json.Marshal(rec)
	t.Logf("LATENCY %s", b)
}

// percentile is the nearest-rank percentile of xs, 0 for none (Samples
// says so).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return math.Round(s[max(i, 0)]*1000) / 1000
}
