package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/encoder"
)

// TestDemoLowLatencyConfig checks what --low-latency adds: the event
// demo-ll (low latency, 0.5 s parts, its own key) beside demo, and a
// second encoder pushing LL-DASH into it with fragments of that part
// target, whose key stays off ffmpeg's command line.
func TestDemoLowLatencyConfig(t *testing.T) {
	t.Setenv("RINGSIDE_TOKEN", "demo-admin-token")
	dir := t.TempDir()
	if cfg := demoConfig("127.0.0.1:0", "", "", dir, false); len(cfg.Events) != 1 || len(demoEncoders(cfg, "http://h", "ffmpeg", false)) != 1 {
		t.Fatalf("without --low-latency: %d events", len(cfg.Events))
	}
	cfg := demoConfig("127.0.0.1:0", "", "", dir, true)
	if _, err := demoPKI(&cfg, dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the demo's configuration: %v", err)
	}
	if len(cfg.Events) != 2 || cfg.Events[1].ID != llEvent || !cfg.Events[1].LowLatency.Enabled ||
		time.Duration(cfg.Events[1].LowLatency.PartTarget) != 500*time.Millisecond {
		t.Fatalf("events %+v", cfg.Events)
	}
	if cfg.Events[0].StreamKey == cfg.Events[1].StreamKey || cfg.Events[1].StreamKey == "" {
		t.Error("the low-latency event shares the demo's stream key")
	}
	encs := demoEncoders(cfg, "http://127.0.0.1:8080", "ffmpeg", true)
	if len(encs) != 2 {
		t.Fatalf("%d encoders", len(encs))
	}
	hls, ll := encs[0], encs[1]
	if hls.LowLatency || !hls.FMP4 || hls.IngestBase != "http://127.0.0.1:8080/ingest/demo" {
		t.Errorf("the HLS encoder: %+v", hls)
	}
	if !ll.LowLatency || ll.PartTarget != 500*time.Millisecond || ll.FPS != 30 || ll.StreamKey != cfg.Events[1].StreamKey ||
		!slices.Equal(ll.Ladder, encoder.DefaultConfig().Ladder) {
		t.Errorf("the low-latency encoder: %+v", ll)
	}
	if err := ll.Validate(); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(encoder.Args(ll), " ")
	if !strings.HasSuffix(args, " http://127.0.0.1:8080/ingest/demo-ll/manifest.mpd") || !strings.Contains(args, "-ldash 1") ||
		strings.Contains(args, ll.StreamKey) {
		t.Errorf("the low-latency encoder's arguments: %s", args)
	}
}
