package llcrowd

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Config describes one low-latency crowd.
type Config struct {
	// Players is the number of players that join.
	Players int
	// JoinWindow is the span over which players join, uniformly at random.
	JoinWindow time.Duration
	// Duration bounds the whole run, join window included.
	Duration time.Duration
	// MaxRequests bounds the requests of the whole run.
	MaxRequests int64
	// Bases are the URLs of the event's root, each ending in "/": a player
	// requests {base}{rendition}/index.m3u8. Players are spread round-robin.
	Bases []string
	// Renditions are the renditions players pick from at random.
	Renditions []string
	// Hint makes players fetch the hinted part beside each blocking
	// reload; without it they only reload the playlist.
	Hint bool
	// Skip makes blocking reloads ask for delta updates (_HLS_skip=YES).
	Skip bool
	// VerifyEvery is how often a player checks a part body byte for byte:
	// every VerifyEvery-th part (1: all); the others have their header and
	// length checked. A thousand players verifying a thousand parts at the
	// same instant would otherwise cost the shared cores more than the
	// system under test spends serving them.
	VerifyEvery int
	// Timeout bounds one request, body included; it must be longer than
	// an origin holds a blocking request (three target durations).
	Timeout time.Duration
	// Retry is how long a player waits after an error before it loads the
	// playlist again.
	Retry time.Duration
	// StatsURL is the LL origin simulator's GET /_stats URL, or "". When
	// set, its counts are reset at the start (if ResetStats) and read at
	// the end, with the parts' publication times the latencies need.
	StatsURL   string
	ResetStats bool
	// MetricsURLs are Prometheus /metrics URLs of the nodes under test,
	// sampled every MetricsEvery for the parked-request gauges.
	MetricsURLs  []string
	MetricsEvery time.Duration
	// Seed makes the join times and rendition choices reproducible.
	Seed uint64
	// CyclesCSV, when set, receives every cycle of every player (for a
	// closer look at a distribution): player, msn, part, and the times
	// relative to the part's publication in ms.
	CyclesCSV io.Writer
}

// DefaultConfig returns 500 players joining over 5 s and playing for 30 s
// from an LL origin simulator on its default address.
func DefaultConfig() Config {
	return Config{
		Players:      500,
		JoinWindow:   5 * time.Second,
		Duration:     30 * time.Second,
		MaxRequests:  2_000_000,
		Bases:        []string{"http://127.0.0.1:18120/"},
		Renditions:   []string{"r0", "r1"},
		Hint:         true,
		Skip:         true,
		VerifyEvery:  16,
		Timeout:      10 * time.Second,
		Retry:        500 * time.Millisecond,
		ResetStats:   true,
		MetricsEvery: 250 * time.Millisecond,
		Seed:         1,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("llcrowd: "+format, args...))
	}
	if c.Players < 1 || c.Players > 100_000 {
		bad("players %d not in [1, 100000]", c.Players)
	}
	if c.JoinWindow < 0 {
		bad("negative join window")
	}
	if c.Duration <= 0 || c.Duration > time.Hour {
		bad("duration %v not in (0, 1h]", c.Duration)
	}
	if c.MaxRequests < 1 {
		bad("max requests %d below 1", c.MaxRequests)
	}
	if len(c.Bases) == 0 {
		bad("no base URL")
	}
	for _, b := range c.Bases {
		if u, err := url.Parse(b); err != nil || u.Scheme != "http" || u.Host == "" || !strings.HasSuffix(u.Path, "/") || u.RawQuery != "" {
			bad("base %q is not an http URL ending in /", b)
		}
	}
	if len(c.Renditions) == 0 {
		bad("no rendition")
	}
	if c.Timeout <= 0 {
		bad("timeout %v not positive", c.Timeout)
	}
	if c.VerifyEvery < 1 {
		bad("verify every %d below 1", c.VerifyEvery)
	}
	if c.Retry < 0 {
		bad("negative retry")
	}
	for _, u := range append([]string{c.StatsURL}, c.MetricsURLs...) {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Scheme != "http" {
			bad("%q is not an http URL", u)
		}
	}
	if len(c.MetricsURLs) > 0 && c.MetricsEvery < 10*time.Millisecond {
		bad("metrics interval %v below 10ms", c.MetricsEvery)
	}
	return errors.Join(errs...)
}
