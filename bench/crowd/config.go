package crowd

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config describes one flash crowd.
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
	// JoinSegments is how many of the newest segments a player fetches when
	// it joins.
	JoinSegments int
	// Timeout bounds one request, body included.
	Timeout time.Duration
	// StatsURL is the origin simulator's GET /_stats URL, or "". When set,
	// the origin stats are reset at the start (if ResetStats) and read at
	// the end.
	StatsURL   string
	ResetStats bool
	// Seed makes the join times and rendition choices reproducible.
	Seed uint64
}

// DefaultConfig returns a 200-player crowd joining over 10 s and watching
// for 30 s one origin simulator on its default address.
func DefaultConfig() Config {
	return Config{
		Players:      200,
		JoinWindow:   10 * time.Second,
		Duration:     30 * time.Second,
		MaxRequests:  1_000_000,
		Bases:        []string{"http://127.0.0.1:18080/"},
		Renditions:   []string{"r0", "r1"},
		JoinSegments: 3,
		Timeout:      10 * time.Second,
		ResetStats:   true,
		Seed:         1,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("crowd: "+format, args...))
	}
	if c.Players < 1 {
		bad("players %d below 1", c.Players)
	}
	if c.JoinWindow < 0 {
		bad("negative join window")
	}
	if c.Duration <= 0 {
		bad("duration %v not positive", c.Duration)
	}
	if c.MaxRequests < 1 {
		bad("max requests %d below 1", c.MaxRequests)
	}
	if len(c.Bases) == 0 {
		bad("no base URL")
	}
	for _, b := range c.Bases {
		if u, err := url.Parse(b); err != nil || u.Scheme != "http" || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
			bad("base %q is not an http URL ending in /", b)
		}
	}
	if len(c.Renditions) == 0 {
		bad("no rendition")
	}
	if c.JoinSegments < 1 {
		bad("join segments %d below 1", c.JoinSegments)
	}
	if c.Timeout <= 0 {
		bad("timeout %v not positive", c.Timeout)
	}
	if c.StatsURL != "" {
		if u, err := url.Parse(c.StatsURL); err != nil || u.Scheme != "http" {
			bad("stats URL %q is not an http URL", c.StatsURL)
		}
	}
	return errors.Join(errs...)
}
