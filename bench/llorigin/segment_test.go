package llorigin

import (
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

// The simulator's playlists are what a cache in front of it must
// understand: they parse and validate with Ringside's own parser, and its
// blocking-request scan agrees with the simulator on what they list.
func TestPlaylistsParseAndValidate(t *testing.T) {
	for _, at := range []time.Duration{40 * time.Second, 40500 * time.Millisecond, 41500 * time.Millisecond} {
		s, _ := newTestServer(t, at, func(c *Config) { c.Window = 12; c.PartSegments = 3 })
		n := s.Published()
		for _, skip := range []bool{false, true} {
			body := s.media(0, n, skip)
			p, err := segment.ParseMedia(body)
			if err != nil {
				t.Fatalf("at %v skip %v: %v\n%s", at, skip, err, body)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("at %v skip %v: %v\n%s", at, skip, err, body)
			}
			if skip {
				continue
			}
			pps := int64(s.cfg.PartsPerSegment)
			newest := n - 1
			if !segment.Has(body, newest/pps, newest%pps) || segment.Has(body, n/pps, n%pps) {
				t.Fatalf("at %v: segment.Has disagrees on part %d/%d", at, newest, n)
			}
			if last, ok := segment.LastMSN(body); !ok || last != n/pps-1 {
				t.Fatalf("at %v: LastMSN %d %v, want %d", at, last, ok, n/pps-1)
			}
		}
	}
	s, _ := newTestServer(t, 40*time.Second, nil)
	m, err := segment.ParseMaster(s.master())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}
