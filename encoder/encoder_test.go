package encoder

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IngestBase, cfg.StreamKey, cfg.FMP4 = "http://127.0.0.1:8080/ingest/ev/", "k3y", true
	args := Args(cfg)
	a := strings.Join(args, " ")
	for _, want := range []string{
		"-method PUT", "-http_persistent 1", "-hls_time 2", "-hls_list_size 6", "-hls_segment_type fmp4",
		`-var_stream_map v:0,a:0 v:1,a:1`, "-fpre /dev/fd/3", "-g 30", "-preset ultrafast",
		"[0:v]split=2[s0][s1];[s0]scale=854:480[v0];[s1]scale=426:240[v1]",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("args lack %q:\n%s", want, a)
		}
	}
	if got := args[len(args)-1]; got != "http://127.0.0.1:8080/ingest/ev/%v/index.m3u8" {
		t.Errorf("push URL %q", got)
	}
	if strings.Contains(a, "k3y") || slices.Contains(args, "-headers") {
		t.Errorf("args carry the key:\n%s", a)
	}
	cfg.StreamKey = ""
	if a := strings.Join(Args(cfg), " "); strings.Contains(a, "-fpre") {
		t.Errorf("args without a key read a preset:\n%s", a)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, base, key, err string
	}{
		{"empty", "", "", "ingest base"},
		{"ok", "http://127.0.0.1:1/ingest/x", "k3y-_.~AZ09", ""},
		{"no key", "http://127.0.0.1:1/ingest/x", "", ""},
		// A line break would add headers (or end the preset line).
		{"key with CRLF", "http://127.0.0.1:1/ingest/x", "k\r\nX-Evil: 1", "stream key"},
		{"key with LF", "http://127.0.0.1:1/ingest/x", "k\nheaders=x", "stream key"},
		{"key too long", "http://127.0.0.1:1/ingest/x", strings.Repeat("k", maxKeyLen+1), "stream key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.IngestBase, cfg.StreamKey = tc.base, tc.key
			err := cfg.Validate()
			if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("validate: %v, want %q", err, tc.err)
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IngestBase, cfg.FFmpeg = "http://127.0.0.1:1/ingest/x", "ffmpeg-that-does-not-exist"
	if err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Fatalf("missing binary: %v", err)
	}
}

func TestKeyPreset(t *testing.T) {
	f, err := keyPreset("k3y")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f) // EOF: the write end is closed
	if err != nil || string(b) != "headers=Authorization: Bearer k3y\n" {
		t.Fatalf("preset %q, %v", b, err)
	}
}

func TestStderrBuffer(t *testing.T) {
	s := &stderrBuffer{max: 64}
	for _, w := range []string{
		"[http @ 0x5", "5e7] ", "No trailing CRLF found in HTTP header. Adding it.\n",
		"[hls @ 0x1] Failed to open file 'x'\n",
		"[http @ 0x5] No trailing CRLF found in HTTP header. Adding it.\n",
		"Conversion failed!",
	} {
		if n, err := s.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	if got, want := s.String(), "[hls @ 0x1] Failed to open file 'x'\nConversion failed!"; got != want {
		t.Fatalf("kept %q, want %q", got, want)
	}
	s.Write([]byte(strings.Repeat("x", 100) + "\n"))
	if len(s.String()) != 64 {
		t.Fatalf("kept %d bytes, want the first 64", len(s.String()))
	}
}
