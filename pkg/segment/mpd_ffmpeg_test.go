package segment

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests on MPDs a real ffmpeg pushes, made on each run: ffmpeg's
// low-latency DASH muxer uploads with PUT to a test server that keeps
// every MPD it is sent and the names of the other files.

// pushCapture is the test server's record of one ffmpeg push.
type pushCapture struct {
	mu    sync.Mutex
	mpds  [][]byte
	files map[string]bool // paths inside the event, e.g. "chunk-stream0-00001.m4s"
}

func (c *pushCapture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/ev/")
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		if strings.HasSuffix(name, ".mpd") {
			c.mpds = append(c.mpds, body)
		} else {
			c.files[name] = true
		}
	}
}

// pushLowLatencyDASH runs ffmpeg's LL-DASH push of a few seconds of a
// cheap synthetic source and returns what the server received.
func pushLowLatencyDASH(t *testing.T, useTimeline string) *pushCapture {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed: these tests push real LL-DASH (on Debian: apt-get install -y ffmpeg)")
	}
	c := &pushCapture{files: map[string]bool{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // far above the seconds it takes
	defer cancel()
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", "7", "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-b:v", "200k",
		"-c:a", "aac", "-b:a", "64k",
		"-f", "dash", "-ldash", "1", "-streaming", "1", "-seg_duration", "2", "-frag_duration", "0.5", "-frag_type", "duration",
		"-use_template", "1", "-use_timeline", useTimeline, "-window_size", "3", "-extra_window_size", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a",
		"-method", "PUT", "-http_persistent", "1", srv.URL + "/ev/manifest.mpd"}
	if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mpds) < 3 || len(c.files) < 4 {
		t.Fatalf("ffmpeg sent %d MPDs and %d other files", len(c.mpds), len(c.files))
	}
	return c
}

// checkFFmpegMPDs checks what every ffmpeg MPD has in common: it parses,
// validates, round-trips, and names as its files exactly the files
// ffmpeg uploaded.
func checkFFmpegMPDs(t *testing.T, c *pushCapture) []*MPD {
	t.Helper()
	var out []*MPD
	for i, data := range c.mpds {
		m, err := ParseMPD(data)
		if err != nil {
			t.Fatalf("MPD %d: %v\n%s", i, err, data)
		}
		checkRoundTrip(t, m)
		files, err := m.Files("")
		if err != nil || len(files) != 2 {
			t.Fatalf("MPD %d: Files = %+v, %v", i, files, err)
		}
		for _, f := range files {
			if !c.files[f.Init] {
				t.Errorf("MPD %d: init segment %q was never uploaded", i, f.Init)
			}
		}
		out = append(out, m)
	}
	// Every uploaded file is an init segment or a media segment of the
	// last MPD's templates.
	files, _ := out[len(out)-1].Files("")
	for p := range c.files {
		matched := false
		for _, f := range files {
			_, _, ok := f.Match(p)
			matched = matched || ok || p == f.Init
		}
		if !matched {
			t.Errorf("uploaded %q matches no file of the MPD: %+v", p, files)
		}
	}
	return out
}

func TestFFmpegLowLatencyDASHTemplate(t *testing.T) {
	c := pushLowLatencyDASH(t, "0")
	mpds := checkFFmpegMPDs(t, c)
	dynamic := 0
	for i, m := range mpds {
		for _, tr := range m.Tracks() {
			tm := tr.Template
			// ffmpeg's first MPD has no availabilityTimeOffset on the
			// video yet; later ones have it everywhere.
			if tm == nil || tm.Duration == 0 || tm.Timeline != nil || tm.AvailabilityTimeOffset < 0 ||
				i == len(mpds)-1 && tm.AvailabilityTimeOffset == 0 {
				t.Fatalf("MPD %d: Representation %q: template %+v, want a duration and availabilityTimeOffset > 0", i, tr.Representation.ID, tm)
			}
			if !m.Dynamic() {
				continue
			}
			dynamic++
			// availabilityStartTime + (n - startNumber + 1) × duration − availabilityTimeOffset
			ast, err := ParseXSDateTime(m.AvailabilityStartTime)
			if err != nil {
				t.Fatal(err)
			}
			n := tm.StartNumber + 2
			want := ast.Add(time.Duration((3*float64(tm.Duration)/float64(tm.Timescale) - tm.AvailabilityTimeOffset) * 1e9))
			got, err := tr.AvailabilityTime(n)
			if err != nil || math.Abs(float64(got.Sub(want))) > float64(time.Microsecond) {
				t.Fatalf("MPD %d: AvailabilityTime(%d) = %v, %v; want %v", i, n, got, err, want)
			}
			u, err := tr.MediaURL(n, 0)
			if err != nil || !c.files[u] {
				t.Errorf("MPD %d: MediaURL(%d) = %q, %v: not uploaded", i, n, u, err)
			}
		}
	}
	if dynamic == 0 {
		t.Fatal("ffmpeg sent no dynamic MPD")
	}
}

func TestFFmpegLowLatencyDASHTimeline(t *testing.T) {
	c := pushLowLatencyDASH(t, "1")
	mpds := checkFFmpegMPDs(t, c)
	listed := 0
	for i, m := range mpds {
		for _, tr := range m.Tracks() {
			if tr.Template == nil || tr.Template.Timeline == nil {
				t.Fatalf("MPD %d: Representation %q has no SegmentTimeline", i, tr.Representation.ID)
			}
			for s := range tr.Segments() {
				listed++
				u, err := tr.MediaURL(s.Number, s.Time)
				if err != nil || !c.files[u] {
					t.Errorf("MPD %d: segment %+v: %q, %v: not uploaded", i, s, u, err)
				}
				if !m.Dynamic() {
					continue
				}
				if _, err := tr.AvailabilityTime(s.Number); err != nil {
					t.Errorf("MPD %d: AvailabilityTime(%d): %v", i, s.Number, err)
				}
			}
		}
	}
	if listed == 0 {
		t.Fatal("no MPD listed a segment")
	}
}
