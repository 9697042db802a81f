package node

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/shield"
)

// segBody is a segment body that names its path in every byte, so a
// response from another object's file (or a reused one) cannot pass.
func segBody(path string, n int) []byte {
	h := byte(len(path))
	for i := 0; i < len(path); i++ {
		h = h*31 + path[i]
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = h ^ byte(i) ^ byte(i>>9)
	}
	return b
}

// TestTrackedConnSendfile: a fileBody handed to the connection's ReadFrom
// goes out with sendfile from its file (its mapping is not even there),
// from its offset, under the send timeout.
func TestTrackedConnSendfile(t *testing.T) {
	body := segBody("/x.ts", 700_001)
	obj, err := object.NewFile(object.Meta{Status: 200}, body)
	if err != nil {
		t.Skipf("no body files: %v", err)
	}
	defer obj.Release()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl := newTrackingListener(ln, connLimits{sendTimeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	got := make(chan []byte, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	c, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	fd, _, _ := obj.BodyFile()
	fb := &fileBody{fd: fd, off: 1000, end: int64(len(body))} // no mem: Read would panic
	w := bufio.NewWriter(c)
	w.WriteString("head:")
	w.Flush()
	n, err := w.ReadFrom(&io.LimitedReader{R: fb, N: int64(len(body)) - 1000})
	if err != nil || n != int64(len(body))-1000 {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
	c.Close()
	if b := <-got; !bytes.Equal(b, append([]byte("head:"), body[1000:]...)) {
		t.Fatalf("client got %d bytes, not the body", len(b))
	}
}

// zeroCopyNode is a node in front of an origin whose segments are
// segBody(path, size), with a cache of cacheBytes.
func zeroCopyNode(t *testing.T, size int, cacheBytes int64) (*Node, *atomic.Int64) {
	var fetches atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write(segBody(r.URL.Path, size))
	}))
	t.Cleanup(origin.Close)
	n := startNode(t, func(c *Config) {
		c.Events = []EventConfig{{ID: "zc", PullURL: origin.URL}}
		c.Cache.MaxBytes = ByteSize(cacheBytes)
	})
	return n, &fetches
}

// TestZeroCopyServing: a cached segment is kept in a file and answers
// GET, HEAD and ranges byte for byte, over keep-alive connections.
func TestZeroCopyServing(t *testing.T) {
	const size = 1<<20 + 123
	n, _ := zeroCopyNode(t, size, 64<<20)
	base := "http://" + n.HTTPAddr() + "/live/zc/"
	body := segBody("/0/seg1.ts", size)
	if r := do(t, "GET", base+"0/seg1.ts", "", nil); r.status != 200 || r.body != string(body) {
		t.Fatalf("fill: %d, %d bytes", r.status, len(r.body))
	}
	obj, ok := n.running().shield.Hit(shield.Request{Key: "/live/zc/0/seg1.ts", Event: "zc", Path: "0/seg1.ts"})
	if !ok || !obj.InFile() {
		t.Skip("segment not kept in a file here")
	}
	for _, tc := range []struct {
		method, rng string
		status      int
		want        []byte
		cr          string
	}{
		{"GET", "", 200, body, ""},
		{"GET", "bytes=0-", 206, body, fmt.Sprintf("bytes 0-%d/%d", size-1, size)},
		{"GET", "bytes=5000-70000", 206, body[5000:70001], fmt.Sprintf("bytes 5000-70000/%d", size)},
		{"GET", "bytes=-100", 206, body[size-100:], fmt.Sprintf("bytes %d-%d/%d", size-100, size-1, size)},
		{"GET", "bytes=0-1,5-6", 200, body, ""},
		{"GET", fmt.Sprintf("bytes=%d-", size), 416, nil, fmt.Sprintf("bytes */%d", size)},
		{"HEAD", "", 200, nil, ""},
		{"HEAD", "bytes=10-19", 206, nil, fmt.Sprintf("bytes 10-19/%d", size)},
	} {
		hdr := []string{}
		if tc.rng != "" {
			hdr = append(hdr, "Range", tc.rng)
		}
		r := do(t, tc.method, base+"0/seg1.ts", "", nil, hdr...)
		if r.status != tc.status || r.header.Get("Content-Range") != tc.cr || (tc.want != nil && r.body != string(tc.want)) {
			t.Fatalf("%s Range %q: %d %q, %d bytes; want %d %q, %d bytes", tc.method, tc.rng, r.status,
				r.header.Get("Content-Range"), len(r.body), tc.status, tc.cr, len(tc.want))
		}
		if tc.method == "HEAD" {
			want := size
			if tc.status == 206 {
				want = 10
			}
			if cl := r.header.Get("Content-Length"); cl != fmt.Sprint(want) || r.body != "" {
				t.Fatalf("HEAD %q: Content-Length %s, body %d bytes", tc.rng, cl, len(r.body))
			}
		}
	}
}

// TestZeroCopyUnderEvictionAndPurge: clients on keep-alive connections
// fetch segments from a cache that holds a quarter of them while purges
// run; every response is its own segment's bytes, every status 200, and
// once all is done no response holds memory.
func TestZeroCopyUnderEvictionAndPurge(t *testing.T) {
	const size, keys = 200_000, 16
	n, _ := zeroCopyNode(t, size, 4*size)
	base := "http://" + n.HTTPAddr() + "/live/zc/"
	var bad atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for c := range 6 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for i := range 40 {
				p := fmt.Sprintf("/0/s%d.ts", (i*5+c*3)%keys)
				resp, err := client.Get(base + p[1:])
				if err != nil {
					bad.Add(1)
					first.CompareAndSwap(nil, err.Error())
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !bytes.Equal(b, segBody(p, size)) {
					bad.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("%s: %d, %d bytes, %v", p, resp.StatusCode, len(b), err))
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 30 {
			if i%6 == 5 {
				n.running().shield.Purge("/live/zc/")
			} else {
				n.running().shield.Purge(fmt.Sprintf("/live/zc/0/s%d.ts", i%keys))
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d bad responses; first: %v", bad.Load(), first.Load())
	}
	if used := n.running().inflight.Used(); used != 0 {
		t.Fatalf("in-flight budget holds %d bytes after every response", used)
	}
}

// TestZeroCopyArriving: requests during a slow fill stream the body as it
// arrives; the next ones are served from the file; all byte for byte.
func TestZeroCopyArriving(t *testing.T) {
	const size = 600_000
	body := segBody("/0/slow.ts", size)
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.Write(body[:size/2])
		w.(http.Flusher).Flush()
		<-release
		w.Write(body[size/2:])
	}))
	defer origin.Close()
	n := startNode(t, func(c *Config) { c.Events = []EventConfig{{ID: "zc", PullURL: origin.URL}} })
	url := "http://" + n.HTTPAddr() + "/live/zc/0/slow.ts"
	results := make(chan string, 3)
	for range 3 {
		go func() {
			resp, err := http.Get(url)
			if err != nil {
				results <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(b, body) {
				results <- fmt.Sprintf("streamed %d bytes, not the body", len(b))
				return
			}
			results <- ""
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the readers join the fill; correctness does not depend on it
	close(release)
	for range 3 {
		if e := <-results; e != "" {
			t.Fatal(e)
		}
	}
	for range 3 {
		if r := do(t, "GET", url, "", nil); r.status != 200 || r.body != string(body) || !strings.Contains(r.header.Get("X-Cache"), "HIT") {
			t.Fatalf("after the fill: %d %s, %d bytes", r.status, r.header.Get("X-Cache"), len(r.body))
		}
	}
}

// BenchmarkServeCachedSegmentTCP: the cached 1 MB segment over a real
// keep-alive TCP connection on loopback, headers and sendfile included
// (the client's reads too); allocations per request are the server's.
func BenchmarkServeCachedSegmentTCP(b *testing.B) {
	body := bytes.Repeat([]byte{0x47}, 1<<20)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer origin.Close()
	cfg := DefaultConfig()
	cfg.Node.ID, cfg.HTTP.Listen = "b", "127.0.0.1:0"
	cfg.Events = []EventConfig{{ID: "ev", PullURL: origin.URL}}
	n, err := New(cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	<-n.Ready()
	c, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /live/ev/0/index7.ts HTTP/1.1\r\nHost: b\r\n\r\n")
	// The first answer (the fill) tells the response's length.
	c.Write(req)
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("fill: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	c.Write(req)
	resp, _ = http.ReadResponse(br, nil)
	hdr := 0
	for k, v := range resp.Header {
		hdr += len(k) + 2 + len(v[0]) + 2
	}
	io.Copy(io.Discard, resp.Body)
	total := len("HTTP/1.1 200 OK\r\n") + hdr + 2 + len(body)
	buf := make([]byte, total)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, buf); err != nil {
			b.Fatal(err)
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200")) {
			b.Fatalf("%q", buf[:40])
		}
	}
}
