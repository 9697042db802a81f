package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/poll"
)

// slowOrigin counts requests per path and sends bodies slowly: first byte
// after ttfb, the rest over the following chunks.
func slowOrigin(t *testing.T, ttfb time.Duration, body []byte) (*httptest.Server, *sync.Map) {
	counts := &sync.Map{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := counts.LoadOrStore(r.URL.Path, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		time.Sleep(ttfb)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		const parts = 4
		for i := range parts {
			w.Write(body[i*len(body)/parts : (i+1)*len(body)/parts])
			w.(http.Flusher).Flush()
			time.Sleep(ttfb)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, counts
}

func TestPullOriginCoalesces(t *testing.T) {
	body := bytes.Repeat([]byte("ringside"), 32<<10)
	origin, counts := slowOrigin(t, 50*time.Millisecond, body)
	n := startNode(t, func(c *Config) {
		c.Node.Roles = []string{RoleEdge, RoleShield}
		c.Events = []EventConfig{{ID: "pull", PullURL: origin.URL + "/packager"}}
	})
	url := "http://" + n.HTTPAddr() + "/live/pull/0/seg1.ts?token=abc&CMCD=x"
	const clients = 300
	var wg sync.WaitGroup
	var bad atomic.Int32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(url)
			if err != nil {
				bad.Add(1)
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d clients got a wrong answer", bad.Load(), clients)
	}
	c, _ := counts.Load("/packager/0/seg1.ts")
	if got := c.(*atomic.Int64).Load(); got != 1 {
		t.Fatalf("origin saw %d requests for the segment, want 1", got)
	}
	r := do(t, "GET", url, "", nil)
	if r.header.Get("X-Cache") != "HIT" {
		t.Fatalf("X-Cache after fill = %q", r.header.Get("X-Cache"))
	}
}

func TestPullOriginErrors(t *testing.T) {
	var fail atomic.Bool
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "boom", 500)
			return
		}
		w.Write([]byte("v1"))
	}))
	defer origin.Close()
	n := startNode(t, func(c *Config) {
		c.Cache.SegmentTTL = Duration(time.Millisecond)
		c.Events = []EventConfig{{ID: "pull", PullURL: origin.URL}}
	})
	base := "http://" + n.HTTPAddr() + "/live/pull/"
	if r := do(t, "GET", base+"a.ts", "", nil); r.body != "v1" {
		t.Fatalf("fill: %d %s", r.status, r.body)
	}
	fail.Store(true)
	// Once the 1 ms freshness has passed, the failing origin is asked and
	// the stale copy answers; until then the fresh copy does.
	poll.Until(t, "stale-if-error", 5*time.Second, func() bool {
		r := do(t, "GET", base+"a.ts", "", nil)
		if r.status != 200 || r.body != "v1" {
			t.Fatalf("stale-if-error: %d %s %v", r.status, r.body, r.header.Get("X-Cache"))
		}
		return r.header.Get("X-Cache") == "STALE"
	})
	if r := do(t, "GET", base+"b.ts", "", nil); r.status != 502 {
		t.Fatalf("no stale copy: %d, want 502", r.status)
	}
}

// BenchmarkServeCachedSegment measures the node's handler for a cached
// 1 MB segment (no network): the whole /live path, headers included.
func BenchmarkServeCachedSegment(b *testing.B) {
	benchServe(b, "/live/ev/0/index7.ts", bytes.Repeat([]byte{0x47}, 1<<20), false)
}

// BenchmarkServeCachedPlaylistGzip: a cached playlist to a gzip client.
func BenchmarkServeCachedPlaylistGzip(b *testing.B) {
	benchServe(b, "/live/ev/0/index.m3u8", []byte(mediaPL(100, 6)), true)
}

func benchServe(b *testing.B, path string, body []byte, gz bool) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer origin.Close()
	cfg := DefaultConfig()
	cfg.Node.ID, cfg.HTTP.Listen = "b", "127.0.0.1:0"
	cfg.Events = []EventConfig{{ID: "ev", PullURL: origin.URL}}
	cfg.Cache.MasterTTL = Duration(time.Hour)
	n, err := New(cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	<-n.Ready()
	var req fasthttp.Request
	req.SetRequestURI(path)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	var rc fasthttp.RequestCtx
	rc.Init(&req, nil, nil)
	n.running().srv.Handler(&rc) // fill
	if rc.Response.StatusCode() != 200 {
		b.Fatalf("fill: %d", rc.Response.StatusCode())
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rc.Response.Reset()
		n.running().srv.Handler(&rc)
		if rc.Response.StatusCode() != 200 {
			b.Fatal(rc.Response.StatusCode())
		}
	}
}
