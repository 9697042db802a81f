package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/steering"
)

// newAdmin builds the operator API over this node's adapters.
func (n *running) newAdmin() (*admin.API, error) {
	deps := admin.Deps{Cluster: adminCluster{n}, Logger: n.log.With("component", "admin"), Feeds: adminFeeds{n},
		Clips: adminClips{n}}
	if n.cfgSrc != nil {
		deps.Control = adminControl{n}
	}
	if n.steer != nil {
		deps.Steering = adminSteering{n}
	}
	if n.mesh != nil {
		deps.MeshKeys = adminMeshKeys{n}
	}
	if n.tel != nil && n.tel.merger != nil {
		deps.Telemetry = adminTelemetry{n.tel}
	}
	deps.Client = n.peerClient(0) // forwarding: to the voters' mesh listeners; the call's context bounds it
	ac := admin.DefaultConfig()
	ac.NodeID, ac.Token, ac.ReadOnlyToken = n.cfg.Node.ID, n.cfg.Admin.Token, n.cfg.Admin.ReadOnlyToken
	return admin.New(ac, deps)
}

// adminHandler mounts the admin API on fasthttp. The net/http request's
// context is derived from the node's run context (the adaptor would hand
// the RequestCtx itself); the API sets each route's own budget under it.
func (n *running) adminHandler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := n.requestContext(budgetAdmin)
		if admin.IsStream(r) { // the telemetry stream: bounded by admin.StreamLimit
			cancel()
			ctx, cancel = context.WithCancel(n.ctx)
		}
		defer cancel()
		n.admin.ServeHTTP(w, r.WithContext(ctx))
	}))
}

// adminControl is admin.Control over the node's store or followed copy.
type adminControl struct{ n *running }

func (c adminControl) Current() *control.Document { return c.n.cfgSrc.Current() }
func (c adminControl) Voter() bool                { return c.n.store != nil }

func (c adminControl) Apply(ctx context.Context, cmd control.Command) (control.Result, error) {
	st := c.n.store
	if st == nil {
		return control.Result{}, &control.NotLeaderError{}
	}
	if st.Current().Version == 0 && len(c.n.cfg.Events) > 0 && st.IsLeader() {
		c.n.seed(st) // the static events come first, even before an early operator write
	}
	return st.Apply(ctx, cmd)
}

func (c adminControl) ReadConsistent(ctx context.Context) (*control.Document, error) {
	if c.n.store == nil {
		return nil, &control.NotLeaderError{}
	}
	return c.n.store.ReadConsistent(ctx)
}

func (c adminControl) History(limit int) []control.Change {
	if c.n.store == nil {
		return nil
	}
	return c.n.store.History(limit)
}

func (c adminControl) Leader() string { return c.n.leaderID() }

func (c adminControl) Divergence() (control.Divergence, bool) {
	if c.n.store == nil {
		return control.Divergence{}, false
	}
	return c.n.store.Divergence()
}

// leaderID is the control leader as this node knows it: its own Raft's
// view on a voter, the last voter that named one on a follower.
func (n *running) leaderID() string {
	if n.store != nil {
		id, _ := n.store.Leader()
		return id
	}
	if n.follow != nil {
		return n.follow.leader()
	}
	return ""
}

// adminCluster is admin.Cluster over the mesh and this node's cache.
type adminCluster struct{ n *running }

// Members is the gossip view, every member as it claims to be, with what
// its certificate check found (the routing table uses only verified ones).
func (c adminCluster) Members() []admin.Member {
	ms := c.n.members()
	if c.n.mesh != nil {
		ms = c.n.mesh.Members()
	}
	out := make([]admin.Member, 0, len(ms))
	for _, m := range ms {
		am := admin.Member{ID: m.ID, Roles: m.Roles, Tier: m.Tier, Region: m.Region, HTTP: m.HTTPAddr,
			Gossip: m.GossipAddr, State: m.State.String(), Load: m.Load, Drain: m.Drain, Events: m.Events}
		if c.n.peers != nil {
			am.Identity, am.CertRoles = c.n.peers.status(m)
		}
		out = append(out, am)
	}
	return out
}

func (c adminCluster) Voters() []string {
	leader := c.n.leaderID()
	var out []string
	for _, m := range c.n.controlMembers() {
		if m.ID == leader {
			out = append([]string{m.ID}, out...)
		} else {
			out = append(out, m.ID)
		}
	}
	return out
}

// AdminURL is where a call is forwarded to node id: its mesh listener
// (mutual TLS; the operator's token is not sent, see admin.ServeForwarded).
func (c adminCluster) AdminURL(id string) string {
	if addr := c.n.table().Addr(id); addr != "" {
		return "https://" + addr
	}
	return ""
}

func (c adminCluster) Drain(ctx context.Context, id string, drain bool) error {
	if id == c.n.cfg.Node.ID {
		return c.n.setDrain(ctx, drain)
	}
	addr := c.n.table().Addr(id)
	if addr == "" {
		return fmt.Errorf("%w: %s", admin.ErrUnknownNode, id)
	}
	body, _ := json.Marshal(map[string]bool{"drain": drain})
	_, err := c.n.internalCall(ctx, addr, "/internal/v1/drain", body)
	return err
}

func (c adminCluster) Purge(ctx context.Context, target string, key bool) map[string]admin.PurgeResult {
	fan := map[string]string{"prefix": target} // what every other node purges
	if key {
		fan = map[string]string{"key": target}
	}
	body, _ := json.Marshal(fan)
	results := map[string]admin.PurgeResult{c.n.cfg.Node.ID: {Purged: c.n.shield.Purge(target)}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range c.n.members() {
		if m.ID == c.n.cfg.Node.ID {
			continue
		}
		wg.Go(func() {
			var r admin.PurgeResult
			out, err := c.n.internalCall(ctx, m.MeshAddr, "/internal/v1/purge", body)
			if err == nil {
				err = json.Unmarshal(out, &r)
			}
			if err != nil {
				r.Error = err.Error()
			}
			mu.Lock()
			results[m.ID] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

// internalCall POSTs body to the internal API of the node whose mesh
// listener is addr (mutual TLS: the connection checks its certificate).
func (n *running) internalCall(ctx context.Context, addr, path string, body []byte) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, budgetControl)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.cluster.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(out))
	}
	return out, nil
}

// internalGet GETs path from a node's internal API within ctx: the body
// (at most limit bytes) and headers of a 200; any other status is an
// error carrying the start of the body.
func (n *running) internalGet(ctx context.Context, addr, path string, limit int64) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+path, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := n.cluster.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return nil, nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, bytes.TrimSpace(b))
	case int64(len(b)) > limit:
		return nil, nil, fmt.Errorf("%s: answer over %d bytes", path, limit)
	}
	return b, resp.Header, nil
}

// adminSteering is admin.Steering over the steer role.
type adminSteering struct{ n *running }

func (s adminSteering) Simulate(event string, client netip.Addr, subnet netip.Prefix, session string) (any, error) {
	ev := s.n.event(event)
	if ev == nil {
		return nil, admin.ErrUnknownEvent
	}
	st := s.n.steer
	return st.eng.Simulate(st.snapshot(ev), steering.Client{Addr: client, Prefix: subnet, Session: session}), nil
}

func (s adminSteering) Health() any { return s.n.steer.health.Status() }

var (
	_ admin.Control  = adminControl{}
	_ admin.Cluster  = adminCluster{}
	_ admin.Steering = adminSteering{}
)
