//go:build unix

package browser

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/test/childproc"
)

// playCase is one web player on one URL and what it must see there:
// either playback (minPlayed > 0) or a fatal error with an HTTP status.
type playCase struct {
	name     string
	player   string // hls.js, dash.js or shaka
	manifest string // a path on the stream's origin, or a full URL
	seconds  float64
	config   map[string]any // the player's configuration

	minPlayed float64 // currentTime must advance at least this far
	noStall   bool    // after the first frame, not one stall or waiting event
	via       []hop   // responses Chromium must have seen on the way
	preflight bool    // the player's requests were preflighted, every OPTIONS answered 2xx

	wantStatus int  // the player's fatal error carries this HTTP status
	https      bool // from the demo's HTTPS listener (its throwaway CA: certificate errors ignored)
}

// hop is a response on the stream's origin: a path (and query) prefix and
// its status.
type hop struct {
	path   string
	status int
}

// TestPlayers plays the demo's live event in Debian's Chromium with
// hls.js and Shaka Player, from a page on another origin, through the
// plain, steered and redirecting URLs, and checks that errors reach the
// players with their HTTP status (see doc.go).
func TestPlayers(t *testing.T) {
	requireDeps(t)
	scheme := "http"
	if os.Getenv("RINGSIDE_BROWSER_HTTPS") == "1" {
		scheme = "https"
	}
	bin := childproc.Build(t, t.TempDir())
	d := startDemo(t, bin, scheme)
	page, noCORS := startPage(t), startNoCORS(t)

	// The error cases first: they need only the node, and run while the
	// encoder's first segments arrive.
	cases := []playCase{
		{name: "hls.js/missing-playlist", player: "hls.js", manifest: "/live/demo/nope.m3u8", seconds: 5, wantStatus: 404},
		// The demo pushes HLS only: dash.js is shown the status of a
		// missing MPD until the node serves DASH.
		{name: "dash.js/missing-mpd", player: "dash.js", manifest: "/live/demo/nope.mpd", seconds: 5, wantStatus: 404},
		// The control: without CORS headers the same 404 is status 0 to
		// the player, so the two cases above do test Ringside's CORS.
		{name: "hls.js/no-cors-control", player: "hls.js", manifest: noCORS + "/live/demo/nope.m3u8", seconds: 5, wantStatus: 0},
		{name: "hls.js/master", player: "hls.js", manifest: "/live/demo/master.m3u8", seconds: 20,
			minPlayed: 15, noStall: true, via: []hop{{"/live/demo/master.m3u8", 200}}},
		{name: "hls.js/steered", player: "hls.js", manifest: "/s/live/demo/master.m3u8", seconds: 8,
			minPlayed: 6, noStall: true, via: []hop{{"/s/live/demo/master.m3u8", 200}, {"/steer/demo?", 200}}},
		// CMCD as request headers (CTA-5004): every request is preflighted,
		// the redirect and its target included.
		{name: "hls.js/redirect-cmcd-headers", player: "hls.js", manifest: "/r/live/demo/master.m3u8", seconds: 8,
			config: map[string]any{"cmcd": map[string]any{"useHeaders": true}}, minPlayed: 6, noStall: true, preflight: true,
			via: []hop{{"/r/live/demo/master.m3u8", 302}, {"/live/demo/master.m3u8", 200}}},
		{name: "shaka/master", player: "shaka", manifest: "/live/demo/master.m3u8", seconds: 10,
			minPlayed: 7, noStall: true, via: []hop{{"/live/demo/master.m3u8", 200}}},
		// Over HTTPS (http.tls_listen), from the page on another origin.
		{name: "hls.js/master-https", player: "hls.js", manifest: "/live/demo/master.m3u8", seconds: 10, https: true,
			minPlayed: 7, noStall: true, via: []hop{{"/live/demo/master.m3u8", 200}}},
	}
	live := false
	for _, c := range cases {
		if c.minPlayed > 0 && !live {
			// Four segments of each rendition: hls.js and Shaka start three
			// target durations behind the live edge, with segments to play
			// at once.
			d.waitLive(t, 4)
			live = true
		}
		t.Run(c.name, func(t *testing.T) {
			base := d.base
			if c.https {
				base = d.tlsBase
			}
			manifest := c.manifest
			if strings.HasPrefix(manifest, "/") {
				manifest = base + manifest
			}
			r := play(t, spec{Player: c.player, Page: page, Manifest: manifest, Seconds: c.seconds,
				StartTimeout: 15, IgnoreHTTPSErrors: scheme == "https" || c.https, Chromium: chromiumPath, Config: c.config})
			t.Log(r.summary())
			var problems []string
			if c.minPlayed > 0 {
				problems = checkPlayed(c, r, base)
			} else {
				problems = checkRefused(c, r)
			}
			if len(problems) > 0 {
				t.Errorf("%s:\n  %s\nwhat the player saw: %s\nrequests to %s:\n%s",
					c.name, strings.Join(problems, "\n  "), r.summary(), base, r.network(base))
			}
		})
	}
}

// checkPlayed lists what went wrong in a case that must play.
func checkPlayed(c playCase, r result, base string) []string {
	p := r.Report
	var problems []string
	if !p.Started {
		return append(problems, "the player never played a frame")
	}
	if p.SecondsPlayed < c.minPlayed {
		problems = append(problems, fmt.Sprintf("currentTime advanced %.1f s, want at least %.0f s", p.SecondsPlayed, c.minPlayed))
	}
	if c.noStall && (len(p.Stalls) > 0 || p.WaitingEvents > 0) {
		problems = append(problems, fmt.Sprintf("%d stalls, %d waiting events after the first frame, want none",
			len(p.Stalls), p.WaitingEvents))
	}
	for _, e := range p.Errors {
		problems = append(problems, "the player reported "+e.String())
	}
	if p.Level == nil || p.Level.Height == 0 || p.Video.Height == 0 {
		problems = append(problems, "no rendition or video size known at the end")
	}
	for _, h := range c.via {
		if !r.saw(base+h.path, h.status) {
			problems = append(problems, fmt.Sprintf("Chromium saw no %d for %s", h.status, h.path))
		}
	}
	if c.preflight {
		if len(r.Preflights) == 0 {
			problems = append(problems, "Chromium sent no preflight, want one for each request with CMCD headers")
		}
		for _, q := range r.Preflights {
			if q.Status < 200 || q.Status > 299 || q.Failure != "" {
				problems = append(problems, fmt.Sprintf("preflight OPTIONS %s -> %d %s", q.URL, q.Status, q.Failure))
			}
		}
	}
	return problems
}

// checkRefused lists what went wrong in a case whose player must stop on
// an HTTP error it can read.
func checkRefused(c playCase, r result) []string {
	p := r.Report
	var problems []string
	if p.Started {
		problems = append(problems, "the player played, want a fatal error")
	}
	var fatal *playerError
	for i := range p.Errors {
		if p.Errors[i].Fatal {
			fatal = &p.Errors[i]
			break
		}
	}
	switch {
	case fatal == nil:
		problems = append(problems, fmt.Sprintf("no fatal error, want one with HTTP status %d", c.wantStatus))
	case fatal.Status == nil || *fatal.Status != c.wantStatus:
		problems = append(problems, fmt.Sprintf("the player's fatal error is %s, want HTTP status %d", fatal, c.wantStatus))
	}
	return problems
}

// saw reports whether Chromium got status for a URL starting with prefix.
func (r result) saw(prefix string, status int) bool {
	for _, q := range r.Requests {
		if strings.HasPrefix(q.URL, prefix) && q.Status == status {
			return true
		}
	}
	return false
}
