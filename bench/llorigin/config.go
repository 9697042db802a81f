package llorigin

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
)

// Config describes the simulated low-latency packager. Renditions are
// named r0, r1, ...
type Config struct {
	// Renditions is the number of renditions in the master playlist.
	Renditions int
	// PartDuration is the duration of every part (PART-TARGET). Part p of
	// segment m is published at Start + (m*PartsPerSegment+p+1)*PartDuration.
	PartDuration time.Duration
	// PartsPerSegment is how many parts make one segment; the segment
	// duration (TARGETDURATION) is their product.
	PartsPerSegment int
	// Window is the number of complete segments a media playlist lists.
	Window int
	// PartSegments is how many of the newest complete segments keep their
	// EXT-X-PART lines (besides the segment in progress): three target
	// durations' worth by default, as RFC 8216bis advises.
	PartSegments int
	// Retain is how many segments behind the window are still served.
	Retain int
	// PartSizes holds the body size of each rendition's parts in bytes;
	// the last value applies to the renditions it does not cover. A
	// segment is PartsPerSegment times as large.
	PartSizes []int
	// Start is when part 0 began. The zero value means the clock's first
	// reading minus Window segments, so the window starts full.
	Start time.Time
	// HoldLimit bounds how long a blocking reload or a hinted part is held
	// before 503 (404 for a part); 0 means three target durations.
	HoldLimit time.Duration
	// TTFB and PlaylistTTFB delay the headers of parts and segments, and
	// of playlists, after they are available (a packager's own latency).
	TTFB         time.Duration
	PlaylistTTFB time.Duration
	// Cache-Control max-age of parts and segments, of blocking playlist
	// responses (their answer, "this part or later", stays true), of plain
	// media playlists and of the master playlist.
	PartMaxAge     time.Duration
	BlockingMaxAge time.Duration
	PlaylistMaxAge time.Duration
	MasterMaxAge   time.Duration
}

// DefaultConfig returns two renditions of 2-s segments made of four 0.5-s
// parts (30 KB and 60 KB: about 0.5 and 1 Mbit/s), a 12-segment window.
func DefaultConfig() Config {
	return Config{
		Renditions:      2,
		PartDuration:    500 * time.Millisecond,
		PartsPerSegment: 4,
		Window:          12,
		PartSegments:    3,
		Retain:          6,
		PartSizes:       []int{30000, 60000},
		PartMaxAge:      time.Hour,
		BlockingMaxAge:  12 * time.Second,
		PlaylistMaxAge:  0,
		MasterMaxAge:    10 * time.Second,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("llorigin: "+format, args...))
	}
	if c.Renditions < 1 || c.Renditions > 16 {
		bad("renditions %d not in [1, 16]", c.Renditions)
	}
	if c.PartDuration < 10*time.Millisecond || c.PartDuration > 10*time.Second {
		bad("part duration %v not in [10ms, 10s]", c.PartDuration)
	}
	if c.PartsPerSegment < 1 || c.PartsPerSegment > 100 {
		bad("parts per segment %d not in [1, 100]", c.PartsPerSegment)
	}
	if c.Window < 1 {
		bad("window %d below 1", c.Window)
	}
	if c.PartSegments < 0 || c.PartSegments > c.Window {
		bad("part segments %d not in [0, window]", c.PartSegments)
	}
	if c.Retain < 0 {
		bad("retain %d below 0", c.Retain)
	}
	if len(c.PartSizes) == 0 {
		bad("no part sizes")
	}
	for _, s := range c.PartSizes {
		if s < originsim.MinSize || s > 64<<20 {
			bad("part size %d not in [%d, 64MiB]", s, originsim.MinSize)
		}
	}
	if c.HoldLimit < 0 || c.TTFB < 0 || c.PlaylistTTFB < 0 {
		bad("negative hold limit or TTFB")
	}
	if c.PartMaxAge < 0 || c.BlockingMaxAge < 0 || c.PlaylistMaxAge < 0 || c.MasterMaxAge < 0 {
		bad("negative max-age")
	}
	return errors.Join(errs...)
}

// SegmentDuration is PartsPerSegment parts.
func (c Config) SegmentDuration() time.Duration {
	return time.Duration(c.PartsPerSegment) * c.PartDuration
}

// TargetDuration is EXT-X-TARGETDURATION in seconds: the segment duration
// rounded up.
func (c Config) TargetDuration() int64 {
	return int64(math.Ceil(c.SegmentDuration().Seconds()))
}

// holdLimit is HoldLimit or three target durations.
func (c Config) holdLimit() time.Duration {
	if c.HoldLimit > 0 {
		return c.HoldLimit
	}
	return 3 * time.Duration(c.TargetDuration()) * time.Second
}

// AdvancePartLimit is how many parts beyond the newest one a blocking
// request may ask for before 400 (RFC 8216bis 6.2.5.2): 3 divided by the
// part target in seconds when it is under one second, 3 otherwise.
func (c Config) AdvancePartLimit() int64 {
	if s := c.PartDuration.Seconds(); s < 1 {
		return int64(math.Ceil(3 / s))
	}
	return 3
}

// PartSize returns the part size of rendition i.
func (c Config) PartSize(i int) int {
	if i < len(c.PartSizes) {
		return c.PartSizes[i]
	}
	return c.PartSizes[len(c.PartSizes)-1]
}

// canSkipUntil is CAN-SKIP-UNTIL: six target durations.
func (c Config) canSkipUntil() time.Duration {
	return 6 * time.Duration(c.TargetDuration()) * time.Second
}

// partHoldBack is PART-HOLD-BACK: three part targets.
func (c Config) partHoldBack() time.Duration { return 3 * c.PartDuration }
