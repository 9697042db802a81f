package steering

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cdnServer is a fake CDN whose canary answers with status; slow makes it
// hang until the request is cancelled.
type cdnServer struct {
	*httptest.Server
	status atomic.Int32
	slow   atomic.Bool
	hits   atomic.Int32
}

func newCDNServer(t *testing.T) *cdnServer {
	c := &cdnServer{}
	c.status.Store(http.StatusOK)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		if r.URL.Path != "/live/fight/canary.ts" {
			http.NotFound(w, r)
			return
		}
		if c.slow.Load() {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(int(c.status.Load()))
		w.Write([]byte(strings.Repeat("x", 4096)))
	}))
	t.Cleanup(c.Close)
	return c
}

func TestProber(t *testing.T) {
	a, b := newCDNServer(t), newCDNServer(t)
	h, _ := NewHealth(HealthConfig{DownAfter: 2, UpAfter: 2})
	var mu sync.Mutex
	cdns := []CDN{
		{ID: "a", BaseURL: a.URL + "/live/fight/", State: CDNActive},
		{ID: "b", BaseURL: b.URL + "/live/fight", State: CDNDraining},
		{ID: "off", BaseURL: "http://127.0.0.1:1/", State: CDNDisabled},
	}
	cfg := DefaultProberConfig()
	cfg.Canary = "/canary.ts"
	cfg.Timeout = 200 * time.Millisecond
	p, err := NewProber(cfg, ProberDeps{Health: h, Targets: func() []CDN {
		mu.Lock()
		defer mu.Unlock()
		return cdns
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res := p.ProbeAll(ctx)
	if len(res) != 2 || !res[0].OK || !res[1].OK {
		t.Fatalf("results %+v", res)
	}
	tests := []struct {
		name  string
		setup func()
		upA   bool
	}{
		{"500 once: still up", func() { a.status.Store(500) }, true},
		{"500 twice: down", func() {}, false},
		{"ok once: still down", func() { a.status.Store(200) }, false},
		{"ok twice: up", func() {}, true},
		{"timeout once", func() { a.slow.Store(true) }, true},
		{"timeout twice: down", func() {}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			res := p.ProbeAll(ctx)
			if h.Up("a") != tt.upA || !h.Up("b") {
				t.Fatalf("up a=%v b=%v, want a=%v; results %+v", h.Up("a"), h.Up("b"), tt.upA, res)
			}
		})
	}
	if !strings.Contains(res[0].ID, "a") {
		t.Fatalf("order %+v", res)
	}

	t.Run("passive", func(t *testing.T) {
		p.Passive("b", false)
		p.Passive("b", false)
		if h.Up("b") {
			t.Fatal("two passive failures did not take b down")
		}
	})
}

func TestProberRun(t *testing.T) {
	a := newCDNServer(t)
	h, _ := NewHealth(DefaultHealthConfig())
	cfg := DefaultProberConfig()
	cfg.Canary = "/canary.ts"
	cfg.Interval = 5 * time.Millisecond
	p, err := NewProber(cfg, ProberDeps{Health: h, Client: a.Client(), Targets: func() []CDN {
		return []CDN{{ID: "a", BaseURL: a.URL + "/live/fight", State: CDNActive}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for a.hits.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no probes")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}

func TestProberConfig(t *testing.T) {
	_, err := NewProber(ProberConfig{Canary: "x"}, ProberDeps{})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"Canary", "Interval", "Parallel", "Health and Targets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %s", err, want)
		}
	}
}
