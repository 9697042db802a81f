package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
)

// origin is the bench origin simulator on the origin host, counting every
// segment request by path and by the address it came from.
type origin struct {
	sim *originsim.Server
	mu  sync.Mutex
	req map[string]map[string]int // path -> remote IP -> requests
	srv *http.Server
}

func startOrigin(t testing.TB, h *host, segment time.Duration) *origin {
	t.Helper()
	cfg := originsim.DefaultConfig()
	cfg.Renditions, cfg.SegmentDuration, cfg.Window, cfg.Retain = 2, segment, 6, 30
	cfg.SegmentSizes = []int{48 << 10, 96 << 10}
	cfg.TTFB = 50 * time.Millisecond
	sim, err := originsim.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{sim: sim, req: map[string]map[string]int{}}
	ln, err := h.listen(h.ip + ":" + httpPort)
	if err != nil {
		t.Fatal(err)
	}
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = o.srv.Serve(ln) }()
	t.Cleanup(func() { o.srv.Close() })
	return o
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".ts") {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		o.mu.Lock()
		m := o.req[r.URL.Path]
		if m == nil {
			m = map[string]int{}
			o.req[r.URL.Path] = m
		}
		m[ip]++
		o.mu.Unlock()
	}
	o.sim.ServeHTTP(w, r)
}

// segRange is the segment numbers published in [from, to].
func (o *origin) segRange(from, to time.Time) (int64, int64) {
	return o.sim.LiveEdge(from) + 1, o.sim.LiveEdge(to)
}

// perSegment returns, for each segment (every rendition) numbered in
// [first, last], the requests the origin saw from each side: side maps a
// remote IP to its side's name.
func (o *origin) perSegment(first, last int64, side func(ip string) string) map[string]map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]map[string]int{}
	for path, byIP := range o.req {
		n, ok := segNumber(path)
		if !ok || n < first || n > last {
			continue
		}
		m := map[string]int{}
		for ip, c := range byIP {
			m[side(ip)] += c
		}
		out[path] = m
	}
	return out
}

func segNumber(path string) (int64, bool) {
	i := strings.LastIndex(path, "/seg")
	if i < 0 || !strings.HasSuffix(path, ".ts") {
		return 0, false
	}
	n, err := strconv.ParseInt(path[i+4:len(path)-3], 10, 64)
	return n, err == nil
}

// sample is one segment a player fetched.
type sample struct {
	at    time.Time // when the body was complete
	ttfb  time.Duration
	join  bool // fetched on joining
	ok    bool
	match bool // the body is the origin's, byte for byte
	seq   int64
}

// player follows one media playlist through one edge and fetches every new
// segment, like an HLS player at the live edge.
type player struct {
	edge, url string // the playlist
	verify    bool   // bodies are originsim's: check them
	mu        sync.Mutex
	samples   []sample
	errors    int
}

// crowd is a set of players sharing the client host's connections.
type crowd struct {
	client  *http.Client
	players []*player
	wg      sync.WaitGroup
}

func newCrowd(h *host) *crowd {
	return &crowd{client: &http.Client{Timeout: 6 * time.Second, Transport: &http.Transport{
		DialContext:         func(ctx context.Context, nw, addr string) (net.Conn, error) { return h.dial(ctx, nw, addr) },
		MaxIdleConnsPerHost: 256, ResponseHeaderTimeout: 5 * time.Second,
	}}}
}

// add starts a player of playlist url (through edge) that stops with ctx.
func (c *crowd) add(ctx context.Context, edge, url string, verify bool) *player {
	p := &player{edge: edge, url: url, verify: verify}
	c.players = append(c.players, p)
	c.wg.Add(1)
	go func() { defer c.wg.Done(); p.run(ctx, c.client) }()
	return p
}

func (c *crowd) wait() { c.wg.Wait(); c.client.CloseIdleConnections() }

func (p *player) run(ctx context.Context, client *http.Client) {
	var last int64 = -1
	joined := false
	for ctx.Err() == nil {
		segs, err := p.playlist(ctx, client)
		if err != nil {
			p.fail(ctx)
		} else {
			if !joined && len(segs) > 0 {
				last = segs[len(segs)-1].seq - 2 // join: the newest two segments
			}
			for _, s := range segs {
				if s.seq <= last {
					continue
				}
				p.fetch(ctx, client, s.uri, s.seq, !joined)
				last = s.seq
			}
			joined = joined || len(segs) > 0
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (p *player) fail(ctx context.Context) {
	if ctx.Err() == nil {
		p.mu.Lock()
		p.errors++
		p.mu.Unlock()
	}
}

type listed struct {
	uri string
	seq int64
}

func (p *player) playlist(ctx context.Context, client *http.Client) ([]listed, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("playlist %d %v", resp.StatusCode, err)
	}
	var out []listed
	seq := int64(0)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"); ok {
			seq, _ = strconv.ParseInt(v, 10, 64)
		}
		if line == "" || line[0] == '#' {
			continue
		}
		out = append(out, listed{uri: line, seq: seq})
		seq++
	}
	return out, nil
}

func (p *player) fetch(ctx context.Context, client *http.Client, uri string, seq int64, join bool) {
	base, _ := url.Parse(p.url)
	ref, err := url.Parse(uri)
	if err != nil {
		return
	}
	u := base.ResolveReference(ref)
	s := sample{join: join, seq: seq}
	for attempt := 0; attempt < 3 && ctx.Err() == nil && !s.ok; attempt++ {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		s.ttfb = time.Since(t0)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			continue
		}
		s.ok, s.at = true, time.Now()
		s.match = !p.verify || originsim.Verify(strings.TrimPrefix(u.Path, "/live/live/"), body)
	}
	if ctx.Err() != nil && !s.ok {
		return
	}
	if !s.ok {
		s.at = time.Now()
	}
	p.mu.Lock()
	p.samples = append(p.samples, s)
	if !s.ok {
		p.errors++
	}
	p.mu.Unlock()
}

// window summarises what players did in [from, to].
type window struct {
	players, segments, failed, mismatched int
	minSegs                               int           // fewest segments any player got
	maxGap                                time.Duration // longest time any player went without a new segment
	joinTTFB                              []time.Duration
	liveTTFB                              []time.Duration
	errors                                int
}

func (c *crowd) window(from, to time.Time, filter func(*player) bool) window {
	w := window{minSegs: -1}
	for _, p := range c.players {
		if filter != nil && !filter(p) {
			continue
		}
		p.mu.Lock()
		w.players++
		w.errors += p.errors
		n, prev := 0, from
		for _, s := range p.samples {
			if s.at.Before(from) || s.at.After(to) {
				continue
			}
			if !s.ok {
				w.failed++
				continue
			}
			n++
			w.segments++
			if !s.match {
				w.mismatched++
			}
			if s.join {
				w.joinTTFB = append(w.joinTTFB, s.ttfb)
			} else {
				w.liveTTFB = append(w.liveTTFB, s.ttfb)
			}
			w.maxGap = max(w.maxGap, s.at.Sub(prev))
			prev = s.at
		}
		w.maxGap = max(w.maxGap, to.Sub(prev))
		p.mu.Unlock()
		if w.minSegs < 0 || n < w.minSegs {
			w.minSegs = n
		}
	}
	return w
}

// pct is the p-th percentile of ds (0 for none).
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
