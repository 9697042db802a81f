package originsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestServer returns a server whose segment 0 began at t0 and whose
// clock reads t0+at: 2 s segments, window 3, retain 2, 1000-byte segments.
func newTestServer(t *testing.T, at time.Duration, edit func(*Config)) (*Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0.Add(at)}
	cfg := DefaultConfig()
	cfg.Start = t0
	cfg.Window = 3
	cfg.Retain = 2
	cfg.SegmentSizes = []int{1000}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestMediaPlaylistAdvances(t *testing.T) {
	s, clk := newTestServer(t, 10*time.Second, nil) // segments 0..4 published
	rec := get(t, s, "GET", "/r1/index.m3u8")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"#EXT-X-VERSION:3\n", "#EXT-X-TARGETDURATION:2\n", "#EXT-X-MEDIA-SEQUENCE:2\n",
		"#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:04.000Z\n",
		"#EXTINF:2.000,\nseg2.ts\n", "seg4.ts\n",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("playlist lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "seg5.ts") || strings.Contains(body, "seg1.ts") {
		t.Fatalf("playlist lists segments outside the window:\n%s", body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=1" {
		t.Fatalf("Cache-Control %q", cc)
	}
	clk.Advance(2 * time.Second)
	body = get(t, s, "GET", "/r1/index.m3u8").Body.String()
	if !strings.Contains(body, "#EXT-X-MEDIA-SEQUENCE:3\n") || !strings.Contains(body, "seg5.ts\n") {
		t.Fatalf("playlist did not advance:\n%s", body)
	}
}

func TestMasterPlaylist(t *testing.T) {
	s, _ := newTestServer(t, 10*time.Second, func(c *Config) { c.SegmentSizes = []int{250000, 500000} })
	body := get(t, s, "GET", "/master.m3u8").Body.String()
	for _, want := range []string{
		"BANDWIDTH=1000000,RESOLUTION=640x360", "\nr0/index.m3u8\n",
		"BANDWIDTH=2000000,RESOLUTION=960x540", "\nr1/index.m3u8\n",
		"BANDWIDTH=2000000,RESOLUTION=1280x720", "\nr2/index.m3u8\n",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("master lacks %q:\n%s", want, body)
		}
	}
}

func TestSegmentAvailability(t *testing.T) {
	s, _ := newTestServer(t, 10*time.Second, nil) // edge 4, window 2..4, retained down to 0
	tests := []struct {
		path string
		want int
	}{
		{"/r0/seg4.ts", 200},
		{"/r0/seg2.ts", 200},
		{"/r0/seg0.ts", 200},
		{"/r0/seg5.ts", 404}, // ahead of the live edge
		{"/r0/seg900.ts", 404},
		{"/r3/seg4.ts", 404}, // no such rendition
		{"/r0/seg-1.ts", 404},
		{"/r0/seg4.mp4", 404},
		{"/r0/index.m3u8", 200},
		{"/nope", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, s, "GET", tt.path)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 200 && strings.HasSuffix(tt.path, ".ts") {
				if !Verify(tt.path[1:], rec.Body.Bytes()) {
					t.Fatal("body does not verify")
				}
				if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=3600" {
					t.Fatalf("Cache-Control %q", cc)
				}
			}
		})
	}
}

func TestSegmentFallsOutOfRetention(t *testing.T) {
	s, clk := newTestServer(t, 10*time.Second, nil)
	if rec := get(t, s, "GET", "/r0/seg0.ts"); rec.Code != 200 {
		t.Fatalf("status %d before", rec.Code)
	}
	clk.Advance(2 * time.Second) // edge 5: oldest retained is 1
	if rec := get(t, s, "GET", "/r0/seg0.ts"); rec.Code != 404 {
		t.Fatalf("status %d after", rec.Code)
	}
}

// chunkRecorder counts what a handler writes between flushes.
type chunkRecorder struct {
	*httptest.ResponseRecorder
	headerAt time.Time
	pending  int
	chunks   []int
}

func (c *chunkRecorder) WriteHeader(code int) {
	c.headerAt = time.Now()
	c.ResponseRecorder.WriteHeader(code)
}

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.pending += len(p)
	return c.ResponseRecorder.Write(p)
}

func (c *chunkRecorder) Flush() {
	c.chunks = append(c.chunks, c.pending)
	c.pending = 0
}

func TestPacingAndTTFB(t *testing.T) {
	s, _ := newTestServer(t, 10*time.Second, func(c *Config) {
		c.SegmentSizes = []int{40 << 10}
		c.TTFB = 30 * time.Millisecond
		c.Bandwidth = 1 << 20
		c.ChunkSize = 8 << 10
	})
	rec := &chunkRecorder{ResponseRecorder: httptest.NewRecorder()}
	began := time.Now()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/r0/seg3.ts", nil))
	if rec.Code != 200 || !Verify("r0/seg3.ts", rec.Body.Bytes()) {
		t.Fatalf("status %d, body verifies %v", rec.Code, Verify("r0/seg3.ts", rec.Body.Bytes()))
	}
	if waited := rec.headerAt.Sub(began); waited < 30*time.Millisecond {
		t.Fatalf("headers after %v, before the 30ms TTFB", waited)
	}
	if len(rec.chunks) < 2 {
		t.Fatalf("body flushed in %d chunks, want several", len(rec.chunks))
	}
	for _, n := range rec.chunks {
		if n > 8<<10 {
			t.Fatalf("chunk of %d bytes exceeds the 8KiB chunk size", n)
		}
	}
}

// Over a real connection the paced body reaches the client in pieces.
func TestPacingOverTheWire(t *testing.T) {
	s, _ := newTestServer(t, 10*time.Second, func(c *Config) {
		c.SegmentSizes = []int{32 << 10}
		c.Bandwidth = 256 << 10
		c.ChunkSize = 4 << 10
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/r0/seg4.ts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	reads, total := 0, 0
	v := NewVerifier("r0/seg4.ts")
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			reads++
			total += n
			_, _ = v.Write(buf[:n])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if reads < 2 || total != 32<<10 || !v.OK() {
		t.Fatalf("reads=%d total=%d ok=%v", reads, total, v.OK())
	}
}

func TestStats(t *testing.T) {
	s, _ := newTestServer(t, 10*time.Second, nil)
	for _, p := range []string{"/r0/seg3.ts", "/r0/seg3.ts", "/r0/seg3.ts", "/r1/seg3.ts", "/r0/index.m3u8", "/master.m3u8", "/r0/seg9.ts"} {
		get(t, s, "GET", p)
	}
	var st Stats
	if err := json.Unmarshal(get(t, s, "GET", "/_stats").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Requests != 7 || st.SegmentRequests != 5 || st.PlaylistRequests != 2 || st.NotFound != 1 ||
		st.UniqueSegments != 3 || st.MaxPerSegment != 3 || st.MaxSegment != "r0/seg3.ts" ||
		st.PerPath["r0/seg3.ts"] != 3 {
		t.Fatalf("stats %+v", st)
	}
	if got := st.PerUniqueSegment(); got < 1.66 || got > 1.67 {
		t.Fatalf("per unique segment %v", got)
	}
	if rec := get(t, s, "GET", "/_stats/reset"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET reset: status %d", rec.Code)
	}
	if rec := get(t, s, "POST", "/_stats/reset"); rec.Code != http.StatusNoContent {
		t.Fatalf("POST reset: status %d", rec.Code)
	}
	if st := s.Stats(); st.Requests != 0 || st.UniqueSegments != 0 || len(st.PerPath) != 0 {
		t.Fatalf("after reset %+v", st)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Renditions: 0, SegmentDuration: time.Millisecond, Window: 0, SegmentSizes: []int{3}, Bandwidth: 10}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"renditions", "segment duration", "window", "segment size", "chunk size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
