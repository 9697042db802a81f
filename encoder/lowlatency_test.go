package encoder

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/segment"
)

// llTestKey has the characters ffmpeg's dictionary parser treats
// specially: it must arrive as it is.
const llTestKey = `ll-key'\:=#"7d1f`

// TestLowLatencyPush runs a real low-latency DASH push into a fake node
// that demands the key on every request and reads each segment's CMAF
// fragments as they arrive. It checks: the key on every upload and DELETE
// and nowhere in ffmpeg's /proc entries; every PUT chunked; segments
// uploaded progressively (other uploads' fragments arrive while one
// segment's do); an MPD the node accepts (segment.Validate) with the
// video and audio adaptation sets; every segment starting with a keyframe
// and no fragment longer than the part target, nor a segment's last one
// shorter than a fifth of it. 15 fps is the case where
// -frag_duration 0.5 would make 0.533 s fragments.
func TestLowLatencyPush(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (on Debian: apt-get install ffmpeg)")
	}
	for _, tc := range []struct {
		name       string
		fps        int
		persistent bool
	}{
		{"30fps-persistent", 30, true},
		{"15fps-separate-connections", 15, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pushLowLatency(t, tc.fps, tc.persistent)
		})
	}
}

// llNode is the fake node of a low-latency push.
type llNode struct {
	t   *testing.T
	pid atomic.Int64

	looked   sync.Once
	mu       sync.Mutex
	uploads  []upload
	chunked  map[string]bool          // PUT path: every PUT of it was chunked
	arrivals []string                 // segment path of each fragment, in order of arrival
	spans    map[string][2]int        // segment path: first and last index in arrivals
	took     map[string]time.Duration // segment path: first to last fragment
	mpds     [][]byte
}

func (n *llNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.looked.Do(func() { lookAtFFmpeg(n.t, int(n.pid.Load()), llTestKey) })
	var body []byte
	var err error
	if r.Method == http.MethodPut && strings.HasPrefix(path.Base(r.URL.Path), "chunk-") {
		body, err = n.readSegment(r)
	} else {
		body, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return // cut off by ffmpeg's exit; the checks below see it missing
	}
	n.mu.Lock()
	n.uploads = append(n.uploads, upload{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.RemoteAddr, body})
	if r.Method == http.MethodPut {
		c, seen := n.chunked[r.URL.Path]
		n.chunked[r.URL.Path] = (c || !seen) && len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked" && r.ContentLength == -1
		if strings.HasSuffix(r.URL.Path, ".mpd") {
			n.mpds = append(n.mpds, body)
		}
	}
	n.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+llTestKey {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// readSegment reads a segment upload through a fragment scanner, noting
// when each fragment is complete among all the uploads' fragments.
func (n *llNode) readSegment(r *http.Request) ([]byte, error) {
	p := r.URL.Path
	var first time.Time
	sc := bmff.NewScanner(nil, func(bmff.Fragment) {
		n.mu.Lock()
		defer n.mu.Unlock()
		span, ok := n.spans[p]
		if !ok {
			span[0], first = len(n.arrivals), time.Now()
		}
		span[1] = len(n.arrivals)
		n.spans[p] = span
		n.took[p] = time.Since(first)
		n.arrivals = append(n.arrivals, p)
	})
	var body strings.Builder
	_, err := io.Copy(io.MultiWriter(&body, sc), r.Body)
	if err == nil {
		err = sc.Close()
	}
	return []byte(body.String()), err
}

func pushLowLatency(t *testing.T, fps int, persistent bool) {
	n := &llNode{t: t, chunked: map[string]bool{}, spans: map[string][2]int{}, took: map[string]time.Duration{}}
	srv := httptest.NewServer(n)
	defer srv.Close()

	cfg := DefaultConfig()
	cfg.IngestBase, cfg.StreamKey, cfg.LowLatency = srv.URL+"/ingest/ev", llTestKey, true
	cfg.Ladder = []Rung{{Width: 426, Height: 240, VideoKbps: 300}, {Width: 256, Height: 144, VideoKbps: 150}}
	// A window of one segment plus two extra: ffmpeg DELETEs the first
	// segment once the fourth is done.
	cfg.FPS, cfg.SegmentSeconds, cfg.ListSize, cfg.Duration = fps, 2, 1, 10*time.Second
	cfg.Persistent = persistent
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, cfg, func(p int) { n.pid.Store(int64(p)) }); err != nil {
		t.Fatal(err)
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	files := map[string][]byte{}
	deletes := 0
	for _, u := range n.uploads {
		if u.auth != "Bearer "+llTestKey {
			t.Errorf("%s %s arrived with Authorization %q", u.method, u.path, u.auth)
		}
		switch u.method {
		case http.MethodPut:
			files[u.path] = u.body
		case http.MethodDelete:
			deletes++
		}
	}
	for p, c := range n.chunked {
		if !c {
			t.Errorf("PUT %s was not chunked without a Content-Length", p)
		}
	}
	if deletes == 0 {
		t.Error("no DELETE, want the first segments deleted once out of the window")
	}
	checkMPD(t, n.mpds)
	for stream, handler := range []string{bmff.HandlerVideo, bmff.HandlerVideo, bmff.HandlerAudio} {
		checkStream(t, files, n, stream, handler, cfg.PartTarget)
	}
	t.Logf("%d requests (%d DELETEs), %d fragments", len(n.uploads), deletes, len(n.arrivals))
}

// checkMPD checks the first live MPD: the node's checks accept it, and it
// has the two adaptation sets.
func checkMPD(t *testing.T, mpds [][]byte) {
	t.Helper()
	for _, b := range mpds {
		m, err := segment.ParseMPD(b)
		if err != nil {
			t.Fatalf("MPD does not parse: %v\n%s", err, b)
		}
		if !m.Dynamic() {
			continue // the one ffmpeg writes at its exit
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("the node would refuse the MPD: %v\n%s", err, b)
		}
		var sets []string
		for _, as := range m.Periods[0].AdaptationSets {
			sets = append(sets, fmt.Sprintf("%s:%d", as.ContentType, len(as.Representations)))
		}
		if got := strings.Join(sets, " "); got != "video:2 audio:1" {
			t.Errorf("adaptation sets %q, want video:2 audio:1\n%s", got, b)
		}
		return
	}
	t.Fatalf("no live MPD among %d uploads", len(mpds))
}

// checkStream checks the init segment and the complete segments of one
// representation (all but its last, which ffmpeg's exit may cut).
func checkStream(t *testing.T, files map[string][]byte, n *llNode, stream int, handler string, part time.Duration) {
	t.Helper()
	init, err := bmff.ParseInit(files[fmt.Sprintf("/ingest/ev/init-stream%d.m4s", stream)])
	if err != nil || len(init.Tracks) != 1 || init.Tracks[0].Handler != handler {
		t.Fatalf("init-stream%d.m4s: %v, %+v", stream, err, init)
	}
	var segs []string
	for p := range files {
		if strings.HasPrefix(p, fmt.Sprintf("/ingest/ev/chunk-stream%d-", stream)) {
			segs = append(segs, p)
		}
	}
	sort.Strings(segs)
	if len(segs) < 4 {
		t.Fatalf("stream %d: %d segments, want at least 4 of 10 s", stream, len(segs))
	}
	var took []string
	for _, p := range segs[:len(segs)-1] {
		var frags []bmff.Fragment
		sc := bmff.NewScanner(init, func(f bmff.Fragment) { frags = append(frags, f) })
		sc.Write(files[p])
		if err := sc.Close(); err != nil || len(frags) < 4 {
			t.Errorf("%s: %d fragments (%v), want at least 4 of a 2 s segment", p, len(frags), err)
			continue
		}
		if !frags[0].Independent() {
			t.Errorf("%s does not start with a keyframe", p)
		}
		for i, f := range frags {
			if d := time.Duration(f.Seconds() * float64(time.Second)); d > part {
				t.Errorf("%s: fragment %d lasts %v, longer than the part target %v", p, i, d, part)
			} else if i == len(frags)-1 && d*5 < part {
				t.Errorf("%s: its last fragment lasts %v, under a fifth of the part target %v (hls.js stalls on such parts)", p, d, part)
			}
		}
		// Progressive: while this segment's fragments arrived, other
		// uploads' fragments did too. A segment sent whole at its end
		// would arrive in one burst, between two of theirs.
		span := n.spans[p]
		if others := span[1] - span[0] - (len(frags) - 1); others < 2 {
			t.Errorf("%s arrived in one burst: %d fragments of other uploads among its %d", p, others, len(frags))
		}
		took = append(took, fmt.Sprintf("%s %.1fs", path.Base(p), n.took[p].Seconds()))
	}
	t.Logf("stream %d: first to last fragment: %s", stream, strings.Join(took, ", "))
}
