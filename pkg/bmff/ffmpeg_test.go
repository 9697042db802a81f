package bmff

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests on real ffmpeg output, made in t.TempDir() on each run.

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: these tests encode real CMAF (on Debian: apt-get install -y ffmpeg)", tool)
		}
	}
}

func hasEncoder(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if err != nil {
		t.Fatalf("ffmpeg -encoders: %v", err)
	}
	return bytes.Contains(out, []byte(" "+name+" "))
}

// runFFmpeg runs ffmpeg with a deadline far above its real run time (the
// encodes take seconds) so that a hung ffmpeg fails the test instead of
// the whole run.
func runFFmpeg(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// mpd is the part of ffmpeg's manifest the tests compare with.
type mpd struct {
	Periods []struct {
		Sets []struct {
			ContentType string           `xml:"contentType,attr"`
			Reps        []representation `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
}

type representation struct {
	ID       string `xml:"id,attr"`
	Codecs   string `xml:"codecs,attr"`
	Width    int    `xml:"width,attr"`
	Height   int    `xml:"height,attr"`
	Rate     int    `xml:"audioSamplingRate,attr"`
	Channels []struct {
		Value string `xml:"value,attr"`
	} `xml:"AudioChannelConfiguration"`
	Template struct {
		Timescale int64 `xml:"timescale,attr"`
		Duration  int64 `xml:"duration,attr"`
	} `xml:"SegmentTemplate"`
	kind string // the adaptation set's contentType
}

func readMPD(t *testing.T, b []byte) []representation {
	t.Helper()
	var m mpd
	if err := xml.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var reps []representation
	for _, p := range m.Periods {
		for _, s := range p.Sets {
			for _, r := range s.Reps {
				r.kind = s.ContentType
				reps = append(reps, r)
			}
		}
	}
	if len(reps) == 0 {
		t.Fatalf("manifest has no Representation:\n%s", b)
	}
	return reps
}

// checkInit compares ParseInit's view of an init segment with the MPD.
func checkInit(t *testing.T, rep representation, b []byte) *Init {
	t.Helper()
	in, err := ParseInit(b)
	if err != nil {
		t.Fatalf("representation %s: %v", rep.ID, err)
	}
	if len(in.Tracks) != 1 || !in.Fragmented {
		t.Fatalf("representation %s: %+v", rep.ID, in)
	}
	tr := in.Tracks[0]
	if tr.Codec != rep.Codecs {
		t.Errorf("representation %s: codec %q, MPD says %q", rep.ID, tr.Codec, rep.Codecs)
	}
	switch rep.kind {
	case "video":
		if tr.Handler != HandlerVideo || tr.Width != rep.Width || tr.Height != rep.Height {
			t.Errorf("representation %s: %s %dx%d, MPD says %dx%d", rep.ID, tr.Handler, tr.Width, tr.Height, rep.Width, rep.Height)
		}
	case "audio":
		if tr.Handler != HandlerAudio || tr.SampleRate != rep.Rate {
			t.Errorf("representation %s: %s at %d Hz, MPD says %d Hz", rep.ID, tr.Handler, tr.SampleRate, rep.Rate)
		}
		if len(rep.Channels) == 1 && strconv.Itoa(tr.Channels) != rep.Channels[0].Value {
			t.Errorf("representation %s: %d channels, MPD says %s", rep.ID, tr.Channels, rep.Channels[0].Value)
		}
	}
	return in
}

// keyframes lists, in decode order, whether each packet of the first
// stream of an init segment plus its media segments is a keyframe, as
// ffprobe sees it: an opinion independent of this package.
func keyframes(t *testing.T, dir string, init []byte, segs [][]byte) []bool {
	t.Helper()
	path := filepath.Join(dir, "probe.mp4")
	if err := os.WriteFile(path, slices.Concat(append([][]byte{init}, segs...)...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "0", "-show_entries", "packet=flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var ks []bool
	for _, l := range strings.Fields(string(out)) {
		ks = append(ks, strings.HasPrefix(l, "K"))
	}
	return ks
}

// checkSegments scans every media segment of one representation and
// checks the fragments against the encoding: they tile each segment,
// decode times run on without gaps, sequence numbers count up, segments
// start every segDur seconds, and a fragment is independent exactly when
// ffprobe says its first packet is a keyframe. It returns the fragments
// of each segment.
func checkSegments(t *testing.T, dir string, rep representation, in *Init, initBytes []byte, segs [][]byte) [][]Fragment {
	t.Helper()
	tr := in.Tracks[0]
	segDur := float64(rep.Template.Duration) / float64(rep.Template.Timescale)
	var all [][]Fragment
	var nextTime uint64
	var nextSeq uint32 = 1
	var flat []Fragment
	for i, seg := range segs {
		frags := scanChunked(t, in, seg)
		checkTiling(t, frags, len(seg))
		start := float64(frags[0].Tracks[0].DecodeTime) / float64(tr.Timescale)
		// Video segments start on frames at the boundary; audio ones on the
		// audio frame (1024 to 1536 samples) nearest it.
		slack := 1e-9
		if rep.kind == "audio" {
			slack = 0.1
		}
		if math.Abs(start-float64(i)*segDur) > slack {
			t.Errorf("representation %s segment %d starts at %.4f s, want %.1f", rep.ID, i+1, start, float64(i)*segDur)
		}
		for j, f := range frags {
			ft := f.Tracks[0]
			if len(f.Tracks) != 1 || ft.TrackID != tr.ID || ft.Timescale != tr.Timescale || !ft.HasDecodeTime || ft.Samples == 0 {
				t.Fatalf("segment %d fragment %d: %+v", i+1, j, f)
			}
			if ft.DecodeTime != nextTime || f.Sequence != nextSeq {
				t.Errorf("segment %d fragment %d: decode time %d, sequence %d; want %d, %d", i+1, j, ft.DecodeTime, f.Sequence, nextTime, nextSeq)
			}
			nextTime, nextSeq = ft.DecodeTime+ft.Duration, f.Sequence+1
		}
		all = append(all, frags)
		flat = append(flat, frags...)
	}
	// Durations sum to each segment's length: the next one's start, or
	// for video (cut on frames) exactly the MPD's segment duration.
	for i, frags := range all {
		var sum uint64
		for _, f := range frags {
			sum += f.Tracks[0].Duration
		}
		if i+1 < len(all) && frags[0].Tracks[0].DecodeTime+sum != all[i+1][0].Tracks[0].DecodeTime {
			t.Errorf("segment %d: durations sum to %d, next segment starts %d later", i+1, sum, all[i+1][0].Tracks[0].DecodeTime-frags[0].Tracks[0].DecodeTime)
		}
		if rep.kind == "video" && float64(sum) != segDur*float64(tr.Timescale) {
			t.Errorf("segment %d: video lasts %d/%d s, MPD says %.1f s", i+1, sum, tr.Timescale, segDur)
		}
	}
	ks := keyframes(t, dir, initBytes, segs)
	at := 0
	for i, f := range flat {
		if at >= len(ks) {
			t.Fatalf("fragments hold more samples than ffprobe's %d packets", len(ks))
		}
		if f.Independent() != ks[at] {
			t.Errorf("fragment %d (sample %d): Independent %v, ffprobe keyframe %v", i, at, f.Independent(), ks[at])
		}
		at += f.Tracks[0].Samples
	}
	if at != len(ks) {
		t.Errorf("fragments hold %d samples, ffprobe counts %d packets", at, len(ks))
	}
	return all
}

func readSegments(t *testing.T, dir, id string) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "chunk-stream"+id+"-*.m4s"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no media segments for representation %s in %s", id, dir)
	}
	slices.Sort(paths)
	var segs [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, b)
	}
	return segs
}

// TestFFmpegDASH: H.264 + AAC, 2-s segments of 0.5-s fragments, keyframe
// every 2 s.
func TestFFmpegDASH(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	runFFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine", "-t", "4",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-c:a", "aac",
		"-f", "dash", "-seg_duration", "2", "-frag_duration", "0.5", "-frag_type", "duration",
		"-use_template", "1", "-use_timeline", "0", filepath.Join(dir, "manifest.mpd"))
	m, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range readMPD(t, m) {
		t.Run(rep.kind, func(t *testing.T) {
			ib, err := os.ReadFile(filepath.Join(dir, "init-stream"+rep.ID+".m4s"))
			if err != nil {
				t.Fatal(err)
			}
			in := checkInit(t, rep, ib)
			segs := readSegments(t, dir, rep.ID)
			all := checkSegments(t, dir, rep, in, ib, segs)
			if rep.kind != "video" {
				return
			}
			if len(all) != 2 {
				t.Fatalf("%d video segments, want 2", len(all))
			}
			for i, frags := range all {
				if len(frags) != 4 {
					t.Fatalf("segment %d: %d fragments, want 4", i+1, len(frags))
				}
				for j, f := range frags {
					if f.Independent() != (j == 0) {
						t.Errorf("segment %d fragment %d: Independent %v", i+1, j, f.Independent())
					}
					if f.Seconds() != 0.5 {
						t.Errorf("segment %d fragment %d: %.4f s, want 0.5", i+1, j, f.Seconds())
					}
				}
			}
		})
	}
}

// TestFFmpegLowLatencyPush runs the low-latency recipe of
// ENCODER-FACTS.md against an HTTP server: ffmpeg PUTs each segment as
// one chunked request while it encodes, and the server scans the body as
// it reads it (io.Copy through a MultiWriter), so the fragments come from
// real HTTP chunking. They must equal those of the whole body.
func TestFFmpegLowLatencyPush(t *testing.T) {
	needFFmpeg(t)
	type upload struct {
		body     []byte
		frags    []Fragment
		err      error
		complete bool // all of the body was stored when the last fragment was emitted
		pieces   int  // writes the body arrived in
	}
	var mu sync.Mutex
	inits := map[string]*Init{}
	rawInits := map[string][]byte{}
	// ffmpeg may open a segment's PUT while the init segment's is still
	// being read: a segment waits for its init (closed channel = stored).
	initReady := map[string]chan struct{}{"0": make(chan struct{}), "1": make(chan struct{})}
	uploads := map[string]*upload{}
	var manifest []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return // DELETEs of old segments
		}
		if strings.HasPrefix(name, "chunk-stream") {
			id := strings.TrimPrefix(name, "chunk-stream")[:1]
			select {
			case <-initReady[id]:
			case <-r.Context().Done():
				return
			case <-time.After(time.Minute): // a deadlock guard, not a timing
				t.Errorf("%s: no init segment for representation %s", name, id)
				return
			}
			mu.Lock()
			in := inits[id]
			mu.Unlock()
			u := &upload{}
			var stored bytes.Buffer
			s := NewScanner(in, func(f Fragment) {
				u.frags = append(u.frags, f)
				u.complete = int64(stored.Len()) >= f.Offset+f.Size
			})
			_, u.err = io.Copy(io.MultiWriter(&stored, countWrites{s, &u.pieces}), r.Body)
			if u.err == nil {
				u.err = s.Close()
			}
			u.body = stored.Bytes()
			mu.Lock()
			uploads[name] = u
			mu.Unlock()
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(name, "init-stream"):
			in, err := ParseInit(b)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			id := strings.TrimSuffix(strings.TrimPrefix(name, "init-stream"), ".m4s")
			inits[id], rawInits[id] = in, b
			close(initReady[id])
		case name == "manifest.mpd":
			manifest = b
		}
	}))
	defer srv.Close()

	runFFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine", "-t", "4",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-c:a", "aac",
		"-f", "dash", "-strict", "experimental", "-ldash", "1", "-streaming", "1", "-write_prft", "1",
		"-utc_timing_url", "https://time.akamai.com/?iso",
		"-seg_duration", "2", "-frag_duration", "0.5", "-frag_type", "duration",
		"-use_template", "1", "-use_timeline", "0", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
		"-method", "PUT", "-http_persistent", "0", srv.URL+"/ingest/ev/manifest.mpd")

	mu.Lock()
	defer mu.Unlock()
	reps := readMPD(t, manifest)
	if len(uploads) < 4 {
		t.Fatalf("%d segment uploads", len(uploads))
	}
	before := time.Now().Add(-time.Hour)
	maxPieces := 0
	for name, u := range uploads {
		if u.err != nil {
			t.Fatalf("%s: %v", name, u.err)
		}
		id := strings.TrimPrefix(name, "chunk-stream")[:1]
		whole, err := scanAll(t, DefaultConfig(), inits[id], u.body, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(whole, u.frags) {
			t.Fatalf("%s: streamed fragments differ from the whole body's:\n got %+v\nwant %+v", name, u.frags, whole)
		}
		if !u.complete {
			t.Errorf("%s: a fragment was announced before its bytes were stored", name)
		}
		checkTiling(t, u.frags, len(u.body))
		maxPieces = max(maxPieces, u.pieces)
		for _, f := range u.frags {
			if f.Producer == nil || f.Producer.TrackID != f.Tracks[0].TrackID || f.Producer.Time().Before(before) || f.Producer.Time().After(time.Now().Add(time.Hour)) {
				t.Fatalf("%s: fragment %d: producer reference %+v", name, f.Sequence, f.Producer)
			}
		}
	}
	if maxPieces < 2 {
		t.Fatal("every segment body arrived in one piece: the scanner saw no chunking")
	}
	for _, rep := range reps {
		t.Run(rep.kind, func(t *testing.T) {
			in := inits[rep.ID]
			if in == nil {
				t.Fatalf("no init segment for representation %s", rep.ID)
			}
			if rep.kind == "video" && (in.Tracks[0].Codec != rep.Codecs || in.Tracks[0].Width != 640) {
				t.Fatalf("init %+v, MPD %+v", in.Tracks[0], rep)
			}
			var names []string
			for name := range uploads {
				if strings.HasPrefix(name, "chunk-stream"+rep.ID+"-") {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			var segs [][]byte
			for _, name := range names {
				segs = append(segs, uploads[name].body)
			}
			checkSegments(t, t.TempDir(), rep, in, rawInits[rep.ID], segs)
		})
	}
}

type countWrites struct {
	w io.Writer
	n *int
}

func (c countWrites) Write(p []byte) (int, error) {
	*c.n++
	return c.w.Write(p)
}

// TestFFmpegCodecs: the codec strings, sizes, rates and channel counts of
// other codecs ffmpeg puts in CMAF, and their fragments. ffmpeg 5.1 writes
// bare "hvc1" in the MPD; there the test checks the Annex E form and
// x265's profile (Main, compatible with Main and Main 10), tier and
// constraint flags (progressive, frame only).
func TestFFmpegCodecs(t *testing.T) {
	needFFmpeg(t)
	for _, tc := range []struct {
		name     string
		encoders []string
		args     []string
		hevc     bool
	}{
		{"hevc+opus", []string{"libx265", "libopus"}, []string{"-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error:keyint=25:min-keyint=25:scenecut=0:open-gop=0", "-c:a", "libopus"}, true},
		{"av1+ac3", []string{"libsvtav1", "ac3"}, []string{"-c:v", "libsvtav1", "-preset", "12", "-c:a", "ac3"}, false},
		{"vp9+eac3", []string{"libvpx-vp9", "eac3"}, []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "eac3"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, e := range tc.encoders {
				if !hasEncoder(t, e) {
					t.Skipf("this ffmpeg has no %s encoder", e)
				}
			}
			dir := t.TempDir()
			args := append([]string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine", "-t", "2"}, tc.args...)
			runFFmpeg(t, append(args, "-g", "25", "-f", "dash", "-dash_segment_type", "mp4", "-seg_duration", "1",
				"-frag_duration", "0.5", "-frag_type", "duration", "-use_template", "1", "-use_timeline", "0",
				filepath.Join(dir, "manifest.mpd"))...)
			m, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
			if err != nil {
				t.Fatal(err)
			}
			for _, rep := range readMPD(t, m) {
				ib, err := os.ReadFile(filepath.Join(dir, "init-stream"+rep.ID+".m4s"))
				if err != nil {
					t.Fatal(err)
				}
				mpdCodec := rep.Codecs
				if tc.hevc && rep.kind == "video" {
					in, err := ParseInit(ib)
					if err != nil {
						t.Fatal(err)
					}
					c := in.Tracks[0].Codec
					if !strings.HasPrefix(c, "hvc1.1.6.L") || !strings.HasSuffix(c, ".90") {
						t.Errorf("HEVC codec %q, want hvc1.1.6.L<level>.90", c)
					}
					rep.Codecs = c
				}
				in := checkInit(t, rep, ib)
				t.Logf("representation %s: MPD codecs %q, ours %q, %+v", rep.ID, mpdCodec, in.Tracks[0].Codec, in.Tracks[0])
				checkSegments(t, dir, rep, in, ib, readSegments(t, dir, rep.ID))
			}
		})
	}
}
