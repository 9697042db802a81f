package crowd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
)

// newOrigin starts an in-process origin simulator with 500 ms segments.
func newOrigin(t *testing.T) (*originsim.Server, *httptest.Server) {
	t.Helper()
	cfg := originsim.DefaultConfig()
	cfg.SegmentDuration = 500 * time.Millisecond
	cfg.Window = 4
	cfg.SegmentSizes = []int{8 << 10, 20000}
	cfg.TTFB = 2 * time.Millisecond
	cfg.Bandwidth = 8 << 20
	cfg.ChunkSize = 4 << 10
	sim, err := originsim.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

func smallCrowd(base, stats string, d time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Players = 20
	cfg.JoinWindow = d / 4
	cfg.Duration = d
	cfg.Bases = []string{base}
	cfg.StatsURL = stats
	cfg.Timeout = 2 * time.Second
	return cfg
}

func runCrowd(t *testing.T, cfg Config) Report {
	t.Helper()
	tr := NewTransport(cfg.Players)
	defer tr.CloseIdleConnections()
	c, err := New(cfg, &http.Client{Transport: tr})
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
	r := runCrowd(t, smallCrowd(srv.URL+"/", srv.URL+"/_stats", 3*time.Second))
	if r.Errors != 0 || r.Mismatches != 0 {
		t.Fatalf("errors %d, mismatches %d: %v", r.Errors, r.Mismatches, r.ErrorSamples)
	}
	if r.Joined != 20 || r.JoinSegments.Count != 20*3 {
		t.Fatalf("joined %d, join segments %d; want 20 and 60", r.Joined, r.JoinSegments.Count)
	}
	if r.LiveSegments.Count < 20 || r.Playlists.Count < 40 {
		t.Fatalf("live segments %d, playlists %d: players did not follow the edge", r.LiveSegments.Count, r.Playlists.Count)
	}
	if r.Bytes < 80*8<<10 || r.JoinSegments.P50MS <= 0 || r.JoinSegments.MaxMS < r.JoinSegments.P99MS {
		t.Fatalf("bytes %d, join TTFB %+v", r.Bytes, r.JoinSegments)
	}
	o := r.Origin
	if o == nil || o.Error != "" {
		t.Fatalf("origin summary %+v", o)
	}
	// Without a cache every player request reaches the origin (and a few
	// cut short at the end reach it without being counted here).
	if got := r.JoinSegments.Count + r.LiveSegments.Count; o.SegmentRequests < got || o.UniqueSegments == 0 || o.MaxPerSegment < 2 {
		t.Fatalf("origin %+v for %d segment requests", o, got)
	}
	if r.CPU.TotalS <= 0 {
		t.Fatalf("cpu %+v", r.CPU)
	}
}

// faulty wraps the origin and damages segment responses.
func faulty(h http.Handler, mode string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".ts") {
			h.ServeHTTP(w, r)
			return
		}
		switch mode {
		case "corrupt":
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) > 100 {
				body[100] ^= 0xff
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		case "wrong path":
			r.URL.Path = strings.NewReplacer("/r0/", "/r1/", "/r1/", "/r0/").Replace(r.URL.Path)
			h.ServeHTTP(w, r)
		case "500":
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	})
}

func TestCrowdDetectsFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode               string
		mismatches, errors bool
		wantSample         string
	}{
		{"corrupt", true, false, "body mismatch"},
		{"wrong path", true, false, "body mismatch"},
		{"500", false, true, "status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			sim, _ := newOrigin(t)
			srv := httptest.NewServer(faulty(sim, tt.mode))
			defer srv.Close()
			cfg := smallCrowd(srv.URL+"/", "", 1500*time.Millisecond)
			cfg.Players = 5
			r := runCrowd(t, cfg)
			if (r.Mismatches > 0) != tt.mismatches || (r.Errors > 0) != tt.errors {
				t.Fatalf("mismatches %d, errors %d", r.Mismatches, r.Errors)
			}
			if len(r.ErrorSamples) == 0 || !strings.Contains(strings.Join(r.ErrorSamples, "\n"), tt.wantSample) {
				t.Fatalf("error samples %q lack %q", r.ErrorSamples, tt.wantSample)
			}
		})
	}
}

func TestCrowdStopsAtMaxRequests(t *testing.T) {
	t.Parallel()
	_, srv := newOrigin(t)
	cfg := smallCrowd(srv.URL+"/", "", 20*time.Second)
	cfg.JoinWindow = 0
	cfg.MaxRequests = 30
	began := time.Now()
	r := runCrowd(t, cfg)
	if r.Requests != 30 {
		t.Fatalf("requests %d, want 30", r.Requests)
	}
	if time.Since(began) > 10*time.Second {
		t.Fatal("run went on after the budget was spent")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Players = 0
	cfg.Bases = []string{"http://127.0.0.1:1/live"}
	cfg.Renditions = nil
	err := cfg.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"players", "ending in /", "rendition"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
