package steering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ProberConfig configures active CDN probes.
type ProberConfig struct {
	// Canary is the path fetched through each CDN: GET {BaseURL}{Canary}.
	// It should be a small, always-present file (e.g. a canary segment).
	Canary   string
	Interval time.Duration // between probe rounds
	Timeout  time.Duration // per probe, body included
	// MaxBody is how much of the body is read (a probe must receive it,
	// not just headers); the rest is discarded unread.
	MaxBody int64
	// Parallel bounds the probes in flight.
	Parallel int
}

// DefaultProberConfig probes every 5 s with a 2 s timeout.
func DefaultProberConfig() ProberConfig {
	return ProberConfig{Canary: "/canary.ts", Interval: 5 * time.Second, Timeout: 2 * time.Second, MaxBody: 1 << 20, Parallel: 8}
}

// Validate reports every problem in c at once.
func (c ProberConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("steering: prober config: "+format, args...))
	}
	if !strings.HasPrefix(c.Canary, "/") {
		bad("Canary %q must start with /", c.Canary)
	}
	if c.Interval <= 0 || c.Timeout <= 0 {
		bad("Interval %v and Timeout %v must be positive", c.Interval, c.Timeout)
	}
	if c.MaxBody < 0 {
		bad("MaxBody: %d, must not be negative", c.MaxBody)
	}
	if c.Parallel < 1 {
		bad("Parallel: %d, must be at least 1", c.Parallel)
	}
	return errors.Join(errs...)
}

// ProberDeps are a Prober's collaborators.
type ProberDeps struct {
	Client *http.Client // nil = a client without redirects' surprises: http.DefaultClient
	Health *Health      // receives every probe and passive signal; required
	// Targets returns the CDNs to probe (the current configuration);
	// disabled ones and ones without a BaseURL are skipped.
	Targets func() []CDN
	Logger  *slog.Logger // nil = discard
}

// Prober probes each CDN's canary path and feeds the results, and the
// passive signals edges report, into Health.
type Prober struct {
	cfg  ProberConfig
	deps ProberDeps
}

// ProbeResult is the outcome of one probe.
type ProbeResult struct {
	ID  string
	OK  bool
	Err error // why it failed
}

// NewProber returns a Prober. It does no I/O.
func NewProber(cfg ProberConfig, deps ProberDeps) (*Prober, error) {
	err := cfg.Validate()
	if deps.Health == nil || deps.Targets == nil {
		err = errors.Join(err, errors.New("steering: prober: Health and Targets are required"))
	}
	if err != nil {
		return nil, err
	}
	if deps.Client == nil {
		deps.Client = http.DefaultClient
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Prober{cfg: cfg, deps: deps}, nil
}

// Run probes every Interval until ctx ends, then returns ctx's error.
func (p *Prober) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.ProbeAll(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Passive records a signal about CDN id reported by an edge or a player
// (a segment fetched or failed through it).
func (p *Prober) Passive(id string, ok bool) {
	if p.deps.Health.Observe(id, ok) {
		p.deps.Logger.Info("steering: cdn health changed", "cdn", id, "up", p.deps.Health.Up(id), "source", "passive")
	}
}

// ProbeAll probes every target once, concurrently, feeds Health and
// returns the results in target order. Probes cut short because ctx ended
// are not fed to Health.
func (p *Prober) ProbeAll(ctx context.Context) []ProbeResult {
	var targets []CDN
	for _, c := range p.deps.Targets() {
		if c.State != CDNDisabled && c.BaseURL != "" {
			targets = append(targets, c)
		}
	}
	results := make([]ProbeResult, len(targets))
	sem := make(chan struct{}, p.cfg.Parallel)
	var wg sync.WaitGroup
	for i, c := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = ProbeResult{ID: c.ID, Err: p.probe(ctx, c)}
			results[i].OK = results[i].Err == nil
		}()
	}
	wg.Wait()
	for _, r := range results {
		if ctx.Err() != nil {
			break
		}
		if p.deps.Health.Observe(r.ID, r.OK) {
			p.deps.Logger.Info("steering: cdn health changed", "cdn", r.ID, "up", r.OK, "source", "probe", "err", r.Err)
		}
	}
	return results
}

// probe fetches the canary through c and reads up to MaxBody of it.
func (p *Prober) probe(ctx context.Context, c CDN) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	url := strings.TrimSuffix(c.BaseURL, "/") + p.cfg.Canary
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("steering: probe %s: %w", c.ID, err)
	}
	req.Header.Set("User-Agent", "ringside-steering-probe")
	resp, err := p.deps.Client.Do(req)
	if err != nil {
		return fmt.Errorf("steering: probe %s: %w", c.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("steering: probe %s: %s: status %d", c.ID, url, resp.StatusCode)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, p.cfg.MaxBody)); err != nil {
		return fmt.Errorf("steering: probe %s: body: %w", c.ID, err)
	}
	return nil
}
