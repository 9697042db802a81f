package llcrowd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/bench/llorigin"
)

// newOrigin starts an in-process LL origin simulator publishing 50-ms
// parts, four per segment, on the wall clock.
func newOrigin(t *testing.T) (*llorigin.Server, *httptest.Server) {
	t.Helper()
	cfg := llorigin.DefaultConfig()
	cfg.PartDuration = 50 * time.Millisecond
	cfg.PartSizes = []int{2000, 3000}
	cfg.HoldLimit = time.Second
	sim, err := llorigin.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sim.Run(ctx); close(done) }()
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return sim, srv
}

func smallCrowd(base, stats string, players int, d time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Players = players
	cfg.JoinWindow = d / 5
	cfg.Duration = d
	cfg.Bases = []string{base}
	cfg.StatsURL = stats
	cfg.Timeout = 2 * time.Second
	cfg.Retry = 50 * time.Millisecond
	cfg.VerifyEvery = 1
	return cfg
}

func runCrowd(t *testing.T, cfg Config) Report {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.Summary())
	return r
}

func TestCrowdAgainstOrigin(t *testing.T) {
	t.Parallel()
	_, srv := newOrigin(t)
	r := runCrowd(t, smallCrowd(srv.URL+"/", srv.URL+"/_stats", 20, 1500*time.Millisecond))
	if r.Errors != 0 || r.Mismatches != 0 || r.Joined != 20 {
		t.Fatalf("errors %d, mismatches %d, joined %d: %v", r.Errors, r.Mismatches, r.Joined, r.ErrorSamples)
	}
	// 20 players for at least 1.2 s at 20 parts a second; a part fetch may
	// be cut short by the end of the run.
	if r.Cycles < 20*10 || r.Wake.Count != r.Cycles-r.JoinCycles || r.JoinCycles != 20 || r.PartTTFB.Count < r.Cycles-40 || r.Unmatched != 0 {
		t.Fatalf("cycles %d, wake %d, part TTFB %d, unmatched %d", r.Cycles, r.Wake.Count, r.PartTTFB.Count, r.Unmatched)
	}
	if r.Blocked < 0.5 || r.JoinPlaylist.Count != 20 || r.Wake.MaxMS < r.Wake.P50MS || r.Bytes < r.Cycles*2000 {
		t.Fatalf("blocked %.2f, joins %d, wake %+v, bytes %d", r.Blocked, r.JoinPlaylist.Count, r.Wake, r.Bytes)
	}
	o := r.Origin
	if o == nil || o.Error != "" {
		t.Fatalf("origin %+v", o)
	}
	// Without a cache every reload and part reaches the origin, and the
	// players of one rendition ask for the same keys.
	if o.Blocking < r.Cycles || o.Parts < r.Cycles || o.Plain < 20 || o.MaxPerKey < 5 || o.MeanPerKey <= 1 ||
		o.MaxParked < 5 || o.MaxHeldParts < 5 {
		t.Fatalf("origin %+v for %d cycles", o, r.Cycles)
	}
	if r.CPU.TotalS <= 0 {
		t.Fatalf("cpu %+v", r.CPU)
	}
}

// coalescer is a test cache: one origin request per path and query,
// shared by everyone who asks while it runs and kept afterwards, except
// playlists without directives, which always go to the origin.
type coalescer struct {
	origin string
	mu     sync.Mutex
	calls  map[string]*call
}

type call struct {
	done   chan struct{}
	status int
	body   []byte
}

func (c *coalescer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.RequestURI()
	if strings.HasSuffix(r.URL.Path, ".m3u8") && r.URL.RawQuery == "" {
		key += "#" + fmt.Sprint(time.Now().UnixNano())
	}
	c.mu.Lock()
	cl, ok := c.calls[key]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.calls[key] = cl
	}
	c.mu.Unlock()
	if !ok {
		resp, err := http.Get(c.origin + r.URL.RequestURI())
		if err != nil {
			cl.status = http.StatusBadGateway
		} else {
			cl.status = resp.StatusCode
			cl.body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		close(cl.done)
	}
	<-cl.done
	w.WriteHeader(cl.status)
	_, _ = w.Write(cl.body)
}

// Behind a cache that coalesces perfectly the origin sees one request per
// (playlist, msn, part) and per part, however many players ask.
func TestCrowdBehindCoalescingCache(t *testing.T) {
	t.Parallel()
	_, origin := newOrigin(t)
	cache := httptest.NewServer(http.StripPrefix("/live/ev", &coalescer{origin: origin.URL, calls: map[string]*call{}}))
	defer cache.Close()
	r := runCrowd(t, smallCrowd(cache.URL+"/live/ev/", origin.URL+"/_stats", 20, 1500*time.Millisecond))
	if r.Errors != 0 || r.Mismatches != 0 || r.Cycles < 100 {
		t.Fatalf("errors %d, mismatches %d, cycles %d: %v", r.Errors, r.Mismatches, r.Cycles, r.ErrorSamples)
	}
	if o := r.Origin; o.MaxPerKey != 1 || o.MeanPerKey != 1 || o.MaxPerPart != 1 || o.MeanPerPart != 1 || o.Keys < 10 {
		t.Fatalf("origin %+v", o)
	}
}

// fault wraps the origin and breaks it one way.
func fault(h http.Handler, mode string) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case mode == "stale" && r.URL.Query().Has("_HLS_msn"):
			r.URL.RawQuery = "" // the playlist as it is, at once
		case mode == "corrupt" && strings.HasSuffix(r.URL.Path, ".m4s"):
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) > 100 {
				body[100] ^= 0xff
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		case mode == "503" && r.URL.Query().Has("_HLS_msn") && n.Add(1)%3 == 0:
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		case mode == "close":
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

func TestCrowdDetectsFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode       string
		errorKind  string
		mismatches bool
	}{
		{"stale", "playlist stale", false},
		{"corrupt", "", true},
		{"503", "playlist 503", false},
		{"close", "", false}, // every answer closes its connection: no error
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			sim, _ := newOrigin(t)
			srv := httptest.NewServer(fault(sim, tt.mode))
			defer srv.Close()
			r := runCrowd(t, smallCrowd(srv.URL+"/", "", 5, time.Second))
			if (r.Mismatches > 0) != tt.mismatches {
				t.Fatalf("mismatches %d", r.Mismatches)
			}
			if tt.errorKind == "" {
				if r.Errors != 0 {
					t.Fatalf("errors %v", r.ErrorKinds)
				}
				return
			}
			if r.ErrorKinds[tt.errorKind] == 0 || r.Stalls == 0 || len(r.ErrorSamples) == 0 {
				t.Fatalf("error kinds %v, stalls %d, samples %q", r.ErrorKinds, r.Stalls, r.ErrorSamples)
			}
		})
	}
}

func TestCrowdStopsAtMaxRequests(t *testing.T) {
	t.Parallel()
	_, srv := newOrigin(t)
	cfg := smallCrowd(srv.URL+"/", "", 5, 20*time.Second)
	cfg.JoinWindow = 0
	cfg.MaxRequests = 40
	began := time.Now()
	r := runCrowd(t, cfg)
	if r.Requests != 40 || time.Since(began) > 10*time.Second {
		t.Fatalf("requests %d after %v", r.Requests, time.Since(began))
	}
}

// The scraper reads the parked gauges of a node, and says when a node
// does not have one.
func TestScraper(t *testing.T) {
	t.Parallel()
	var v atomic.Int64
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE ringside_ll_parked_requests gauge\nringside_ll_parked_requests %d\nringside_cache_bytes 5\n", v.Add(10))
	}))
	defer node.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ringside_ingest_ll_parked_requests 3\n")
	}))
	defer other.Close()
	s := newScraper(http.DefaultClient, []string{node.URL, other.URL}, time.Time{})
	for range 3 {
		s.sample(context.Background(), 0)
		s.sample(context.Background(), 1)
	}
	res := s.results()
	if e := res[0].Edge; !e.Present || e.Max != 30 || e.Mean != 20 || res[0].Ingest.Present || res[0].Samples != 3 {
		t.Fatalf("node %+v", res[0])
	}
	if res[1].Edge.Present || res[1].Ingest.Max != 3 {
		t.Fatalf("other %+v", res[1])
	}
}
