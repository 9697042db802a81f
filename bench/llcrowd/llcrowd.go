package llcrowd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/bench/crowd"
	"github.com/ringside-live/ringside/bench/llorigin"
)

// maxErrorSamples bounds the distinct error messages a Report keeps.
const maxErrorSamples = 10

// Crowd runs one low-latency crowd. Use it once.
type Crowd struct {
	cfg Config
	// client reads the origin's stats and the nodes' metrics; players
	// have their own connections.
	client *http.Client
	end    time.Time // when the run ends

	stop      context.CancelFunc // ends the run when the budget is spent
	budget    atomic.Int64       // requests left
	requests  atomic.Int64
	bytes     atomic.Int64
	joined    atomic.Int64
	cancelled atomic.Int64
	mismatch  atomic.Int64

	errMu    sync.Mutex
	errKinds map[string]int64
	errSeen  map[string]bool
	errList  []string
}

// New returns a Crowd for cfg.
func New(cfg Config) (*Crowd, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Crowd{
		cfg:      cfg,
		client:   &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}},
		errKinds: make(map[string]int64),
		errSeen:  make(map[string]bool),
	}
	c.budget.Store(cfg.MaxRequests)
	return c, nil
}

// Run runs the crowd until Duration passes, the request budget is spent or
// ctx ends, and returns the report. It fails only if the crowd could not
// start; request failures are counted in the report.
func (c *Crowd) Run(ctx context.Context) (Report, error) {
	defer c.client.CloseIdleConnections()
	if c.cfg.StatsURL != "" && c.cfg.ResetStats {
		if err := c.resetOrigin(ctx); err != nil {
			return Report{}, err
		}
	}
	started := time.Now()
	c.end = started.Add(c.cfg.Duration)
	user0, sys0 := cpuTime()
	rctx, cancel := context.WithDeadline(ctx, c.end)
	defer cancel()
	c.stop = cancel
	var sc *scraper
	if len(c.cfg.MetricsURLs) > 0 {
		sc = newScraper(c.client, c.cfg.MetricsURLs, started.Add(c.cfg.JoinWindow))
		go sc.run(rctx, c.cfg.MetricsEvery)
	}
	players := make([]*player, c.cfg.Players)
	var wg sync.WaitGroup
	for i := range players {
		p := newPlayer(c, i)
		players[i] = p
		wg.Go(func() { p.run(rctx) })
	}
	wg.Wait()
	user1, sys1 := cpuTime()
	wall := time.Since(started)
	r := c.report(players, started, wall, user1-user0, sys1-sys0)
	if sc != nil {
		r.Parked = sc.results()
	}
	if c.cfg.StatsURL != "" {
		st, err := c.originStats(ctx)
		if err != nil {
			r.Origin = &OriginSummary{Error: err.Error()}
		} else {
			r.Origin = summarizeOrigin(st)
			r.latencies(players, st, c.cfg.CyclesCSV)
		}
	}
	return r, nil
}

// take spends one request of the budget, ending the run when none is left.
func (c *Crowd) take() bool {
	if c.budget.Add(-1) < 0 {
		c.stop()
		return false
	}
	c.requests.Add(1)
	return true
}

// countError counts an error of kind and keeps the first few distinct
// messages.
func (c *Crowd) countError(kind, msg string) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	c.errKinds[kind]++
	c.noteErrorLocked(msg)
}

func (c *Crowd) noteError(msg string) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	c.noteErrorLocked(msg)
}

func (c *Crowd) noteErrorLocked(msg string) {
	if len(c.errList) < maxErrorSamples && !c.errSeen[msg] {
		c.errSeen[msg] = true
		c.errList = append(c.errList, msg)
	}
}

func (c *Crowd) resetOrigin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.cfg.StatsURL, "/")+"/reset", nil)
	if err != nil {
		return fmt.Errorf("llcrowd: reset origin stats: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("llcrowd: reset origin stats: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("llcrowd: reset origin stats: status %d", resp.StatusCode)
	}
	return nil
}

func (c *Crowd) originStats(ctx context.Context) (llorigin.Stats, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var st llorigin.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.StatsURL, nil)
	if err != nil {
		return st, fmt.Errorf("llcrowd: origin stats: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return st, fmt.Errorf("llcrowd: origin stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("llcrowd: origin stats: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("llcrowd: origin stats: %w", err)
	}
	return st, nil
}

func (c *Crowd) report(players []*player, started time.Time, wall, user, sys time.Duration) Report {
	r := Report{
		Started:    started,
		WallS:      wall.Seconds(),
		Settings:   settingsOf(c.cfg),
		Joined:     c.joined.Load(),
		Requests:   c.requests.Load(),
		Cancelled:  c.cancelled.Load(),
		Mismatches: c.mismatch.Load(),
		Bytes:      c.bytes.Load(),
		CPU: crowd.CPU{
			UserS:  user.Seconds(),
			SysS:   sys.Seconds(),
			TotalS: (user + sys).Seconds(),
		},
	}
	if wall > 0 {
		r.CPU.PercentOfWall = 100 * (user + sys).Seconds() / wall.Seconds()
	}
	var joins []time.Duration
	for _, p := range players {
		r.Cycles += int64(len(p.cycles))
		r.Stalls += p.stalls
		r.SkippedParts += p.skipped
		joins = append(joins, p.joins...)
	}
	c.errMu.Lock()
	r.ErrorKinds = make(map[string]int64, len(c.errKinds))
	for k, n := range c.errKinds {
		r.ErrorKinds[k] = n
		r.Errors += n
		if strings.HasPrefix(k, "join ") {
			r.JoinErrors += n
		}
	}
	r.ErrorSamples = append([]string(nil), c.errList...)
	c.errMu.Unlock()
	r.JoinPlaylist = crowd.Summarize(joins, r.JoinErrors)
	return r
}
