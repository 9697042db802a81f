package encoder

import (
	"context"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IngestBase, cfg.StreamKey, cfg.FMP4 = "http://127.0.0.1:8080/ingest/ev/", "k3y", true
	a := strings.Join(Args(cfg), " ")
	for _, want := range []string{
		"-method PUT", "-http_persistent 1", "-hls_time 2", "-hls_list_size 6", "-hls_segment_type fmp4",
		`-var_stream_map v:0,a:0 v:1,a:1`, "Authorization: Bearer k3y", "-g 30", "-preset ultrafast",
		"[0:v]split=2[s0][s1];[s0]scale=854:480[v0];[s1]scale=426:240[v1]",
		"http://127.0.0.1:8080/ingest/ev/%v/index.m3u8",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("args lack %q:\n%s", want, a)
		}
	}
}

func TestValidateAndMissingBinary(t *testing.T) {
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "ingest base") {
		t.Fatalf("validate: %v", err)
	}
	cfg := DefaultConfig()
	cfg.IngestBase, cfg.FFmpeg = "http://127.0.0.1:1/ingest/x", "ffmpeg-that-does-not-exist"
	if err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Fatalf("missing binary: %v", err)
	}
}
