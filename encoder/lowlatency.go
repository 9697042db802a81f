package encoder

import (
	"fmt"
	"strconv"
	"time"
)

const (
	// sampleRate is the tone's, and so the AAC encoder's, sample rate.
	sampleRate = 48000
	// aacFrame is the duration of one AAC-LC frame: 1024 samples.
	aacFrame = time.Second * 1024 / sampleRate
	// extraWindow is -extra_window_size: segments that left the MPD's
	// window but stay on the node until ffmpeg DELETEs them, for players
	// one MPD behind.
	extraWindow = 2
	// minPartTarget and the segment bound the part target as the node's
	// low_latency.part_target does.
	minPartTarget = 100 * time.Millisecond
)

// dashArgs is the low-latency DASH/CMAF push: one chunked PUT per segment
// that lasts the segment, a CMAF fragment (moof+mdat) every part, the MPD
// re-uploaded as segments complete.
//
// No -write_prft: in ffmpeg 5.1 it needs -utc_timing_url, which also
// becomes the MPD's UTCTiming (http-xsdate) that players fetch, and the
// node serves no xsdate clock; a URL elsewhere would send every player
// off the machine. The MPD's availabilityStartTime is already the
// encoder's wall clock, which is all the node and players need.
func dashArgs(cfg Config) []string {
	return []string{"-f", "dash", "-ldash", "1", "-streaming", "1",
		"-seg_duration", strconv.Itoa(cfg.SegmentSeconds),
		"-frag_type", "duration", "-frag_duration", strconv.FormatFloat(fragDuration(cfg).Seconds(), 'f', 6, 64),
		"-use_template", "1", "-use_timeline", "0",
		"-window_size", strconv.Itoa(cfg.ListSize), "-extra_window_size", strconv.Itoa(extraWindow),
		"-adaptation_sets", "id=0,streams=v id=1,streams=a",
		"-method", "PUT", "-http_persistent", boolArg(cfg.Persistent), "-ignore_io_errors", "1"}
}

// fragDuration is ffmpeg's -frag_duration for fragments of at most
// cfg.PartTarget. The mov muxer ends a fragment before the first packet
// whose decode time is at least -frag_duration after the fragment's
// first, so a fragment lasts -frag_duration rounded up to a whole number
// of frames: with -frag_duration 0.5, AAC at 48 kHz (21.3 ms frames) makes
// 0.512 s fragments and 15 fps video 0.533 s ones, longer than a 0.5 s
// part target. The answer sits just under the last frame boundary at or
// before the target in both streams: 30 fps video then gets 0.5 s
// fragments, audio 0.491 s ones (23 frames), and each segment ends with a
// shorter fragment (RFC 8216bis allows a short last part).
func fragDuration(cfg Config) time.Duration {
	t, fps := int64(cfg.PartTarget), int64(cfg.FPS)
	videoEdge := time.Duration(t * fps / int64(time.Second) * int64(time.Second) / fps)
	audioEdge := cfg.PartTarget / aacFrame * aacFrame
	edge := min(videoEdge, audioEdge)
	// 1 ms under the edge: frame boundaries are at least 21 ms apart, and
	// ffmpeg's microsecond rounding cannot push the cut past it.
	return edge - time.Millisecond
}

// validateLowLatency checks what the low-latency push needs.
func (c Config) validateLowLatency() []error {
	var errs []error
	if c.FPS <= 0 || c.SegmentSeconds <= 0 {
		return nil // reported by Validate
	}
	seg := time.Duration(c.SegmentSeconds) * time.Second
	if c.PartTarget < minPartTarget || c.PartTarget > seg {
		errs = append(errs, fmt.Errorf("encoder: part target %v must be between %v and the segment duration %v", c.PartTarget, minPartTarget, seg))
	} else if frame := time.Second / time.Duration(c.FPS); c.PartTarget < frame {
		errs = append(errs, fmt.Errorf("encoder: part target %v is shorter than a frame at %d fps", c.PartTarget, c.FPS))
	}
	if len(presetLine(c.StreamKey, true)) > maxPresetLine {
		errs = append(errs, fmt.Errorf("encoder: stream key too long for ffmpeg's preset line once quoted for -http_opts"))
	}
	return errs
}
