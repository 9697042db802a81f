package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/route"
)

// adminHandler serves the operator API.
func (n *running) adminHandler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { n.serveAdmin(ctx, ctx.Path()) }
}

// nodeView is a member as the admin API shows it.
type nodeView struct {
	ID     string   `json:"id"`
	Roles  []string `json:"roles"`
	Tier   string   `json:"tier,omitempty"`
	Region string   `json:"region,omitempty"`
	HTTP   string   `json:"http"`
	Gossip string   `json:"gossip,omitempty"`
	State  string   `json:"state"`
	Load   float64  `json:"load"`
	Drain  bool     `json:"drain"`
	Events []string `json:"events,omitempty"`
	Self   bool     `json:"self,omitempty"`
}

type purgeRequest struct {
	Key    string `json:"key,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Event  string `json:"event,omitempty"`
}

// target is what a purge removes: one key, or every key under a prefix.
func (p purgeRequest) target() (string, error) {
	set := 0
	for _, v := range []string{p.Key, p.Prefix, p.Event} {
		if v != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return "", fmt.Errorf("give exactly one of key, prefix, event")
	case p.Event != "":
		if !idRE.MatchString(p.Event) {
			return "", fmt.Errorf("event %q is not a valid event id", p.Event)
		}
		return "/live/" + p.Event + "/", nil
	case p.Key != "" && (!strings.HasPrefix(p.Key, "/live/") || strings.HasSuffix(p.Key, "/")):
		return "", fmt.Errorf("key %q: want a path like /live/{event}/{file}", p.Key)
	case p.Prefix != "" && (!strings.HasPrefix(p.Prefix, "/live/") || !strings.HasSuffix(p.Prefix, "/")):
		return "", fmt.Errorf("prefix %q: want a path like /live/{event}/ ending in /", p.Prefix)
	}
	return p.Key + p.Prefix, nil
}

// serveAdmin answers the operator's API. The admin token may do
// everything; the read-only token may only read (403 on a write).
func (n *running) serveAdmin(ctx *fasthttp.RequestCtx, p []byte) {
	if n.cfg.Admin.Token == "" {
		problem(ctx, fasthttp.StatusNotFound, "the admin API is disabled: set admin.token")
		return
	}
	tok := bearer(ctx.Request.Header.Peek("Authorization"))
	full := secretEqual(tok, n.cfg.Admin.Token)
	if !full && !secretEqual(tok, n.cfg.Admin.ReadOnlyToken) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="ringside-admin"`)
		problem(ctx, fasthttp.StatusUnauthorized, "missing or wrong admin token")
		return
	}
	rest := string(p[len(prefixAdmin):])
	route, params, pathKnown := matchAdmin(string(ctx.Method()), rest)
	switch {
	case route == nil && pathKnown:
		problem(ctx, fasthttp.StatusMethodNotAllowed, string(ctx.Method())+" is not allowed on /admin/v1/"+rest)
	case route == nil:
		problem(ctx, fasthttp.StatusNotFound, "no such admin route: "+string(ctx.Method())+" /admin/v1/"+rest)
	case route.write && !full:
		problem(ctx, fasthttp.StatusForbidden, "the read-only token cannot "+string(ctx.Method())+" /admin/v1/"+rest)
	default:
		route.handle(n, ctx, params)
	}
}

func (n *running) adminNodes2(ctx *fasthttp.RequestCtx, _ params) {
	var out []nodeView
	for _, m := range n.members() {
		out = append(out, nodeView{ID: m.ID, Roles: m.Roles, Tier: m.Tier, Region: m.Region, HTTP: m.HTTPAddr,
			Gossip: m.GossipAddr, State: m.State.String(), Load: m.Load, Drain: m.Drain, Events: m.Events,
			Self: m.ID == n.cfg.Node.ID})
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"self": n.cfg.Node.ID, "config_version": n.docVersion.Load(),
		"control_leader": n.leaderID(), "nodes": out})
}

// adminDrainGossip drains a node through gossip alone (no control plane):
// the flag lasts until the node restarts.
func (n *running) adminDrainGossip(ctx *fasthttp.RequestCtx, id string, drain bool) {
	action := "undrain"
	if drain {
		action = "drain"
	}
	if id == n.cfg.Node.ID {
		if err := n.setDrain(ctx, drain); err != nil {
			problem(ctx, fasthttp.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"id": id, "drain": drain})
		return
	}
	addr := n.table().Addr(id)
	if addr == "" {
		problem(ctx, fasthttp.StatusNotFound, "no live member with id "+id)
		return
	}
	body, _ := json.Marshal(map[string]bool{"drain": drain})
	if _, err := n.internalCall(ctx, addr, "/internal/v1/drain", body); err != nil {
		problem(ctx, fasthttp.StatusBadGateway, fmt.Sprintf("telling %s to %s: %v", id, action, err))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"id": id, "drain": drain})
}

// adminPurge purges here and on every other member, in parallel.
func (n *running) adminPurge(ctx *fasthttp.RequestCtx) {
	var req purgeRequest
	if err := strictJSON(ctx.PostBody(), &req); err != nil {
		problem(ctx, fasthttp.StatusBadRequest, "purge: "+err.Error())
		return
	}
	target, err := req.target()
	if err != nil {
		problem(ctx, fasthttp.StatusBadRequest, "purge: "+err.Error())
		return
	}
	fan := purgeRequest{Prefix: target} // what every other node purges
	if req.Key != "" {
		fan = purgeRequest{Key: target}
	}
	body, _ := json.Marshal(fan)
	type result struct {
		Purged int    `json:"purged"`
		Error  string `json:"error,omitempty"`
	}
	results := map[string]result{n.cfg.Node.ID: {Purged: n.shield.Purge(target)}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range n.members() {
		if m.ID == n.cfg.Node.ID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r result
			out, err := n.internalCall(ctx, m.HTTPAddr, "/internal/v1/purge", body)
			if err == nil {
				err = json.Unmarshal(out, &r)
			}
			if err != nil {
				r.Error = err.Error()
			}
			mu.Lock()
			results[m.ID] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	total, failed := 0, 0
	for _, r := range results {
		total += r.Purged
		if r.Error != "" {
			failed++
		}
	}
	status := fasthttp.StatusOK
	if failed > 0 {
		status = fasthttp.StatusMultiStatus
	}
	writeJSON(ctx, status, map[string]any{"target": target, "purged": total, "nodes": results})
}

// internalCall POSTs body to another node's internal API.
func (n *running) internalCall(ctx context.Context, addr, path string, body []byte) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(route.ClusterTokenHeader, n.cfg.Mesh.ClusterToken)
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

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(append(b, '\n'))
}
