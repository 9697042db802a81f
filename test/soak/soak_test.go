//go:build linux

package soak

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/test/childproc"
)

// The mesh's limits, and the memory bound they promise.
const (
	cacheBytes = 64 << 20
	liveBytes  = 64 << 20
	rssBound   = cacheBytes + liveBytes + 128<<20
	streamKey  = "soak-stream-key-0123456789"
	adminToken = "soak-admin-token"
	gossipKey  = "c29hay10ZXN0LWdvc3NpcC1rZXktb2YtMzItYnl0ZXM="
	renditions = 2
	window     = 6           // segments in a playlist
	packets    = 1024        // MPEG-TS packets per segment: 192,512 bytes
	fdLimit    = 4096        // RLIMIT_NOFILE of each node
	segmentDur = time.Second // the encoder's cadence
)

// node is one `ringside node` process.
type node struct {
	id         string
	http, mesh string
	cmd        *exec.Cmd
	exited     chan struct{}
	maxRSS     atomic.Int64
}

// segment is the bytes of segment seq of rendition r: 188-byte MPEG-TS
// packets of pseudo-random payload, the same every time.
func segment(r, seq int) []byte {
	rng := rand.New(rand.NewPCG(uint64(r), uint64(seq)))
	b := make([]byte, packets*188)
	for i := range packets {
		p := b[i*188 : (i+1)*188]
		p[0] = 0x47
		for j := 1; j < 188; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < 188; k++ {
				p[j+k] = byte(v >> (8 * k))
			}
		}
	}
	return b
}

// freeAddr returns a loopback address whose port is free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// client returns an HTTP client whose connections come from source (a
// loopback address of its own, so each kind of client has its own
// per-address share at the nodes).
func client(source string, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

// startMesh writes a cluster CA, three node configurations and starts the
// nodes (s0 ingests; all are shields and edges), each with fdLimit
// descriptors.
func startMesh(t *testing.T, dir string) []*node {
	bin := childproc.BuildPlain(t, dir)
	ca, err := identity.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	pki := filepath.Join(dir, "pki")
	caFile, _, err := ca.WriteFiles(pki, false)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*node
	var seed string
	for i := range 3 {
		n := &node{id: fmt.Sprintf("s%d", i), http: freeAddr(t), mesh: freeAddr(t), exited: make(chan struct{})}
		gossip := freeAddr(t)
		roles := []string{"shield", "edge"}
		if i == 0 {
			roles, seed = append(roles, "ingest"), gossip
		}
		nc, err := ca.Issue(n.id, roles, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := nc.WriteFiles(pki)
		if err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`node: {id: %s, roles: [%s]}
http: {listen: %q, send_timeout: 3s, idle_timeout: 20s, max_inflight_bytes: 32MiB}
cache: {max_bytes: %d, max_object_bytes: 16MiB}
ingest: {live_bytes: %d, max_body_bytes: 8MiB, max_playlist_bytes: 1MiB}
mesh: {bind: %q, listen: %q, seeds: [%q], secret_key: %q, profile: test}
identity: {cert: %q, key: %q, ca: %q}
events: [{id: fight, stream_key: %q}]
admin: {token: %q}
log: {level: warn}
`, n.id, strings.Join(roles, ", "), n.http, cacheBytes, liveBytes, gossip, n.mesh, seed, gossipKey, cert, key, caFile, streamKey, adminToken)
		path := filepath.Join(dir, n.id+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, n.id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		n.cmd = exec.Command("/bin/sh", "-c", `ulimit -n `+strconv.Itoa(fdLimit)+` && exec "$0" node --config "$1"`, bin, path)
		n.cmd.Stdout, n.cmd.Stderr, n.cmd.SysProcAttr = logf, logf, childproc.Attr()
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { n.cmd.Wait(); close(n.exited) }()
		t.Cleanup(func() {
			n.cmd.Process.Kill()
			<-n.exited
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("%s log (tail):\n%s", n.id, tail(b, 3000))
			}
		})
		nodes = append(nodes, n)
	}
	c := client("127.0.0.1", 2*time.Second)
	poll.Until(t, "every node has verified its two peers", 60*time.Second, func() bool {
		for _, n := range nodes {
			req, _ := http.NewRequest(http.MethodGet, "http://"+n.http+"/admin/v1/nodes", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := c.Do(req)
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(b), `"identity": "verified`) != 3 {
				return false
			}
		}
		return true
	})
	return nodes
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// watchRSS samples each node's resident memory until ctx ends.
func watchRSS(ctx context.Context, nodes []*node) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, n := range nodes {
			if rss := rssOf(n.cmd.Process.Pid); rss > n.maxRSS.Load() {
				n.maxRSS.Store(rss)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// rssOf is VmRSS of pid in bytes (0 when unknown).
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// encoder pushes a segment per rendition every segmentDur into s0 and a
// playlist of the last window segments after it, until ctx ends. live is
// the newest sequence number published.
func encoder(ctx context.Context, t *testing.T, ingest string, live *atomic.Int64) {
	c := client("127.0.0.1", 10*time.Second)
	put := func(path string, body []byte) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+ingest+"/ingest/fight/"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+streamKey)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("PUT %s: %d", path, resp.StatusCode)
		}
		return nil
	}
	tick := time.NewTicker(segmentDur)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		for r := range renditions {
			if err := put(fmt.Sprintf("%d/seg%d.ts", r, seq), segment(r, seq)); err != nil {
				if ctx.Err() == nil {
					t.Errorf("encoder: %v", err)
				}
				return
			}
			var pl strings.Builder
			first := max(0, seq-window+1)
			fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
			for s := first; s <= seq; s++ {
				fmt.Fprintf(&pl, "#EXTINF:1.000,\nseg%d.ts\n", s)
			}
			if err := put(fmt.Sprintf("%d/index.m3u8", r), []byte(pl.String())); err != nil {
				if ctx.Err() == nil {
					t.Errorf("encoder: %v", err)
				}
				return
			}
		}
		live.Store(int64(seq))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// goodPlayer follows rendition r's playlist on node addr and fetches every
// segment it lists once, checking every byte. It counts segments and
// records every error.
func goodPlayer(ctx context.Context, addr string, r int, segments *atomic.Int64, fail func(string)) {
	c := client("127.0.0.2", 10*time.Second)
	seen := map[string]bool{}
	for ctx.Err() == nil {
		resp, err := c.Get(fmt.Sprintf("http://%s/live/fight/%d/index.m3u8", addr, r))
		if err != nil {
			fail("playlist: " + err.Error())
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fail(fmt.Sprintf("playlist from %s: %d %s", addr, resp.StatusCode, body))
			return
		}
		for _, line := range strings.Split(string(body), "\n") {
			if !strings.HasPrefix(line, "seg") || seen[line] {
				continue
			}
			seen[line] = true
			seq, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "seg"), ".ts"))
			resp, err := c.Get(fmt.Sprintf("http://%s/live/fight/%d/%s", addr, r, line))
			if err != nil {
				fail(fmt.Sprintf("%d/%s from %s: %v", r, line, addr, err))
				continue
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, segment(r, seq)) {
				fail(fmt.Sprintf("%d/%s from %s: %d, %d bytes, %v", r, line, addr, resp.StatusCode, len(got), err))
				continue
			}
			segments.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(400 * time.Millisecond):
		}
	}
}

// stalledReader pipelines requests for every live segment on one
// connection and never reads the answers, again and again.
func stalledReader(ctx context.Context, addr string, live *atomic.Int64, opened *atomic.Int64) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}, Timeout: 2 * time.Second}
	for ctx.Err() == nil {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		opened.Add(1)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetReadBuffer(4 << 10)
		}
		seq := int(live.Load())
		var req bytes.Buffer
		for i := range 40 {
			fmt.Fprintf(&req, "GET /live/fight/%d/seg%d.ts HTTP/1.1\r\nHost: x\r\n\r\n", i%renditions, max(0, seq-i%window))
		}
		conn.Write(req.Bytes())
		select { // hold it until the node gives up on it (send_timeout) or the test ends
		case <-ctx.Done():
		case <-time.After(8 * time.Second):
		}
		conn.Close()
	}
}

// flooder keeps up to want idle connections open to addr, opening at most
// 500 a second.
func flooder(ctx context.Context, addr string, want int, held *atomic.Int64) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}, Timeout: time.Second}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for ctx.Err() == nil {
		// Drop the ones the node closed.
		alive := conns[:0]
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				c.Close()
				continue
			}
			alive = append(alive, c)
		}
		conns = alive
		for n := 0; len(conns) < want && n < 500 && ctx.Err() == nil; n++ {
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		held.Store(int64(len(conns)))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// buster asks for what no player asks: random queries and LL-HLS
// directives on live files, files and events that do not exist.
func buster(ctx context.Context, addrs []string, live *atomic.Int64, requests *atomic.Int64) {
	c := client("127.0.0.5", 5*time.Second)
	for i := 0; ctx.Err() == nil; i++ {
		addr := addrs[i%len(addrs)]
		seq := max(0, live.Load()-1)
		var path string
		switch i % 4 {
		case 0:
			path = fmt.Sprintf("/live/fight/0/seg%d.ts?bust=%d", seq, rand.Int64())
		case 1:
			path = fmt.Sprintf("/live/fight/1/index.m3u8?_HLS_msn=%d&_HLS_part=%d", rand.IntN(1<<30), rand.IntN(100))
		case 2:
			path = fmt.Sprintf("/live/fight/0/nope%d.ts", rand.Int64())
		case 3:
			path = fmt.Sprintf("/live/ev%d/seg1.ts", rand.Int64())
		}
		if resp, err := c.Get("http://" + addr + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		requests.Add(1)
		if i%50 == 49 {
			time.Sleep(100 * time.Millisecond) // ~ 500 requests a second
		}
	}
}

// truncator uploads live segment names with a Content-Length it never
// fulfils (and, every other time, with a wrong key): neither may replace
// what is published.
func truncator(ctx context.Context, ingest string, live *atomic.Int64, tries *atomic.Int64) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.6")}, Timeout: time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		conn, err := d.DialContext(ctx, "tcp", ingest)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		key := streamKey
		if i%2 == 1 {
			key = "not-the-stream-key-at-all"
		}
		seq := live.Load()
		fmt.Fprintf(conn, "PUT /ingest/fight/%d/seg%d.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
			i%renditions, seq, key, packets*188)
		conn.Write(bytes.Repeat([]byte{0x47, 0}, 5000)) // 10,000 of 192,512 bytes
		conn.Close()
		tries.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// TestSoak drives a mixed crowd against a 3-node mesh for RINGSIDE_SOAK_S
// seconds (45 by default): good players on every node, stalled readers,
// connection flooders, cache busters and truncated uploaders. The good
// players see no error and every byte right, no node exits, and no node's
// resident memory goes past cache.max_bytes + ingest.live_bytes + 128 MiB.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak test runs for a minute")
	}
	seconds := 45
	if s, err := strconv.Atoi(os.Getenv("RINGSIDE_SOAK_S")); err == nil && s > 0 {
		seconds = s
	}
	dir := t.TempDir()
	nodes := startMesh(t, dir)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.http)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { watchRSS(ctx, nodes) })

	var live atomic.Int64
	live.Store(-1)
	wg.Go(func() { encoder(ctx, t, nodes[0].http, &live) })
	poll.Until(t, "the first playlists", 30*time.Second, func() bool { return live.Load() >= 1 })

	var (
		mu       sync.Mutex
		failures []string
	)
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, s)
	}
	var segments, stalled, held, busts, truncs atomic.Int64
	for p := range 12 {
		wg.Go(func() { goodPlayer(ctx, addrs[p%3], p%renditions, &segments, fail) })
	}
	for i := range 30 {
		wg.Go(func() { stalledReader(ctx, addrs[i%3], &live, &stalled) })
	}
	// s1 is flooded with more connections than it has descriptors (a node
	// used to exit on accept's EMFILE), the others with 1200 each.
	var floods [3]atomic.Int64
	for i := range 3 {
		want := 1200
		if i == 1 {
			want = fdLimit + 500
		}
		wg.Go(func() { flooder(ctx, addrs[i], want, &floods[i]) })
	}
	for range 2 {
		wg.Go(func() { buster(ctx, addrs, &live, &busts) })
	}
	wg.Go(func() { truncator(ctx, nodes[0].http, &live, &truncs) })

	// Midway, the flood is at its height: the nodes still answer.
	time.Sleep(time.Duration(seconds) * time.Second / 2)
	for i := range floods {
		held.Add(floods[i].Load())
	}
	wg.Wait()

	for _, n := range nodes {
		select {
		case <-n.exited:
			t.Errorf("%s exited during the soak: %v", n.id, n.cmd.ProcessState)
		default:
		}
		resp, err := client("127.0.0.2", 5*time.Second).Get("http://" + n.http + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s after the soak: %v %v", n.id, err, resp)
		} else {
			resp.Body.Close()
		}
		if rss := n.maxRSS.Load(); rss > rssBound || rss == 0 {
			t.Errorf("%s peak RSS %d MiB, bound %d MiB", n.id, rss>>20, rssBound>>20)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Errorf("%d good-player errors; first: %v", len(failures), failures[:min(5, len(failures))])
	}
	minSegments := int64(seconds/2) * 12 / 2 // each player, half the run at least
	if segments.Load() < minSegments {
		t.Errorf("good players fetched %d segments, want at least %d", segments.Load(), minSegments)
	}
	t.Logf("%d s: %d segments byte-exact to 12 good players, 0 errors; %d stalled connections, %d idle flood connections open at mid-run "+
		"as the flooders saw them (a node keeps 384 per address), %d cache-busting requests, %d truncated or unauthorised uploads; peak RSS s0 %d MiB, s1 %d MiB, s2 %d MiB (bound %d MiB)",
		seconds, segments.Load(), stalled.Load(), held.Load(), busts.Load(), truncs.Load(),
		nodes[0].maxRSS.Load()>>20, nodes[1].maxRSS.Load()>>20, nodes[2].maxRSS.Load()>>20, rssBound>>20)
}
