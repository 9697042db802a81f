package crowd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
)

// maxErrorSamples bounds the distinct error messages a Report keeps.
const maxErrorSamples = 10

// Crowd runs one flash crowd. Use it once.
type Crowd struct {
	cfg    Config
	client *http.Client

	stop      context.CancelFunc // ends the run when the budget is spent
	budget    atomic.Int64       // requests left
	requests  atomic.Int64
	bytes     atomic.Int64
	joined    atomic.Int64
	cancelled atomic.Int64
	mismatch  atomic.Int64
	skipped   atomic.Int64

	playlists, join, live recorder

	errMu   sync.Mutex
	errSeen map[string]bool
	errList []string
}

// NewTransport returns a Transport for conns concurrent players against a
// few hosts: every player keeps its connection, nothing is compressed, and
// no proxy from the environment is used.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   conns + 16,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ExpectContinueTimeout: 0,
		ReadBufferSize:        32 << 10,
		WriteBufferSize:       4 << 10,
	}
}

// New returns a Crowd for cfg. client may be nil for one on NewTransport.
func New(cfg Config, client *http.Client) (*Crowd, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Transport: NewTransport(cfg.Players)}
	}
	c := &Crowd{cfg: cfg, client: client, errSeen: make(map[string]bool)}
	c.budget.Store(cfg.MaxRequests)
	return c, nil
}

// Run runs the crowd until Duration passes, the request budget is spent or
// ctx ends, and returns the report. It fails only if the crowd could not
// start; request failures are counted in the report.
func (c *Crowd) Run(ctx context.Context) (Report, error) {
	if c.cfg.StatsURL != "" && c.cfg.ResetStats {
		if err := c.resetOrigin(ctx); err != nil {
			return Report{}, err
		}
	}
	started := time.Now()
	user0, sys0 := cpuTime()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Duration)
	defer cancel()
	c.stop = cancel
	var wg sync.WaitGroup
	for i := range c.cfg.Players {
		p := newPlayer(c, i)
		wg.Go(func() { p.run(rctx) })
	}
	wg.Wait()
	user1, sys1 := cpuTime()
	wall := time.Since(started)
	r := c.report(started, wall, user1-user0, sys1-sys0)
	if c.cfg.StatsURL != "" {
		r.Origin = c.originSummary(ctx)
	}
	return r, nil
}

func (c *Crowd) report(started time.Time, wall, user, sys time.Duration) Report {
	r := Report{
		Started:      started,
		WallS:        wall.Seconds(),
		Settings:     settingsOf(c.cfg),
		Joined:       c.joined.Load(),
		Requests:     c.requests.Load(),
		Cancelled:    c.cancelled.Load(),
		Mismatches:   c.mismatch.Load(),
		Bytes:        c.bytes.Load(),
		Skipped:      c.skipped.Load(),
		Playlists:    c.playlists.summary(),
		JoinSegments: c.join.summary(),
		LiveSegments: c.live.summary(),
		CPU: CPU{
			UserS:  user.Seconds(),
			SysS:   sys.Seconds(),
			TotalS: (user + sys).Seconds(),
		},
	}
	r.Errors = r.Playlists.Errors + r.JoinSegments.Errors + r.LiveSegments.Errors
	if wall > 0 {
		r.CPU.PercentOfWall = 100 * (user + sys).Seconds() / wall.Seconds()
	}
	c.errMu.Lock()
	r.ErrorSamples = append([]string(nil), c.errList...)
	c.errMu.Unlock()
	return r
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

// noteError keeps the first few distinct error messages.
func (c *Crowd) noteError(msg string) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if len(c.errList) < maxErrorSamples && !c.errSeen[msg] {
		c.errSeen[msg] = true
		c.errList = append(c.errList, msg)
	}
}

// errStatus is wrapped by fetch for responses other than 200.
var errStatus = errors.New("crowd: unexpected status")

// response is the outcome of one fetch.
type response struct {
	ttfb     time.Duration
	body     []byte // kept only when fetch is given no verifier
	verified bool
}

// fetch GETs url. With a verifier the body streams into it and is not kept;
// otherwise it is returned. buf is scratch space.
func (c *Crowd) fetch(ctx context.Context, url string, v *originsim.Verifier, buf []byte) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	began := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return response{}, fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	var out response
	var kept bytes.Buffer
	var sink io.Writer = &kept
	if v != nil {
		sink = v
	}
	n, err := readFirst(resp.Body, buf)
	out.ttfb = time.Since(began)
	_, _ = sink.Write(buf[:n])
	total := int64(n)
	if err == nil {
		var m int64
		m, err = io.CopyBuffer(sink, onlyReader{resp.Body}, buf)
		total += m
	}
	c.bytes.Add(total)
	if err != nil && err != io.EOF {
		return out, err
	}
	if v != nil {
		out.verified = v.OK()
	} else {
		out.body = kept.Bytes()
	}
	return out, nil
}

// readFirst reads until at least one byte or an error arrives.
func readFirst(r io.Reader, buf []byte) (int, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// onlyReader hides WriterTo so that io.CopyBuffer uses the given buffer.
type onlyReader struct{ io.Reader }

func (c *Crowd) resetOrigin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.cfg.StatsURL, "/")+"/reset", nil)
	if err != nil {
		return fmt.Errorf("crowd: reset origin stats: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("crowd: reset origin stats: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("crowd: reset origin stats: status %d", resp.StatusCode)
	}
	return nil
}

// originSummary reads the origin's stats; failures land in its Error.
func (c *Crowd) originSummary(ctx context.Context) *OriginSummary {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var st originsim.Stats
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.StatsURL, nil)
		if err != nil {
			return err
		}
		resp, err := c.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%w %d", errStatus, resp.StatusCode)
		}
		return json.NewDecoder(resp.Body).Decode(&st)
	}()
	if err != nil {
		return &OriginSummary{Error: fmt.Sprintf("crowd: origin stats: %v", err)}
	}
	return &OriginSummary{
		Requests:         st.Requests,
		PlaylistRequests: st.PlaylistRequests,
		SegmentRequests:  st.SegmentRequests,
		UniqueSegments:   st.UniqueSegments,
		MaxPerSegment:    st.MaxPerSegment,
		MaxSegment:       st.MaxSegment,
		PerUniqueSegment: st.PerUniqueSegment(),
	}
}
