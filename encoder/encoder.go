package encoder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Rung is one rendition of the ladder.
type Rung struct {
	Width, Height int
	VideoKbps     int
}

// Config describes the push.
type Config struct {
	// FFmpeg is the ffmpeg binary (default "ffmpeg" on PATH).
	FFmpeg string
	// IngestBase is the node's ingest URL for the event, e.g.
	// "http://127.0.0.1:8080/ingest/demo".
	IngestBase string
	// StreamKey goes to the node as "Authorization: Bearer KEY". ffmpeg
	// reads it from a pipe, never from its command line (see the package
	// doc), so it is at most maxKeyLen printable ASCII characters.
	StreamKey string
	Ladder    []Rung
	FPS       int
	// Preset is the x264 preset; ultrafast keeps a 2-core machine free.
	Preset string
	// SegmentSeconds is -hls_time; ListSize is -hls_list_size.
	SegmentSeconds int
	ListSize       int
	// FMP4 selects fMP4/CMAF segments instead of MPEG-TS.
	FMP4 bool
	// Persistent keeps one ordered connection per rendition
	// (-http_persistent 1); without it the playlist may arrive before the
	// segment it lists.
	Persistent bool
	// LowLatency pushes low-latency DASH/CMAF instead of HLS (ffmpeg's dash
	// muxer with -ldash and -streaming): the MPD to IngestBase/manifest.mpd,
	// video and AAC audio in two adaptation sets, each segment uploaded
	// while it is encoded, as CMAF fragments of at most PartTarget (see
	// the package doc). SegmentSeconds is -seg_duration, ListSize
	// -window_size; FMP4 does not apply.
	LowLatency bool
	// PartTarget is, with LowLatency, the longest fragment: the event's
	// low_latency.part_target, which the ingest node's LL-HLS parts keep
	// to. An even FPS makes 0.5 s a whole number of frames.
	PartTarget time.Duration
	// Duration stops the encoder after this much media (0: until ctx ends).
	Duration time.Duration
	Logger   *slog.Logger
}

// DefaultConfig is a cheap 2-rung ladder: 480p and 240p at 15 fps,
// ultrafast, 2 s segments, 6 in the playlist.
func DefaultConfig() Config {
	return Config{FFmpeg: "ffmpeg", Ladder: []Rung{{Width: 854, Height: 480, VideoKbps: 1200}, {Width: 426, Height: 240, VideoKbps: 400}}, FPS: 15, Preset: "ultrafast",
		SegmentSeconds: 2, ListSize: 6, Persistent: true, PartTarget: 500 * time.Millisecond}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.IngestBase == "" || !strings.HasPrefix(c.IngestBase, "http") {
		errs = append(errs, fmt.Errorf("encoder: ingest base %q is not an http URL", c.IngestBase))
	}
	if len(c.Ladder) == 0 {
		errs = append(errs, errors.New("encoder: ladder is empty"))
	}
	if len(c.StreamKey) > maxKeyLen || strings.IndexFunc(c.StreamKey, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
		errs = append(errs, fmt.Errorf("encoder: stream key must be at most %d printable ASCII characters", maxKeyLen))
	}
	if c.FPS <= 0 || c.SegmentSeconds <= 0 || c.ListSize <= 0 {
		errs = append(errs, errors.New("encoder: fps, segment seconds and list size must be positive"))
	}
	if c.LowLatency {
		errs = append(errs, c.validateLowLatency()...)
	}
	return errors.Join(errs...)
}

// Args returns ffmpeg's arguments for cfg. They never contain the stream
// key: with one, they make ffmpeg read it from a preset on file descriptor
// 3, which Run provides.
func Args(cfg Config) []string {
	a := sourceArgs(cfg)
	if cfg.LowLatency {
		a = append(a, dashArgs(cfg)...)
	} else {
		a = append(a, hlsArgs(cfg)...)
	}
	if cfg.StreamKey != "" {
		// The key's header comes from the preset Run passes on this fd.
		a = append(a, "-fpre", "/dev/fd/"+strconv.Itoa(presetFD))
	}
	if cfg.LowLatency {
		return append(a, strings.TrimRight(cfg.IngestBase, "/")+"/manifest.mpd")
	}
	return append(a, strings.TrimRight(cfg.IngestBase, "/")+"/%v/index.m3u8")
}

// sourceArgs is the synthetic source (test pattern and tone), the ladder
// and the encoders: libx264 with one keyframe per segment, so every
// segment starts with one, and AAC. HLS maps the audio once per rung (a
// variant stream per rung), low-latency DASH once (its own adaptation
// set).
func sourceArgs(cfg Config) []string {
	gop := strconv.Itoa(cfg.FPS * cfg.SegmentSeconds)
	a := []string{"-hide_banner", "-loglevel", "warning", "-nostdin",
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", cfg.Ladder[0].Width, cfg.Ladder[0].Height, cfg.FPS),
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=1000:sample_rate=%d", sampleRate)}
	if cfg.Duration > 0 {
		a = append(a, "-t", strconv.FormatFloat(cfg.Duration.Seconds(), 'f', 3, 64))
	}
	var fc strings.Builder
	fmt.Fprintf(&fc, "[0:v]split=%d", len(cfg.Ladder))
	for i := range cfg.Ladder {
		fmt.Fprintf(&fc, "[s%d]", i)
	}
	for i, r := range cfg.Ladder {
		fmt.Fprintf(&fc, ";[s%d]scale=%d:%d[v%d]", i, r.Width, r.Height, i)
	}
	a = append(a, "-filter_complex", fc.String())
	for i := range cfg.Ladder {
		a = append(a, "-map", fmt.Sprintf("[v%d]", i))
	}
	audio := len(cfg.Ladder)
	if cfg.LowLatency {
		audio = 1
	}
	for range audio {
		a = append(a, "-map", "1:a")
	}
	a = append(a, "-c:v", "libx264", "-preset", cfg.Preset, "-g", gop, "-keyint_min", gop, "-sc_threshold", "0")
	if cfg.LowLatency {
		// No lookahead or frame-thread delay inside x264.
		a = append(a, "-tune", "zerolatency")
	}
	for i, r := range cfg.Ladder {
		a = append(a, fmt.Sprintf("-b:v:%d", i), fmt.Sprintf("%dk", r.VideoKbps))
	}
	return append(a, "-c:a", "aac", "-b:a", "96k", "-ac", "2")
}

// hlsArgs is the HLS push: a variant stream per rung, each with its audio.
func hlsArgs(cfg Config) []string {
	var vsm []string
	for i := range cfg.Ladder {
		vsm = append(vsm, fmt.Sprintf("v:%d,a:%d", i, i))
	}
	a := []string{"-f", "hls", "-method", "PUT", "-http_persistent", boolArg(cfg.Persistent),
		"-hls_time", strconv.Itoa(cfg.SegmentSeconds), "-hls_list_size", strconv.Itoa(cfg.ListSize),
		"-hls_flags", "delete_segments+independent_segments+program_date_time",
		"-master_pl_name", "master.m3u8", "-var_stream_map", strings.Join(vsm, " "),
		"-ignore_io_errors", "1"}
	if cfg.FMP4 {
		a = append(a, "-hls_segment_type", "fmp4")
	}
	return a
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Run starts ffmpeg and waits for it. When ctx ends, ffmpeg gets SIGINT so
// it finishes the playlists (ENDLIST), and is killed if it has not exited
// 5 s later. It returns nil when ffmpeg ran to Duration or ctx ended.
func Run(ctx context.Context, cfg Config) error {
	return run(ctx, cfg, nil)
}

// run is Run; started, if set, is called once ffmpeg runs (tests look at
// its /proc entries).
func run(ctx context.Context, cfg Config, started func(pid int)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	bin := cfg.FFmpeg
	if bin == "" {
		bin = "ffmpeg"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return fmt.Errorf("encoder: %s not found (on Debian: apt-get install ffmpeg): %w", bin, err)
	}
	cmd := exec.CommandContext(ctx, path, Args(cfg)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr := &stderrBuffer{max: 64 << 10}
	cmd.Stderr = stderr
	if cfg.StreamKey != "" {
		preset, err := keyPreset(presetLine(cfg.StreamKey, cfg.LowLatency))
		if err != nil {
			return err
		}
		cmd.ExtraFiles = []*os.File{preset} // fd 3: presetFD
	}
	err = cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close() // ffmpeg has its own copy
	}
	if err != nil {
		return fmt.Errorf("encoder: start ffmpeg: %w", err)
	}
	if cfg.Logger != nil {
		cfg.Logger.Info("encoder started", "pid", cmd.Process.Pid, "ingest", cfg.IngestBase)
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("encoder: ffmpeg: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
