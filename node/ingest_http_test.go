package node

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

const testKey = "test-stream-key-16"

func pushNode(t *testing.T) (*Node, string) {
	n := startNode(t, func(c *Config) {
		c.Ingest.MaxBodyBytes, c.Ingest.MaxPlaylistBytes = 4096, 2048
		c.Events = []EventConfig{{ID: "ev", StreamKey: testKey}}
	})
	return n, "http://" + n.HTTPAddr()
}

func mediaPL(seq, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", seq)
	for i := seq; i < seq+n; i++ {
		fmt.Fprintf(&b, "#EXTINF:2.000000,\nindex%d.ts\n", i)
	}
	return b.String()
}

func TestIngestBadInput(t *testing.T) {
	_, base := pushNode(t)
	in, live := base+"/ingest/ev/", base+"/live/ev/"
	for i := range 3 {
		if r := do(t, "PUT", fmt.Sprintf("%s0/index%d.ts", in, i), testKey, sbody("segment")); r.status != 201 {
			t.Fatalf("segment %d: %d %s", i, r.status, r.body)
		}
	}
	if r := do(t, "PUT", in+"0/index.m3u8", testKey, sbody(mediaPL(1, 2))); r.status != 201 {
		t.Fatalf("playlist: %d %s", r.status, r.body)
	}
	good := do(t, "GET", live+"0/index.m3u8", "", nil).body

	tests := []struct {
		name, method, path, token string
		body                      string
		status                    int
		detail                    string
	}{
		{"wrong key", "PUT", "0/x.ts", "wrong", "data", 401, "stream key"},
		{"missing key", "PUT", "0/x.ts", "", "data", 401, "stream key"},
		{"oversized", "PUT", "0/x.ts", testKey, strings.Repeat("x", 5000), 413, "more than 4096"},
		{"traversal", "PUT", "0/..%2F..%2Fx.ts", testKey, "data", 400, "not allowed"},
		{"hidden", "PUT", "0/.x.ts", testKey, "data", 400, "dot"},
		{"extension", "PUT", "0/x.php", testKey, "data", 400, "extension"},
		{"no event", "PUT", "../nope/0/x.ts", testKey, "data", 400, "not allowed"},
		{"regressing playlist", "PUT", "0/index.m3u8", testKey, mediaPL(0, 2), 422, "sequence"},
		{"inconsistent playlist", "PUT", "0/index.m3u8", testKey,
			strings.Replace(mediaPL(1, 2), "index2.ts", "index0.ts", 1), 422, "index"},
		{"garbage playlist", "PUT", "0/index.m3u8", testKey, "<html>", 422, "EXTM3U"},
		{"bad method", "PATCH", "0/x.ts", testKey, "", 405, "PUT"},
		{"delete wrong key", "DELETE", "0/index1.ts", "wrong", "", 401, "stream key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, in+tt.path, tt.token, sbody(tt.body))
			if r.status != tt.status || !strings.Contains(r.body, tt.detail) {
				t.Fatalf("got %d %s; want %d mentioning %q", r.status, r.body, tt.status, tt.detail)
			}
			if r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("error content type %q", r.header.Get("Content-Type"))
			}
			if got := do(t, "GET", live+"0/index.m3u8", "", nil).body; got != good {
				t.Fatalf("last good playlist not served after %s: %q", tt.name, got)
			}
			if r := do(t, "GET", live+"0/x.ts", "", nil); r.status != 404 {
				t.Fatalf("rejected upload is served: %d", r.status)
			}
		})
	}
	if r := do(t, "PUT", base+"/ingest/nope/0/x.ts", testKey, sbody("x")); r.status != 404 || !strings.Contains(r.body, "nope") {
		t.Fatalf("unknown event: %d %s", r.status, r.body)
	}
	if r := do(t, "PUT", in+"0/x.ts", "wrong", sbody("x")); r.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

// An encoder that disconnects mid-upload leaves nothing behind, and what was
// accepted before is still served.
func TestIngestClientDisconnect(t *testing.T) {
	n, base := pushNode(t)
	do(t, "PUT", base+"/ingest/ev/0/index0.ts", testKey, sbody("complete"))
	conn, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /ingest/ev/0/index1.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", testKey)
	// The partial upload is visible as pending...
	poll.Until(t, "pending segment", 5*time.Second, func() bool {
		r := do(t, "HEAD", base+"/live/ev/0/index1.ts", "", nil)
		return r.status == 200
	})
	conn.Close()
	// ...and gone once the encoder went away.
	poll.Until(t, "aborted upload removed", 5*time.Second, func() bool {
		return do(t, "HEAD", base+"/live/ev/0/index1.ts", "", nil).status == 404
	})
	if r := do(t, "GET", base+"/live/ev/0/index0.ts", "", nil); r.status != 200 || r.body != "complete" {
		t.Fatalf("accepted segment: %d %q", r.status, r.body)
	}
}

// ffmpeg opens an upload and sends its body seconds later; the idle timeout,
// not a whole-request deadline, decides.
func TestIngestSlowBodyAndIdleTimeout(t *testing.T) {
	n := startNode(t, func(c *Config) {
		c.HTTP.ReadHeaderTimeout = Duration(300 * time.Millisecond)
		c.HTTP.IngestIdleTimeout = Duration(2 * time.Second)
		c.Events = []EventConfig{{ID: "ev", StreamKey: testKey}}
	})
	conn, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /ingest/ev/0/init_0.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", testKey)
	time.Sleep(time.Second) // longer than the header timeout, shorter than idle
	fmt.Fprintf(conn, "4\r\ninit\r\n0\r\n\r\n")
	resp, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(resp, "201") {
		t.Fatalf("slow body: %q %v", resp, err)
	}
	// A body that stops for longer than the idle timeout is dropped.
	conn2, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "PUT /ingest/ev/0/stall.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", testKey)
	conn2.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.ReadAll(conn2) // returns when the server gives up on the connection
	base := "http://" + n.HTTPAddr()
	if r := do(t, "GET", base+"/live/ev/0/stall.ts", "", nil); r.status != 404 {
		t.Fatalf("stalled upload: %d", r.status)
	}
}

func TestServeHeadersAndGzip(t *testing.T) {
	_, base := pushNode(t)
	do(t, "PUT", base+"/ingest/ev/0/index0.ts", testKey, sbody("seg"))
	do(t, "PUT", base+"/ingest/ev/0/index.m3u8", testKey, sbody(mediaPL(0, 1)))
	seg := do(t, "GET", base+"/live/ev/0/index0.ts", "", nil)
	if seg.header.Get("Content-Type") != "video/mp2t" || !strings.Contains(seg.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("segment headers: %v", seg.header)
	}
	pl := do(t, "GET", base+"/live/ev/0/index.m3u8", "", nil, "Accept-Encoding", "gzip")
	if pl.header.Get("Content-Encoding") != "gzip" || pl.header.Get("Cache-Control") != "public, max-age=0" ||
		pl.header.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Fatalf("playlist headers: %v", pl.header)
	}
	zr, err := gzip.NewReader(strings.NewReader(pl.body))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != mediaPL(0, 1) {
		t.Fatalf("gunzipped playlist: %q", b)
	}
	plain := do(t, "GET", base+"/live/ev/0/index.m3u8", "", nil)
	if plain.header.Get("Content-Encoding") != "" || plain.body != mediaPL(0, 1) {
		t.Fatalf("identity playlist: %v", plain.header)
	}
	head := do(t, "HEAD", base+"/live/ev/0/index0.ts", "", nil)
	if head.status != 200 || head.header.Get("Content-Length") != "3" || head.body != "" {
		t.Fatalf("HEAD: %d %v", head.status, head.header)
	}
	rng := do(t, "GET", base+"/live/ev/0/index0.ts", "", nil, "Range", "bytes=1-")
	if rng.status != 206 || rng.body != "eg" {
		t.Fatalf("range: %d %q", rng.status, rng.body)
	}
	for _, p := range []string{"/live/nope/0/a.ts", "/live/ev/0/missing.ts", "/nothing"} {
		if r := do(t, "GET", base+p, "", nil); r.status != 404 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	if r := do(t, "GET", base+"/live/ev/0/x.exe", "", nil); r.status != 400 {
		t.Fatalf("bad extension: %d", r.status)
	}
	if r := do(t, "GET", base+"/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	m := do(t, "GET", base+"/metrics", "", nil)
	for _, want := range []string{"ringside_ingest_uploads_total", "ringside_ingest_rejected_total", `ringside_http_requests_total{code="200"}`,
		"ringside_ingest_live_bytes", "ringside_cache_bytes", "ringside_ingest_bytes_total"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
