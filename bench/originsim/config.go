package originsim

import (
	"errors"
	"fmt"
	"time"
)

// Config describes the simulated packager. Renditions are named r0, r1, ...
type Config struct {
	// Renditions is the number of renditions in the master playlist.
	Renditions int
	// SegmentDuration is the duration of every segment. Segment N covers
	// [Start+N*D, Start+(N+1)*D) and is published when it ends.
	SegmentDuration time.Duration
	// Window is the number of segments listed in a media playlist.
	Window int
	// Retain is how many segments behind the window are still served, the
	// way a packager deletes files some time after they leave the playlist.
	// Older segments are 404.
	Retain int
	// SegmentSizes holds the body size of each rendition's segments in
	// bytes; the last value applies to the renditions it does not cover.
	// The master playlist's BANDWIDTH is derived from it.
	SegmentSizes []int
	// Start is when segment 0 began. The zero value means the clock's
	// first reading minus Window segments, so the window starts full.
	Start time.Time
	// TTFB is the delay before the headers of a segment response.
	TTFB time.Duration
	// PlaylistTTFB is the delay before the headers of a playlist response.
	PlaylistTTFB time.Duration
	// Bandwidth caps the bytes per second of one segment response (and so
	// of one connection); 0 means no cap.
	Bandwidth int64
	// ChunkSize is the size of the paced writes when Bandwidth is set.
	ChunkSize int
	// SegmentMaxAge and PlaylistMaxAge are the Cache-Control max-age of
	// segments and media playlists; the master playlist gets MasterMaxAge.
	SegmentMaxAge  time.Duration
	PlaylistMaxAge time.Duration
	MasterMaxAge   time.Duration
}

// DefaultConfig returns a 3-rendition, 2 s-segment live stream with a 6
// segment window and an origin that is neither slow nor paced.
func DefaultConfig() Config {
	return Config{
		Renditions:      3,
		SegmentDuration: 2 * time.Second,
		Window:          6,
		Retain:          6,
		SegmentSizes:    []int{128 << 10, 256 << 10, 1 << 20},
		ChunkSize:       16 << 10,
		SegmentMaxAge:   time.Hour,
		PlaylistMaxAge:  time.Second,
		MasterMaxAge:    10 * time.Second,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("originsim: "+format, args...))
	}
	if c.Renditions < 1 || c.Renditions > 16 {
		bad("renditions %d not in [1, 16]", c.Renditions)
	}
	if c.SegmentDuration < 10*time.Millisecond {
		bad("segment duration %v below 10ms", c.SegmentDuration)
	}
	if c.Window < 1 {
		bad("window %d below 1", c.Window)
	}
	if c.Retain < 0 {
		bad("retain %d below 0", c.Retain)
	}
	if len(c.SegmentSizes) == 0 {
		bad("no segment sizes")
	}
	for _, s := range c.SegmentSizes {
		if s < MinSize || s > 1<<30 {
			bad("segment size %d not in [%d, 1GiB]", s, MinSize)
		}
	}
	if c.TTFB < 0 || c.PlaylistTTFB < 0 {
		bad("negative TTFB")
	}
	if c.Bandwidth < 0 {
		bad("negative bandwidth %d", c.Bandwidth)
	}
	if c.Bandwidth > 0 && c.ChunkSize < 512 {
		bad("chunk size %d below 512", c.ChunkSize)
	}
	if c.SegmentMaxAge < 0 || c.PlaylistMaxAge < 0 || c.MasterMaxAge < 0 {
		bad("negative max-age")
	}
	return errors.Join(errs...)
}

// SegmentSize returns the segment size of rendition i.
func (c Config) SegmentSize(i int) int {
	if i < len(c.SegmentSizes) {
		return c.SegmentSizes[i]
	}
	return c.SegmentSizes[len(c.SegmentSizes)-1]
}
