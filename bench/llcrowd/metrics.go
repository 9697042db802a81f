package llcrowd

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The gauges of blocking playlist requests a Ringside node holds: at an
// edge or shield waiting for the upstream's answer, and at an ingest
// (origin) waiting for the part.
const (
	gaugeParked       = "ringside_ll_parked_requests"
	gaugeIngestParked = "ringside_ingest_ll_parked_requests"
)

// Parked is what the samples of one node's /metrics showed.
type Parked struct {
	URL string `json:"url"`
	// Samples were taken, Errors failed.
	Samples int `json:"samples"`
	Errors  int `json:"errors"`
	// Edge is ringside_ll_parked_requests, Ingest
	// ringside_ingest_ll_parked_requests.
	Edge   Gauge `json:"edge"`
	Ingest Gauge `json:"ingest"`
}

// Gauge summarises the samples of one gauge: the largest, and the mean
// of those taken after the join window (the steady state).
type Gauge struct {
	Present bool    `json:"present"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
	sum     float64
	n       int
}

func (g *Gauge) add(v float64, steady bool) {
	g.Present = true
	g.Max = max(g.Max, v)
	if steady {
		g.sum += v
		g.n++
	}
}

func (g *Gauge) finish() {
	if g.n > 0 {
		g.Mean = g.sum / float64(g.n)
	}
}

func (g Gauge) String() string {
	if !g.Present {
		return "absent"
	}
	return fmt.Sprintf("max %.0f, mean %.0f", g.Max, g.Mean)
}

// String renders both gauges.
func (p Parked) String() string {
	return fmt.Sprintf("%s %s; %s %s (%d samples, %d failed)", gaugeParked, p.Edge, gaugeIngestParked, p.Ingest, p.Samples, p.Errors)
}

// scraper samples the parked gauges of a few nodes.
type scraper struct {
	client *http.Client
	steady time.Time // samples from then on count in the means
	mu     sync.Mutex
	nodes  []Parked
}

func newScraper(client *http.Client, urls []string, steady time.Time) *scraper {
	s := &scraper{client: client, steady: steady, nodes: make([]Parked, len(urls))}
	for i, u := range urls {
		s.nodes[i].URL = u
	}
	return s
}

// run samples every node every interval until ctx ends.
func (s *scraper) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for i := range s.nodes {
			s.sample(ctx, i)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *scraper) sample(ctx context.Context, i int) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s.mu.Lock()
	u := s.nodes[i].URL
	s.mu.Unlock()
	edge, ingest, err := s.fetch(ctx, u)
	steady := time.Now().After(s.steady)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &s.nodes[i]
	if err != nil {
		if ctx.Err() == nil {
			n.Errors++
		}
		return
	}
	n.Samples++
	if edge >= 0 {
		n.Edge.add(edge, steady)
	}
	if ingest >= 0 {
		n.Ingest.add(ingest, steady)
	}
}

// fetch reads both gauges from one /metrics page; -1 for one that is
// absent.
func (s *scraper) fetch(ctx context.Context, u string) (edge, ingest float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return -1, -1, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return -1, -1, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1, -1, fmt.Errorf("status %d", resp.StatusCode)
	}
	edge, ingest = -1, -1
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := gaugeValue(sc.Text(), gaugeParked); ok {
			edge = max(edge, 0) + v
		} else if v, ok := gaugeValue(sc.Text(), gaugeIngestParked); ok {
			ingest = max(ingest, 0) + v
		}
	}
	return edge, ingest, sc.Err()
}

// gaugeValue returns the value of a sample line of metric name (with or
// without labels).
func gaugeValue(line, name string) (float64, bool) {
	rest, ok := strings.CutPrefix(line, name)
	if !ok || rest == "" || rest[0] != ' ' && rest[0] != '{' {
		return 0, false
	}
	if rest[0] == '{' {
		i := strings.IndexByte(rest, '}')
		if i < 0 {
			return 0, false
		}
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// results returns what the samples showed.
func (s *scraper) results() []Parked {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Parked, len(s.nodes))
	for i, n := range s.nodes {
		n.Edge.finish()
		n.Ingest.finish()
		out[i] = n
	}
	return out
}
