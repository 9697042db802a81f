package llorigin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
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

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestServer returns a server whose part 0 began at t0, with the clock
// at t0+at: 0.5-s parts, 4 per segment, window 4, parts kept for 2
// complete segments, 1000-byte parts, two renditions.
func newTestServer(t *testing.T, at time.Duration, edit func(*Config)) (*Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0.Add(at)}
	cfg := DefaultConfig()
	cfg.Start = t0
	cfg.Window = 4
	cfg.PartSegments = 2
	cfg.Retain = 1
	cfg.PartSizes = []int{1000, 2000}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// getAsync starts a GET in the background; the channel yields its answer.
func getAsync(h http.Handler, path string) <-chan *httptest.ResponseRecorder {
	ch := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		ch <- rec
	}()
	return ch
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func parked(s *Server) (blocking, parts int64) {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.parked, s.stats.held
}

func TestMediaPlaylist(t *testing.T) {
	// 10.5 s: 21 parts published: segments 0..4 complete, part 0 of 5.
	s, _ := newTestServer(t, 10500*time.Millisecond, nil)
	rec := get(t, s, "/r0/index.m3u8")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=0" {
		t.Fatalf("status %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	want := "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n" +
		"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.000\n" +
		"#EXT-X-PART-INF:PART-TARGET=0.500\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:02.000Z\n" +
		"#EXTINF:2.000,\nseg1.m4s\n#EXTINF:2.000,\nseg2.m4s\n" +
		"#EXT-X-PART:DURATION=0.500,URI=\"3.0.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.500,URI=\"3.1.m4s\"\n" +
		"#EXT-X-PART:DURATION=0.500,URI=\"3.2.m4s\"\n#EXT-X-PART:DURATION=0.500,URI=\"3.3.m4s\"\n" +
		"#EXTINF:2.000,\nseg3.m4s\n" +
		"#EXT-X-PART:DURATION=0.500,URI=\"4.0.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.500,URI=\"4.1.m4s\"\n" +
		"#EXT-X-PART:DURATION=0.500,URI=\"4.2.m4s\"\n#EXT-X-PART:DURATION=0.500,URI=\"4.3.m4s\"\n" +
		"#EXTINF:2.000,\nseg4.m4s\n" +
		"#EXT-X-PART:DURATION=0.500,URI=\"5.0.m4s\",INDEPENDENT=YES\n" +
		"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"5.1.m4s\"\n" +
		"#EXT-X-RENDITION-REPORT:URI=\"../r1/index.m3u8\",LAST-MSN=5,LAST-PART=0\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("playlist:\n%s\nwant:\n%s", got, want)
	}
}

func TestMediaPlaylistAtSegmentBoundary(t *testing.T) {
	s, _ := newTestServer(t, 10*time.Second, nil) // 20 parts: segments 0..4, nothing of 5
	body := get(t, s, "/r1/index.m3u8").Body.String()
	for _, want := range []string{"seg4.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"5.0.m4s\"\n",
		"URI=\"../r0/index.m3u8\",LAST-MSN=4,LAST-PART=3\n"} {
		if !strings.Contains(body, want) {
			t.Fatalf("playlist lacks %q:\n%s", want, body)
		}
	}
}

func TestDeltaUpdate(t *testing.T) {
	// A 12-segment window of which the newest 6 (CAN-SKIP-UNTIL 12 s) stay.
	s, _ := newTestServer(t, 40*time.Second, func(c *Config) { c.Window = 12 })
	full := get(t, s, "/r0/index.m3u8").Body.String()
	delta := get(t, s, "/r0/index.m3u8?_HLS_skip=YES").Body.String()
	if strings.Contains(full, "EXT-X-SKIP") || strings.Count(full, "#EXTINF") != 12 {
		t.Fatalf("full playlist:\n%s", full)
	}
	if !strings.Contains(delta, "#EXT-X-MEDIA-SEQUENCE:8\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n") ||
		strings.Count(delta, "#EXTINF") != 6 || strings.Contains(delta, "seg13.m4s") || !strings.Contains(delta, "seg14.m4s") {
		t.Fatalf("delta playlist:\n%s", delta)
	}
	if v2 := get(t, s, "/r0/index.m3u8?_HLS_skip=v2").Body.String(); v2 != delta {
		t.Fatal("_HLS_skip=v2 differs from YES")
	}
	if st := s.Stats(); st.Delta != 2 || st.Plain != 3 || st.Blocking != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBlockingReload(t *testing.T) {
	s, clk := newTestServer(t, 10500*time.Millisecond, nil) // newest: part 0 of segment 5
	t.Run("listed part answers at once", func(t *testing.T) {
		for _, q := range []string{"_HLS_msn=5&_HLS_part=0", "_HLS_msn=4", "_HLS_msn=3&_HLS_part=9", "_HLS_msn=2&_HLS_part=1"} {
			rec := get(t, s, "/r0/index.m3u8?"+q)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "URI=\"5.0.m4s\"") {
				t.Fatalf("%s: status %d", q, rec.Code)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=12" {
				t.Fatalf("%s: Cache-Control %q", q, cc)
			}
		}
	})
	t.Run("next part is held until published", func(t *testing.T) {
		ch := getAsync(s, "/r0/index.m3u8?_HLS_msn=5&_HLS_part=1")
		eventually(t, "the request is parked", func() bool { b, _ := parked(s); return b == 1 })
		select {
		case rec := <-ch:
			t.Fatalf("answered %d before the part exists", rec.Code)
		default:
		}
		at := clk.Advance(500 * time.Millisecond)
		if n := s.Advance(at); n != 1 {
			t.Fatalf("published %d parts", n)
		}
		rec := <-ch
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "URI=\"5.1.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"5.2.m4s\"") {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body.String())
		}
		if pub, ok := s.Stats().PublishedAt(5, 1); !ok || !pub.Equal(at) {
			t.Fatalf("published at %v %v, want %v", pub, ok, at)
		}
	})
	t.Run("a part past the segment's last is the next segment's first", func(t *testing.T) {
		ch := getAsync(s, "/r1/index.m3u8?_HLS_msn=5&_HLS_part=4")
		eventually(t, "parked", func() bool { b, _ := parked(s); return b == 1 })
		s.Advance(clk.Advance(500 * time.Millisecond)) // 5.2: not yet
		s.Advance(clk.Advance(500 * time.Millisecond)) // 5.3: segment 5 complete, still not
		select {
		case rec := <-ch:
			t.Fatalf("answered %d before part 6.0", rec.Code)
		default:
		}
		s.Advance(clk.Advance(500 * time.Millisecond)) // 6.0
		if rec := <-ch; rec.Code != 200 || !strings.Contains(rec.Body.String(), "URI=\"6.0.m4s\"") {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body.String())
		}
	})
}

func TestBlockingLimits(t *testing.T) {
	// newest: part 0 of segment 5, last complete segment 4.
	s, _ := newTestServer(t, 10500*time.Millisecond, func(c *Config) { c.HoldLimit = 20 * time.Millisecond })
	tests := []struct {
		query string
		want  int
	}{
		{"_HLS_msn=7", 400},             // more than two segments beyond the last complete one
		{"_HLS_msn=6&_HLS_part=3", 400}, // part 27: 7 beyond the newest, limit 6
		{"_HLS_part=1", 400},            // part without msn
		{"_HLS_msn=x", 400},             // not a number
		{"_HLS_msn=5&_HLS_msn=5", 400},  // twice
		{"_HLS_skip=NO", 400},           // bad skip
		{"_HLS_msn=6&_HLS_part=2", 503}, // within the limit: held, never comes
		{"_HLS_msn=6", 503},             // the whole segment 6
		{"_HLS_msn=5&_HLS_part=1", 503}, // the next part, clock stopped
		{"_HLS_msn=5&_HLS_part=0", 200}, // listed
		{"_HLS_msn=5&other=1&_HLS_part=0", 200},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := get(t, s, "/r0/index.m3u8?"+tt.query)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body.String())
			}
			if tt.want == 503 && rec.Header().Get("Retry-After") != "1" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
	st := s.Stats()
	if st.Status["400"] != 6 || st.Status["503"] != 3 || st.Status["200"] != 2 || st.MaxParked != 1 {
		t.Fatalf("stats %+v", st.Status)
	}
}

func TestHintedPart(t *testing.T) {
	s, clk := newTestServer(t, 10500*time.Millisecond, func(c *Config) { c.HoldLimit = 5 * time.Second })
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/r0/5.0.m4s", 200},
		{"/r1/2.3.m4s", 200},
		{"/r0/5.2.m4s", 404}, // past the hint
		{"/r0/5.4.m4s", 404}, // no such part
		{"/r0/0.0.m4s", 200}, // window 1..4, retained down to 0
		{"/r0/seg4.m4s", 200},
		{"/r0/seg5.m4s", 404}, // in progress
		{"/r0/init.mp4", 200},
		{"/r2/5.0.m4s", 404}, // no such rendition
	} {
		rec := get(t, s, tt.path)
		if rec.Code != tt.want {
			t.Fatalf("%s: status %d, want %d", tt.path, rec.Code, tt.want)
		}
		if tt.want == 200 && !originsim.Verify(tt.path[1:], rec.Body.Bytes()) {
			t.Fatalf("%s: body does not verify", tt.path)
		}
	}
	if n := len(get(t, s, "/r1/seg3.m4s").Body.Bytes()); n != 4*2000 {
		t.Fatalf("segment of %d bytes, want 4 parts of 2000", n)
	}
	ch := getAsync(s, "/r1/5.1.m4s")
	eventually(t, "the hinted part is held", func() bool { _, p := parked(s); return p == 1 })
	s.Advance(clk.Advance(500 * time.Millisecond))
	rec := <-ch
	if rec.Code != 200 || !originsim.Verify("r1/5.1.m4s", rec.Body.Bytes()) || len(rec.Body.Bytes()) != 2000 {
		t.Fatalf("hinted part: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if st := s.Stats(); st.MaxHeldParts != 1 || st.Parts != 6 || st.MaxPerPart != 1 || st.UniqueParts != 6 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCountsPerKeyAndPart(t *testing.T) {
	s, clk := newTestServer(t, 10500*time.Millisecond, nil)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { get(t, s, "/r0/index.m3u8?_HLS_msn=5&_HLS_part=1&_HLS_skip=YES") })
	}
	wg.Go(func() { get(t, s, "/r1/index.m3u8?_HLS_msn=5&_HLS_part=1") })
	eventually(t, "six parked", func() bool { b, _ := parked(s); return b == 6 })
	s.Advance(clk.Advance(500 * time.Millisecond))
	wg.Wait()
	for range 3 {
		get(t, s, "/r0/5.1.m4s")
	}
	get(t, s, "/r0/5.0.m4s")
	get(t, s, "/r0/index.m3u8")
	get(t, s, "/master.m3u8")
	var st Stats
	if err := json.Unmarshal(get(t, s, "/_stats").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	k := BlockingKey("r0/index.m3u8", 5, 1)
	if k != "r0/index.m3u8?_HLS_msn=5&_HLS_part=1" || st.PerKey[k] != 5 || st.Keys != 2 || st.MaxPerKey != 5 ||
		st.MaxKey != k || st.MeanPerKey != 3 || st.Blocking != 6 || st.Delta != 5 || st.MaxParked != 6 {
		t.Fatalf("blocking counts %+v", st)
	}
	if st.PerPart["r0/5.1.m4s"] != 3 || st.UniqueParts != 2 || st.MaxPerPart != 3 || st.MeanPerPart != 2 ||
		st.Plain != 1 || st.Master != 1 || st.Requests != 12 {
		t.Fatalf("part counts %+v", st)
	}
	if _, ok := st.PublishedAt(5, 2); ok {
		t.Fatal("part 5.2 is not published")
	}
	if rec := get(t, s, "/_stats/reset"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET reset: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/_stats/reset", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST reset: %d", rec.Code)
	}
	if st := s.Stats(); st.Requests != 0 || st.Keys != 0 || st.MaxParked != 0 || len(st.PublishedNS) == 0 {
		t.Fatalf("after reset %+v", st)
	}
}

// Run publishes on the wall clock, and a held request wakes with it.
func TestRunPublishes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PartDuration = 20 * time.Millisecond
	cfg.PartSizes = []int{100}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	n := s.Published()
	msn, part := n/4, n%4
	rec := get(t, s, "/r0/index.m3u8?_HLS_msn="+strconv.FormatInt(msn, 10)+"&_HLS_part="+strconv.FormatInt(part, 10))
	if rec.Code != 200 || s.Published() <= n {
		t.Fatalf("status %d, published %d -> %d", rec.Code, n, s.Published())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestParseDirectives(t *testing.T) {
	tests := []struct {
		q          string
		msn, part  int64
		skip, fail bool
	}{
		{"", -1, -1, false, false},
		{"token=x", -1, -1, false, false},
		{"_HLS_msn=12", 12, -1, false, false},
		{"_HLS_msn=12&_HLS_part=3&_HLS_skip=YES", 12, 3, true, false},
		{"_HLS_part=3&_HLS_msn=12", 12, 3, false, false},
		{"_HLS_skip=v2", -1, -1, true, false},
		{"_HLS_part=3", 0, 0, false, true},
		{"_HLS_msn=-1", 0, 0, false, true},
		{"_HLS_msn=", 0, 0, false, true},
		{"_HLS_msn=%2B1", 0, 0, false, true},
		{"_HLS_msn=+1", 0, 0, false, true},
		{"_HLS_msn=1&_HLS_msn=2", 0, 0, false, true},
		{"_HLS_skip=yes", 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			d, err := parseDirectives(tt.q)
			if tt.fail {
				if !errors.Is(err, errDirective) {
					t.Fatalf("err %v, want errDirective", err)
				}
				return
			}
			if err != nil || d.msn != tt.msn || d.part != tt.part || d.skip != tt.skip {
				t.Fatalf("%+v %v", d, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{PartDuration: time.Millisecond, Window: 0, PartSegments: 3, PartSizes: []int{3}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"renditions", "part duration", "parts per segment", "window", "part size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got := DefaultConfig().AdvancePartLimit(); got != 6 {
		t.Fatalf("advance part limit %d, want 6", got)
	}
}

// A part published after it was due shows in MaxPublishLagMS: the
// simulator's own lateness, part of every latency measured behind it.
func TestPublishLag(t *testing.T) {
	s, clk := newTestServer(t, 10500*time.Millisecond, nil)
	s.Advance(clk.Advance(500 * time.Millisecond)) // on time
	if lag := s.Stats().MaxPublishLagMS; lag != 0 {
		t.Fatalf("lag %v on time", lag)
	}
	s.Advance(clk.Advance(530 * time.Millisecond)) // 30 ms late
	s.Advance(clk.Advance(480 * time.Millisecond)) // on time again, 10 ms late
	if lag := s.Stats().MaxPublishLagMS; lag != 30 {
		t.Fatalf("lag %v, want 30", lag)
	}
	s.ResetStats()
	if lag := s.Stats().MaxPublishLagMS; lag != 0 {
		t.Fatalf("lag %v after reset", lag)
	}
}
