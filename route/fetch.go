package route

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/shield"
)

// Errors of Fetch, besides the peers' and the origin's own.
var (
	// ErrNoIngest: no reachable node has content for a push event (yet).
	ErrNoIngest = errors.New("route: no reachable node ingests event")
	// ErrNoOrigin: the event has neither a pull origin nor push ingest.
	ErrNoOrigin = errors.New("route: no origin for event")
)

// Sources tells the fetcher where an event's content comes from.
type Sources interface {
	// Source returns the base URL of event's pull origin ("" for none) and
	// whether encoders push the event into ingest nodes.
	Source(event string) (pullURL string, push bool)
}

// Config tunes a Fetcher.
type Config struct {
	NodeID string
	// PeerScheme is how peers are reached: "https" (the mesh listener,
	// mutual TLS; Deps.Peer presents this node's certificate and checks
	// the peer's) unless a test serves peers in plain HTTP.
	PeerScheme string
	// MaxPeers bounds how many shield owners one fetch tries before it goes
	// to the origin.
	MaxPeers int
	// Resumes is how many times a body that breaks is resumed (from the next
	// upstream, with a Range request) before the reader sees the error.
	Resumes int
	// FillTimeout bounds the push of a new segment to its shield owners.
	FillTimeout time.Duration
}

// DefaultConfig returns the defaults: peers over https, 3 peers, 2
// resumes, 1 s fills.
func DefaultConfig() Config {
	return Config{PeerScheme: "https", MaxPeers: 3, Resumes: 2, FillTimeout: time.Second}
}

// Deps are the Fetcher's collaborators.
type Deps struct {
	// Table returns the current routing table (nil: this node alone).
	Table   func() *Table
	Sources Sources
	// Peer is the node-to-node client: short connect and header timeouts,
	// so a dead owner is skipped fast. Origin is the pull origins' client.
	Peer, Origin *http.Client
	// HeldPeer is Peer for requests the upstream may hold (Request.Hold):
	// the same short connect timeout, but it waits for the answer as long
	// as the fetch may last. nil: Peer.
	HeldPeer   *http.Client
	Registerer prometheus.Registerer
}

// Fetcher is the cache tier's way up: the key's shield owners in
// rendezvous order (failing over on connect errors, timeouts and 5xx), then
// the origin: the nodes ingesting a push event, or a pull event's URL. A
// body that breaks is resumed from the next upstream. It also pushes new
// segments to their owners (Fill).
type Fetcher struct {
	cfg  Config
	deps Deps
	m    *metrics
}

// NewFetcher builds a Fetcher; it does no I/O.
func NewFetcher(cfg Config, deps Deps) (*Fetcher, error) {
	if cfg.NodeID == "" || deps.Table == nil || deps.Sources == nil || deps.Peer == nil || deps.Origin == nil {
		return nil, errors.New("route: fetcher needs a node id, a table, sources and two clients")
	}
	if cfg.PeerScheme != "https" && cfg.PeerScheme != "http" {
		return nil, fmt.Errorf("route: peer scheme %q: want https or http", cfg.PeerScheme)
	}
	if cfg.MaxPeers <= 0 || cfg.Resumes < 0 || cfg.FillTimeout <= 0 {
		return nil, fmt.Errorf("route: max peers (%d) and fill timeout (%v) must be positive, resumes (%d) not negative",
			cfg.MaxPeers, cfg.FillTimeout, cfg.Resumes)
	}
	return &Fetcher{cfg: cfg, deps: deps, m: newMetrics(deps.Registerer)}, nil
}

// Fetch implements shield.Fetcher.
func (f *Fetcher) Fetch(ctx context.Context, r shield.Request) (*shield.Response, error) {
	resp, err := f.fetchOnce(ctx, r)
	if err != nil || resp.Status != http.StatusOK || resp.Body == nil || f.cfg.Resumes == 0 {
		return resp, err
	}
	resp.Body = &resumingBody{f: f, ctx: ctx, r: r, body: resp.Body, source: resp.Source, left: resp.ContentLength,
		resumes: f.cfg.Resumes}
	return resp, nil
}

// fetchOnce asks the shield owners, then the origin, once each.
func (f *Fetcher) fetchOnce(ctx context.Context, r shield.Request) (*shield.Response, error) {
	t := f.deps.Table()
	hops := SplitHops(r.Hops)
	var errs []error
	if t != nil {
		for _, id := range t.Peers(r.Key, hops, f.cfg.MaxPeers) {
			resp, err := f.askPeer(ctx, t, id, r, "shield")
			if err == nil {
				return resp, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				return nil, errors.Join(errs...)
			}
		}
	}
	pull, push := f.deps.Sources.Source(r.Event)
	if !push {
		if pull == "" {
			return nil, errors.Join(append(errs, fmt.Errorf("%w %q", ErrNoOrigin, r.Event))...)
		}
		resp, err := get(ctx, f.deps.Origin, originURL(pull, r), r, f.cfg.NodeID, "origin", nil)
		f.m.count("origin", err == nil && resp.Status < 500)
		if err != nil {
			return nil, errors.Join(append(errs, err)...)
		}
		return resp, nil
	}
	if t != nil {
		for _, id := range t.Ingesters(r.Event, r.Key) {
			if id == t.self || slices.Contains(hops, id) {
				continue
			}
			resp, err := f.askPeer(ctx, t, id, r, "ingest")
			if err == nil {
				return resp, nil
			}
			errs = append(errs, err)
		}
	}
	errs = append(errs, fmt.Errorf("%w %q", ErrNoIngest, r.Event))
	return nil, errors.Join(errs...)
}

// askPeer asks one node; connect errors, timeouts and 5xx are errors (the
// caller tries the next), any other answer is returned.
func (f *Fetcher) askPeer(ctx context.Context, t *Table, id string, r shield.Request, tier string) (*shield.Response, error) {
	addr := t.addr[id]
	if addr == "" {
		return nil, fmt.Errorf("route: peer %s: no mesh address", id)
	}
	url := f.cfg.PeerScheme + "://" + addr + "/live/" + r.Event + "/" + r.Path
	if r.Query != "" {
		url += "?" + r.Query
	}
	c := f.deps.Peer
	if r.Hold && f.deps.HeldPeer != nil {
		c = f.deps.HeldPeer
	}
	resp, err := get(ctx, c, url, r, f.cfg.NodeID, id, nil)
	if err == nil && resp.Status >= 500 {
		resp.Body.Close()
		err = fmt.Errorf("status %d", resp.Status)
	}
	f.m.count(tier, err == nil)
	if err != nil {
		return nil, fmt.Errorf("route: peer %s: %w", id, err)
	}
	return resp, nil
}

var _ shield.Fetcher = (*Fetcher)(nil)
