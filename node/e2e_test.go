package node

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/encoder/encodertest"
	"github.com/ringside-live/ringside/pkg/segment"

	"github.com/ringside-live/ringside/pkg/poll"
)

// TestFFmpegPushEndToEnd pushes a real ffmpeg 2-rung ladder into a node and
// checks what players get: a master with two variants, media playlists
// whose sequence advances, segments ffprobe reads as H.264 + AAC of about
// the target duration, and DELETEd segments gone.
func TestFFmpegPushEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fmp4       bool
		persistent bool
	}{
		{"ts-separate-connections", false, false},
		{"fmp4-persistent", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runPush(t, tc.fmp4, tc.persistent)
		})
	}
}

func runPush(t *testing.T, fmp4, persistent bool) {
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is required (make test installs it): %v", bin, err)
		}
	}
	n := startNode(t, func(c *Config) {
		c.Ingest.ListedGrace = Duration(3 * time.Second)
		c.Events = []EventConfig{{ID: "fight", StreamKey: testKey}}
	})
	base := "http://" + n.HTTPAddr()
	ecfg := encodertest.Config(base+"/ingest/fight", testKey)
	ecfg.ListSize, ecfg.FMP4, ecfg.Persistent = 3, fmp4, persistent
	encodertest.Start(t, ecfg)
	live := base + "/live/fight/"

	var master *segment.MasterPlaylist
	poll.Until(t, "master playlist", 30*time.Second, func() bool {
		r := do(t, "GET", live+"master.m3u8", "", nil)
		if r.status != 200 {
			return false
		}
		var err error
		master, err = segment.ParseMaster([]byte(r.body))
		return err == nil
	})
	if len(master.Variants) != 2 {
		t.Fatalf("master has %d variants, want 2", len(master.Variants))
	}
	// Both media playlists advance past the first segments, so ffmpeg has
	// deleted index0 (delete_segments) by then.
	first := map[string]uint64{}
	for _, v := range master.Variants {
		pl := waitPlaylist(t, live+v.URI, func(p *segment.MediaPlaylist) bool { return p.MediaSequence >= 3 })
		first[v.URI] = pl.MediaSequence
		if pl.TargetDuration < 1 || pl.TargetDuration > 2 {
			t.Fatalf("%s: target duration %d", v.URI, pl.TargetDuration)
		}
	}
	for _, v := range master.Variants {
		pl := waitPlaylist(t, live+v.URI, func(p *segment.MediaPlaylist) bool { return p.MediaSequence > first[v.URI] })
		dir := v.URI[:strings.LastIndexByte(v.URI, '/')+1]
		s := pl.Segments[len(pl.Segments)-1]
		probeSegment(t, live+dir, pl, s, fmp4)
		gone := dir + strings.Replace(pl.Segments[0].URI, strconv.FormatUint(pl.MediaSequence, 10), "0", 1)
		poll.Until(t, "deleted "+gone, 10*time.Second, func() bool {
			return do(t, "HEAD", live+gone, "", nil).status == 404
		})
		for _, s := range pl.Segments {
			if dir+s.URI == gone {
				t.Fatalf("deleted segment %s still listed", gone)
			}
		}
	}
	// Nothing a real encoder sent was refused.
	m := do(t, "GET", base+"/metrics", "", nil).body
	for _, reason := range []string{"invalid_playlist", "aborted", "conflict"} {
		if line := `ringside_ingest_rejected_total{reason="` + reason + `"} 0`; !strings.Contains(m, line) {
			t.Errorf("metrics: want %s", line)
		}
	}
}

func waitPlaylist(t *testing.T, url string, ok func(*segment.MediaPlaylist) bool) *segment.MediaPlaylist {
	t.Helper()
	var pl *segment.MediaPlaylist
	poll.Until(t, "playlist "+url, 30*time.Second, func() bool {
		r := do(t, "GET", url, "", nil)
		if r.status != 200 {
			return false
		}
		p, err := segment.ParseMedia([]byte(r.body))
		if err != nil {
			t.Fatalf("served playlist does not parse: %v\n%s", err, r.body)
		}
		pl = p
		return ok(p)
	})
	return pl
}

// probeSegment runs ffprobe on a served segment (with its init segment for
// fMP4) and checks codecs and duration.
func probeSegment(t *testing.T, dirURL string, pl *segment.MediaPlaylist, s segment.MediaSegment, fmp4 bool) {
	t.Helper()
	input, stdin := dirURL+s.URI, ""
	if fmp4 {
		m := pl.MapFor(len(pl.Segments) - 1)
		if m == nil {
			t.Fatal("fMP4 playlist without EXT-X-MAP")
		}
		init := do(t, "GET", dirURL+m.URI, "", nil)
		seg := do(t, "GET", dirURL+s.URI, "", nil)
		if init.status != 200 || seg.status != 200 {
			t.Fatalf("init %d, segment %d", init.status, seg.status)
		}
		input, stdin = "pipe:0", init.body+seg.body
	}
	cmd := exec.Command("ffprobe", "-v", "error", "-count_frames",
		"-show_entries", "stream=codec_name,codec_type,nb_read_frames,r_frame_rate", "-of", "json", input)
	if fmp4 {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", s.URI, err)
	}
	var probe struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
			CodecType string `json:"codec_type"`
			Frames    string `json:"nb_read_frames"`
			Rate      string `json:"r_frame_rate"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe output: %v: %s", err, out)
	}
	codecs := map[string]bool{}
	d := 0.0
	for _, st := range probe.Streams {
		codecs[st.CodecType+"/"+st.CodecName] = true
		if st.CodecType == "video" {
			// Duration from the frame count: container durations of a lone
			// fMP4 fragment include its decode-time offset.
			frames, _ := strconv.ParseFloat(st.Frames, 64)
			num, den, _ := strings.Cut(st.Rate, "/")
			fn, _ := strconv.ParseFloat(num, 64)
			fd, _ := strconv.ParseFloat(den, 64)
			if fn > 0 && fd > 0 {
				d = frames / (fn / fd)
			}
		}
	}
	if !codecs["video/h264"] || !codecs["audio/aac"] {
		t.Fatalf("%s: streams %v, want video/h264 and audio/aac", s.URI, codecs)
	}
	if d < float64(pl.TargetDuration)*0.5 || d > float64(pl.TargetDuration)*1.6 {
		t.Fatalf("%s: duration %.3fs, target %ds", s.URI, d, pl.TargetDuration)
	}
	t.Logf("ffprobe %s: %v, %.3f s", s.URI, codecs, d)
}
