package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/shield"
)

// maxPeerTries bounds how many shield owners one fetch tries before it
// goes to the origin.
const maxPeerTries = 3

// errNoIngest: no reachable node has content for a push event (yet).
var errNoIngest = errors.New("node: no reachable node ingests event")

// meshFetcher is the cache tier's way up: the key's shield owners in
// rendezvous order (failing over on connect errors, timeouts and 5xx), then
// the origin: the nodes ingesting a push event, or a pull event's URL. It
// also pushes new segments to their owners (ingest.Filler).
type meshFetcher struct {
	n    *Node
	peer *http.Client // short connect and header timeouts: a dead owner is skipped fast
	// longPoll has no header timeout: a voter holds config polls open.
	longPoll *http.Client
	origin   *shield.OriginFetcher

	fetches *prometheus.CounterVec // by tier and result
	fills   *prometheus.CounterVec // by result
}

func newMeshFetcher(n *Node) *meshFetcher {
	f := &meshFetcher{n: n,
		peer:     httpClient(time.Duration(n.cfg.Mesh.PeerTimeout)),
		longPoll: httpClient(0),
		origin:   &shield.OriginFetcher{Client: httpClient(10 * time.Second), BaseURL: n.pullURL, NodeID: n.cfg.Node.ID},
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_upstream_requests_total",
			Help: "Requests to the next tier up, by tier (shield, ingest, origin) and result (ok, error).",
		}, []string{"tier", "result"}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_push_fills_total", Help: "Segments pushed to shield owners before publication, by result.",
		}, []string{"result"}),
	}
	f.peer.Transport = clusterTransport{base: f.peer.Transport, token: n.cfg.Mesh.ClusterToken}
	n.reg.MustRegister(f.fetches, f.fills)
	return f
}

func httpClient(headerTimeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: headerTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	tr.ResponseHeaderTimeout = headerTimeout
	if headerTimeout == 0 {
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr.DisableCompression = true
	return &http.Client{Transport: tr}
}

// Fetch implements shield.Fetcher.
func (f *meshFetcher) Fetch(ctx context.Context, r shield.Request) (*shield.Response, error) {
	t := f.n.topo.Load()
	hops := splitHops(r.Hops)
	var errs []error
	if t != nil {
		for _, id := range t.peers(r.Key, hops, maxPeerTries) {
			resp, err := f.fromPeer(ctx, t, id, r, "shield")
			if err == nil {
				return resp, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				return nil, errors.Join(errs...)
			}
		}
	}
	ev := f.n.event(r.Event)
	if ev == nil || !ev.Push {
		resp, err := f.origin.Fetch(ctx, r)
		f.count("origin", err == nil && resp.Status < 500)
		if err != nil {
			return nil, errors.Join(append(errs, err)...)
		}
		return resp, nil
	}
	if t != nil {
		for _, id := range t.ingestNodes(r.Event, r.Key) {
			if id == t.self || slices.Contains(hops, id) {
				continue
			}
			resp, err := f.fromPeer(ctx, t, id, r, "ingest")
			if err == nil {
				return resp, nil
			}
			errs = append(errs, err)
		}
	}
	errs = append(errs, fmt.Errorf("%w %q", errNoIngest, r.Event))
	return nil, errors.Join(errs...)
}

// fromPeer asks one node; connect errors, timeouts and 5xx are errors (the
// caller tries the next), any other answer is returned.
func (f *meshFetcher) fromPeer(ctx context.Context, t *topology, id string, r shield.Request, tier string) (*shield.Response, error) {
	addr := t.addr[id]
	if addr == "" {
		return nil, fmt.Errorf("peer %s: no HTTP address", id)
	}
	url := "http://" + addr + "/live/" + r.Event + "/" + r.Path
	if r.Query != "" {
		url += "?" + r.Query
	}
	resp, err := shield.Get(ctx, f.peer, url, r, f.n.cfg.Node.ID, id)
	if err == nil && resp.Status >= 500 {
		resp.Body.Close()
		err = fmt.Errorf("status %d", resp.Status)
	}
	f.count(tier, err == nil)
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", id, err)
	}
	return resp, nil
}

func (f *meshFetcher) count(tier string, ok bool) {
	f.fetches.WithLabelValues(tier, resultLabel(ok)).Inc()
}

func resultLabel(ok bool) string {
	if ok {
		return "ok"
	}
	return "error"
}

// Fill implements ingest.Filler: it pushes a new segment to the key's
// shield owners (other than this node) before its playlist is published,
// so the first player request after the update is a hit there.
func (f *meshFetcher) Fill(ctx context.Context, event, path string, o *object.Object) error {
	t := f.n.topo.Load()
	if t == nil {
		return nil
	}
	key := "/live/" + event + "/" + path
	ctx, cancel := context.WithTimeout(ctx, time.Duration(f.n.cfg.Mesh.FillTimeout))
	defer cancel()
	var errs []error
	for _, id := range t.owners(key) {
		if id == t.self || t.addr[id] == "" {
			continue
		}
		err := f.fillOne(ctx, t.addr[id], key, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("fill %s on %s: %w", key, id, err))
		}
		f.fills.WithLabelValues(resultLabel(err == nil)).Inc()
	}
	return errors.Join(errs...)
}

func (f *meshFetcher) fillOne(ctx context.Context, addr, key string, o *object.Object) error {
	body := io.Reader(o.NewReader(ctx, nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+prefixInternalFill+key[len("/live/"):], body)
	if err != nil {
		return err
	}
	req.Header.Set(hdrClusterToken, f.n.cfg.Mesh.ClusterToken)
	req.Header.Set(shield.HopHeader, f.n.cfg.Node.ID)
	resp, err := f.peer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
