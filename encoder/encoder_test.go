package encoder

import (
	"context"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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

func TestArgsLowLatency(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IngestBase, cfg.StreamKey, cfg.LowLatency, cfg.FPS = "http://127.0.0.1:8080/ingest/ev/", "k3y", true, 30
	args := Args(cfg)
	a := strings.Join(args, " ")
	for _, want := range []string{
		"-f dash -ldash 1 -streaming 1 -seg_duration 2 -frag_type duration -frag_duration 0.425667",
		"-use_template 1 -use_timeline 0 -window_size 6 -extra_window_size 2",
		"-adaptation_sets id=0,streams=v id=1,streams=a", "-method PUT -http_persistent 1 -ignore_io_errors 1",
		"-fpre /dev/fd/3", "-g 60 -keyint_min 60", "-tune zerolatency", "-c:a aac",
		"-map [v0] -map [v1] -map 1:a -c:v", // one audio, in its own adaptation set
	} {
		if !strings.Contains(a, want) {
			t.Errorf("args lack %q:\n%s", want, a)
		}
	}
	if got := args[len(args)-1]; got != "http://127.0.0.1:8080/ingest/ev/manifest.mpd" {
		t.Errorf("push URL %q", got)
	}
	for _, not := range []string{"k3y", "-headers", "-http_opts", "-hls", "-var_stream_map", "-write_prft", "-utc_timing_url"} {
		if strings.Contains(a, not) {
			t.Errorf("args carry %q:\n%s", not, a)
		}
	}
}

// TestFragDuration checks -frag_duration against the mov muxer's rule: a
// fragment ends before the first packet whose decode time is at least
// -frag_duration (in microseconds) after the fragment's first, so it lasts
// the first whole number of frames reaching it. No fragment may be longer
// than the part target, nor shorter than 85% of it (RFC 8216bis's floor
// for every part but a segment's last), and the last fragment of a 2 s
// segment (what is left of its frames) not shorter than a fifth of it:
// hls.js stalls on parts of one or two AAC frames.
func TestFragDuration(t *testing.T) {
	for _, tc := range []struct {
		fps    int
		target time.Duration
	}{
		{30, 500 * time.Millisecond}, {15, 500 * time.Millisecond}, {20, 500 * time.Millisecond},
		{24, 500 * time.Millisecond}, {25, 500 * time.Millisecond}, {60, 500 * time.Millisecond},
		{30, 200 * time.Millisecond}, {15, time.Second}, {30, 333 * time.Millisecond}, {25, 333 * time.Millisecond},
		{50, 200 * time.Millisecond}, {60, time.Second},
	} {
		cfg := DefaultConfig()
		cfg.FPS, cfg.PartTarget = tc.fps, tc.target
		// What ffmpeg parses from the argument: microseconds.
		us, err := strconv.ParseFloat(strconv.FormatFloat(fragDuration(cfg).Seconds(), 'f', 6, 64), 64)
		if err != nil {
			t.Fatal(err)
		}
		f := int64(math.Round(us * 1e6))
		for _, s := range []struct {
			name     string
			num, den int64   // frame duration num/den seconds
			segment  []int64 // frames in a 2 s segment
		}{
			{"video", 1, int64(tc.fps), []int64{2 * int64(tc.fps)}},
			// Cut at the first frame at or after each 2 s boundary.
			{"audio", 1024, sampleRate, []int64{93, 94}},
		} {
			// First frame k with round(k*num/den s in µs) >= f.
			k := int64(1)
			for (k*s.num*1e6+s.den/2)/s.den < f {
				k++
			}
			got := time.Duration(k * s.num * int64(time.Second) / s.den)
			if got > tc.target || got*100 < tc.target*85 {
				t.Errorf("%d fps, part target %v: -frag_duration %dµs makes %s fragments of %v", tc.fps, tc.target, f, s.name, got)
			}
			for _, n := range s.segment {
				rest := n % k
				if rest == 0 {
					rest = k
				}
				if last := time.Duration(rest * s.num * int64(time.Second) / s.den); last*5 < tc.target {
					t.Errorf("%d fps, part target %v: -frag_duration %dµs leaves a last %s fragment of %v in a segment of %d frames",
						tc.fps, tc.target, f, s.name, last, n)
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, base, key, err string
		ll                   bool
		part                 time.Duration
	}{
		{"empty", "", "", "ingest base", false, 0},
		{"ok", "http://127.0.0.1:1/ingest/x", "k3y-_.~AZ09", "", false, 0},
		{"no key", "http://127.0.0.1:1/ingest/x", "", "", false, 0},
		// A line break would add headers (or end the preset line).
		{"key with CRLF", "http://127.0.0.1:1/ingest/x", "k\r\nX-Evil: 1", "stream key", false, 0},
		{"key with LF", "http://127.0.0.1:1/ingest/x", "k\nheaders=x", "stream key", false, 0},
		{"key too long", "http://127.0.0.1:1/ingest/x", strings.Repeat("k", maxKeyLen+1), "stream key", false, 0},
		{"low latency", "http://127.0.0.1:1/ingest/x", "k'e\\y:=#", "", true, 500 * time.Millisecond},
		// Each ' is four characters once quoted for -http_opts.
		{"low latency key too long quoted", "http://127.0.0.1:1/ingest/x", strings.Repeat("'", 300), "stream key", true, 500 * time.Millisecond},
		{"part target zero", "http://127.0.0.1:1/ingest/x", "k", "part target", true, 0},
		{"part target over segment", "http://127.0.0.1:1/ingest/x", "k", "part target", true, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.IngestBase, cfg.StreamKey, cfg.LowLatency = tc.base, tc.key, tc.ll
			if tc.ll {
				cfg.PartTarget = tc.part
			}
			err := cfg.Validate()
			if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("validate: %v, want %q", err, tc.err)
			}
		})
	}
	cfg := DefaultConfig()
	cfg.IngestBase, cfg.LowLatency, cfg.FPS, cfg.PartTarget = "http://127.0.0.1:1/ingest/x", true, 8, 110*time.Millisecond
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "shorter than a frame") {
		t.Errorf("a part target under one frame at 8 fps: %v", err)
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
	f, err := keyPreset(presetLine("k3y", false))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f) // EOF: the write end is closed
	if err != nil || string(b) != "headers=Authorization: Bearer k3y\n" {
		t.Fatalf("preset %q, %v", b, err)
	}
}

func TestPresetLine(t *testing.T) {
	for _, tc := range []struct {
		key  string
		dash bool
		want string
	}{
		{"k3y", false, "headers=Authorization: Bearer k3y\n"},
		{"k3y", true, "http_opts=headers='Authorization: Bearer k3y'\n"},
		// Quoted for av_get_token: only ' needs care inside quotes.
		{`k'e\y:=#"`, true, `http_opts=headers='Authorization: Bearer k'\''e\y:=#"'` + "\n"},
	} {
		if got := presetLine(tc.key, tc.dash); got != tc.want {
			t.Errorf("presetLine(%q, %v) = %q, want %q", tc.key, tc.dash, got, tc.want)
		}
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
