// Package encodertest runs a real ffmpeg push for the duration of a test:
// the cheapest ladder that still has two renditions, 1 s segments.
package encodertest

import (
	"context"
	"testing"

	"github.com/ringside-live/ringside/encoder"
)

// Config is a 240p+144p ladder with 1 s segments pushing into ingestBase
// ("http://host:port/ingest/EVENT") with key; adjust before Start.
func Config(ingestBase, key string) encoder.Config {
	cfg := encoder.DefaultConfig()
	cfg.IngestBase, cfg.StreamKey = ingestBase, key
	cfg.Ladder = []encoder.Rung{{Width: 426, Height: 240, VideoKbps: 300}, {Width: 256, Height: 144, VideoKbps: 150}}
	cfg.SegmentSeconds = 1
	return cfg
}

// LowLatencyConfig is Config as a low-latency DASH/CMAF push (the MPD to
// ingestBase/manifest.mpd) at 30 fps, so that 0.5 s parts are whole
// numbers of frames.
func LowLatencyConfig(ingestBase, key string) encoder.Config {
	cfg := Config(ingestBase, key)
	cfg.LowLatency, cfg.FPS = true, 30
	return cfg
}

// Start runs ffmpeg with cfg until the test ends; an encoder failure fails
// the test.
func Start(t testing.TB, cfg encoder.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- encoder.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("encoder: %v", err)
		}
	})
}
