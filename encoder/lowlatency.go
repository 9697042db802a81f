package encoder

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

const (
	// sampleRate is the tone's, and so the AAC encoder's, sample rate.
	sampleRate = 48000
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

// fragDuration is ffmpeg's -frag_duration for the event's parts. The mov
// muxer ends a fragment before the first packet whose decode time is at
// least -frag_duration after the fragment's first, so a fragment lasts
// -frag_duration rounded up to a whole number of frames, in each stream:
// with -frag_duration 0.5, AAC at 48 kHz (21.3 ms frames) makes 0.512 s
// fragments and 15 fps video 0.533 s ones, longer than a 0.5 s part target.
// A segment restarts the fragments, so its last fragment is what is left
// of the segment: 0.491 s audio fragments (23 frames) leave 1 or 2 frames
// (21 or 43 ms) at the end of each 2 s segment, and hls.js can stall on
// such a sliver of a part (Chromium buffers none of it: the player finds
// a hole where it loaded a part).
//
// So the answer is chosen among the values just under a frame boundary of
// either stream: every fragment within the part target and, when any
// value allows it, at least 85% of it (RFC 8216bis's floor for all parts
// but a segment's last); among those, the one whose shortest last
// fragment (video, and audio in segments of either whole number of AAC
// frames) is longest, the longer fragments on a tie. At 30 fps and 0.5 s:
// 0.425667, 13 video frames (0.433 s) and 20 AAC frames (0.427 s), the
// last parts 0.267 s and 0.277 or 0.299 s.
func fragDuration(cfg Config) time.Duration {
	t := cfg.PartTarget
	video := frameRate{num: int64(time.Second), den: int64(cfg.FPS)}
	audio := frameRate{num: aacSamples * int64(time.Second), den: sampleRate}
	seg := time.Duration(cfg.SegmentSeconds) * time.Second
	videoFrames := []int64{video.framesIn(seg)}
	audioFrames := []int64{audio.framesIn(seg)}
	if audio.at(audioFrames[0]) != seg {
		// Segments cut at the first AAC frame at or after each boundary.
		audioFrames = append(audioFrames, audioFrames[0]+1)
	}
	var edges []time.Duration
	for _, r := range []frameRate{video, audio} {
		for k := int64(1); r.at(k) <= t; k++ {
			edges = append(edges, r.at(k))
		}
	}
	best, bestLast, bestFull := time.Duration(0), time.Duration(-1), false
	for _, e := range edges {
		// 1 ms under the edge: frame boundaries are at least 16 ms apart
		// (60 fps), and ffmpeg's microsecond rounding cannot push the cut
		// past it.
		d := e - time.Millisecond
		if d <= 0 {
			continue
		}
		kv, ka := video.framesReaching(d), audio.framesReaching(d)
		fv, fa := video.at(kv), audio.at(ka)
		if fv > t || fa > t {
			continue
		}
		full := fv*100 >= t*85 && fa*100 >= t*85
		last := lastFragment(videoFrames, kv, video)
		last = min(last, lastFragment(audioFrames, ka, audio))
		if best == 0 || (full && !bestFull) || (full == bestFull && (last > bestLast || last == bestLast && d > best)) {
			best, bestLast, bestFull = d, last, full
		}
	}
	return best
}

// aacSamples is the number of samples in an AAC-LC frame.
const aacSamples = 1024

// frameRate is a stream's frame duration, num/den nanoseconds.
type frameRate struct{ num, den int64 }

// at is when frame k starts.
func (r frameRate) at(k int64) time.Duration { return time.Duration(k * r.num / r.den) }

// framesIn is how many whole frames fit in d.
func (r frameRate) framesIn(d time.Duration) int64 { return int64(d) * r.den / r.num }

// framesReaching is the number of frames in a fragment cut at the first
// frame at least d after its start.
func (r frameRate) framesReaching(d time.Duration) int64 {
	return (int64(d)*r.den + r.num - 1) / r.num
}

// lastFragment is the shortest last fragment of k frames each in segments
// of any of the frame counts.
func lastFragment(segments []int64, k int64, r frameRate) time.Duration {
	last := time.Duration(math.MaxInt64)
	for _, n := range segments {
		rest := n % k
		if rest == 0 {
			rest = k
		}
		last = min(last, r.at(rest))
	}
	return last
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
