package node

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startNode runs a node on 127.0.0.1:0 until the test ends.
func startNode(t *testing.T, mod func(*Config)) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Node.ID = "t1"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Ingest.ListedGrace = Duration(500 * time.Millisecond)
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node run: %v", err)
		}
	})
	select {
	case <-n.Ready():
	case err := <-done:
		t.Fatalf("node did not start: %v", err)
	}
	return n
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, token string, body io.Reader, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

// chunked hides the length so the request goes out chunked, as ffmpeg's do.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func sbody(s string) io.Reader { return chunked{strings.NewReader(s)} }
