package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/control"
)

// Admin writes change the Raft-held document. A write on a node that is not
// the leader is forwarded to the leader (through a control node when this
// node is not one); hdrForwarded counts the hops so forwarding cannot loop.
const (
	hdrForwarded   = "X-Ringside-Forwarded"
	hdrIdempotency = "Idempotency-Key"
	maxForwards    = 2
)

// doc returns the document this node serves, or nil without a control plane.
func (n *running) doc() *control.Document {
	if n.cfgSrc == nil {
		return nil
	}
	return n.cfgSrc.Current()
}

func (n *running) leaderID() string {
	if n.store == nil {
		return ""
	}
	id, _ := n.store.Leader()
	return id
}

// needDoc answers 503 when the node has no control plane.
func (n *running) needDoc(ctx *fasthttp.RequestCtx) *control.Document {
	d := n.doc()
	if d == nil {
		problem(ctx, fasthttp.StatusServiceUnavailable, "no control plane on this node: set control.data_dir")
	}
	return d
}

func setETag(ctx *fasthttp.RequestCtx, version uint64) {
	ctx.Response.Header.Set("ETag", `"`+strconv.FormatUint(version, 10)+`"`)
}

func (n *running) adminConfig(ctx *fasthttp.RequestCtx, _ params) {
	d := n.needDoc(ctx)
	if d == nil {
		return
	}
	setETag(ctx, d.Version)
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"version": d.Version, "updated_at": d.UpdatedAt, "leader": n.leaderID(), "document": redact(d)})
}

func (n *running) adminHistory(ctx *fasthttp.RequestCtx, _ params) {
	if n.store == nil {
		n.forwardToControl(ctx)
		return
	}
	limit, err := strconv.Atoi(string(ctx.QueryArgs().Peek("limit")))
	if err != nil || limit <= 0 {
		limit = 100
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"version": n.store.Current().Version, "changes": n.store.History(limit)})
}

// redact hides secrets (signing key material) from admin reads.
func redact(d *control.Document) map[string]any {
	keys := map[string]any{}
	if d.Signing.Current != nil {
		keys["current"] = map[string]string{"id": d.Signing.Current.ID}
	}
	if d.Signing.Previous != nil {
		keys["previous"] = map[string]string{"id": d.Signing.Previous.ID}
	}
	return map[string]any{"events": d.Events, "regions": d.Regions, "cdns": d.CDNs, "nodes": d.Nodes, "signing_keys": keys}
}

// listDoc answers a listing of one map of the document, sorted by key.
func listDoc[V any](n *running, ctx *fasthttp.RequestCtx, name string, pick func(*control.Document) map[string]V) {
	d := n.needDoc(ctx)
	if d == nil {
		return
	}
	m := pick(d)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	setETag(ctx, d.Version)
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"version": d.Version, name: out})
}

func (n *running) adminListEvents(ctx *fasthttp.RequestCtx, _ params) {
	listDoc(n, ctx, "events", func(d *control.Document) map[string]control.Event { return d.Events })
}

func (n *running) adminGetEvent(ctx *fasthttp.RequestCtx, p params) {
	d := n.needDoc(ctx)
	if d == nil {
		return
	}
	ev, ok := d.Events[p["id"]]
	if !ok {
		problem(ctx, fasthttp.StatusNotFound, "no event "+p["id"])
		return
	}
	setETag(ctx, d.Version)
	writeJSON(ctx, fasthttp.StatusOK, ev)
}

func (n *running) adminCreateEvent(ctx *fasthttp.RequestCtx, _ params) {
	var ev control.Event
	if !decodeBody(ctx, &ev) {
		return
	}
	if d := n.doc(); d != nil {
		if _, exists := d.Events[ev.ID]; exists && ev.ID != "" {
			problem(ctx, fasthttp.StatusConflict, "event "+ev.ID+" exists; PUT /admin/v1/events/"+ev.ID+" replaces it")
			return
		}
	}
	if ev.State == "" {
		ev.State = control.StateScheduled
	}
	n.write(ctx, control.CmdPutEvent, ev, func(d *control.Document) any { return d.Events[ev.ID] })
}

func (n *running) adminPutEvent(ctx *fasthttp.RequestCtx, p params) {
	var ev control.Event
	if !decodeBody(ctx, &ev) {
		return
	}
	if !samePathID(ctx, &ev.ID, p["id"], "id") {
		return
	}
	n.write(ctx, control.CmdPutEvent, ev, func(d *control.Document) any { return d.Events[ev.ID] })
}

func (n *running) adminDeleteEvent(ctx *fasthttp.RequestCtx, p params) {
	n.write(ctx, control.CmdDeleteEvent, control.EventRef{ID: p["id"]}, nil)
}

func (n *running) adminEventState(ctx *fasthttp.RequestCtx, p params) {
	var a control.EventStateArgs
	if !decodeBody(ctx, &a) {
		return
	}
	a.ID = p["id"]
	n.write(ctx, control.CmdSetEventState, a, func(d *control.Document) any { return d.Events[a.ID] })
}

func (n *running) adminListRegions(ctx *fasthttp.RequestCtx, _ params) {
	listDoc(n, ctx, "regions", func(d *control.Document) map[string]control.Region { return d.Regions })
}

func (n *running) adminPutRegion(ctx *fasthttp.RequestCtx, p params) {
	var r control.Region
	if !decodeBody(ctx, &r) {
		return
	}
	if !samePathID(ctx, &r.Name, p["name"], "name") {
		return
	}
	n.write(ctx, control.CmdPutRegion, r, func(d *control.Document) any { return d.Regions[r.Name] })
}

func (n *running) adminDeleteRegion(ctx *fasthttp.RequestCtx, p params) {
	n.write(ctx, control.CmdDeleteRegion, control.RegionRef{Name: p["name"]}, nil)
}

func (n *running) adminListCDNs(ctx *fasthttp.RequestCtx, _ params) {
	listDoc(n, ctx, "cdns", func(d *control.Document) map[string]control.CDN { return d.CDNs })
}

func (n *running) adminPutCDN(ctx *fasthttp.RequestCtx, p params) {
	var c control.CDN
	if !decodeBody(ctx, &c) {
		return
	}
	if !samePathID(ctx, &c.ID, p["id"], "id") {
		return
	}
	n.write(ctx, control.CmdPutCDN, c, func(d *control.Document) any { return d.CDNs[c.ID] })
}

func (n *running) adminDeleteCDN(ctx *fasthttp.RequestCtx, p params) {
	n.write(ctx, control.CmdDeleteCDN, control.CDNRef{ID: p["id"]}, nil)
}

func (n *running) adminCDNWeight(ctx *fasthttp.RequestCtx, p params) {
	var a control.CDNWeightArgs
	if !decodeBody(ctx, &a) {
		return
	}
	a.ID = p["id"]
	n.write(ctx, control.CmdSetCDNWeight, a, func(d *control.Document) any { return d.CDNs[a.ID] })
}

func (n *running) adminCDNState(ctx *fasthttp.RequestCtx, p params) {
	var a control.CDNStateArgs
	if !decodeBody(ctx, &a) {
		return
	}
	a.ID = p["id"]
	n.write(ctx, control.CmdSetCDNState, a, func(d *control.Document) any { return d.CDNs[a.ID] })
}

// adminRotateKey makes a fresh random playback-token key current; the
// old one stays valid as previous. Key material is never returned.
func (n *running) adminRotateKey(ctx *fasthttp.RequestCtx, _ params) {
	secret := make([]byte, 32)
	rand.Read(secret)
	key := control.SigningKey{ID: "k" + strconv.FormatInt(time.Now().UnixMilli(), 36), Secret: secret}
	n.write(ctx, control.CmdRotateSigningKey, key, func(d *control.Document) any { return redact(d)["signing_keys"] })
}

// adminDrainPersisted drains or undrains a node in the Raft document (it
// survives restarts); without a control plane, through gossip alone.
func (n *running) adminDrainPersisted(ctx *fasthttp.RequestCtx, id string, drain bool) {
	if n.cfgSrc == nil {
		n.adminDrainGossip(ctx, id, drain)
		return
	}
	known := false
	for _, m := range n.members() {
		known = known || m.ID == id
	}
	if d := n.doc(); !known && d != nil {
		_, known = d.Nodes[id]
	}
	if !known {
		problem(ctx, fasthttp.StatusNotFound, "no member with id "+id)
		return
	}
	n.write(ctx, control.CmdSetNodeDrain, control.NodeDrainArgs{NodeID: id, Drain: drain},
		func(d *control.Document) any { return map[string]any{"id": id, "drain": d.Nodes[id].Drain} })
}

// samePathID fills an empty body id from the path, and answers 422 when
// the body names another one.
func samePathID(ctx *fasthttp.RequestCtx, id *string, path, field string) bool {
	if *id == "" {
		*id = path
	}
	if *id != path {
		fieldProblem(ctx, fasthttp.StatusUnprocessableEntity, "the body's "+field+" differs from the path", field, "must be "+path)
		return false
	}
	return true
}

// decodeBody reads a strict JSON body (unknown fields are an error).
func decodeBody(ctx *fasthttp.RequestCtx, v any) bool {
	if err := strictJSON(ctx.PostBody(), v); err != nil {
		problem(ctx, fasthttp.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// write applies one command with the request's If-Match and
// Idempotency-Key, here when this node leads, otherwise on the leader.
func (n *running) write(ctx *fasthttp.RequestCtx, typ string, payload any, show func(*control.Document) any) {
	if n.cfgSrc == nil {
		problem(ctx, fasthttp.StatusServiceUnavailable, "no control plane on this node: set control.data_dir")
		return
	}
	if n.store == nil {
		n.forwardToControl(ctx)
		return
	}
	cmd, err := control.NewCommand(typ, payload)
	if err != nil {
		problem(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if m := strings.Trim(string(ctx.Request.Header.Peek("If-Match")), `"W/ `); m != "" && m != "*" {
		v, err := strconv.ParseUint(m, 10, 64)
		if err != nil || v == 0 {
			problem(ctx, fasthttp.StatusBadRequest, "If-Match must be a config version such as \"42\"")
			return
		}
		cmd.Expect = v
	}
	cmd.IdempotencyKey = string(ctx.Request.Header.Peek(hdrIdempotency))
	cmd.Actor = "admin@" + n.cfg.Node.ID
	if n.store.Current().Version == 0 && len(n.cfg.Events) > 0 && n.store.IsLeader() {
		n.seed(n.store) // the static events come first, even before an early operator write
	}
	res, err := n.store.Apply(ctx, cmd)
	var nl *control.NotLeaderError
	if errors.As(err, &nl) {
		n.forwardTo(ctx, nl.LeaderID)
		return
	}
	if err != nil {
		commandProblem(ctx, err)
		return
	}
	setETag(ctx, res.Version)
	out := map[string]any{"version": res.Version, "duplicate": res.Duplicate}
	if show != nil && res.Doc != nil {
		out["result"] = show(res.Doc)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// commandProblem maps control errors to statuses.
func commandProblem(ctx *fasthttp.RequestCtx, err error) {
	var ve *control.ValidationError
	switch {
	case errors.As(err, &ve):
		fields := make([]fieldError, 0, len(ve.Errs))
		for _, f := range ve.Errs {
			fields = append(fields, fieldError{Field: f.Field, Message: f.Message})
		}
		fieldsProblem(ctx, fasthttp.StatusUnprocessableEntity, err.Error(), fields)
	case errors.Is(err, control.ErrConflict):
		problem(ctx, fasthttp.StatusPreconditionFailed, err.Error())
	case errors.Is(err, control.ErrNotFound):
		problem(ctx, fasthttp.StatusNotFound, err.Error())
	case errors.Is(err, control.ErrIllegalTransition):
		problem(ctx, fasthttp.StatusConflict, err.Error())
	case errors.Is(err, control.ErrIdempotencyMismatch), errors.Is(err, control.ErrInvalid):
		problem(ctx, fasthttp.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, control.ErrNotLeader), errors.Is(err, context.DeadlineExceeded):
		ctx.Response.Header.Set("Retry-After", "1")
		problem(ctx, fasthttp.StatusServiceUnavailable, err.Error())
	default:
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
	}
}

// forwardToControl sends the request to a control node (which forwards to
// its leader if it is not the leader).
func (n *running) forwardToControl(ctx *fasthttp.RequestCtx) {
	voters := n.controlMembers()
	if len(voters) == 0 {
		ctx.Response.Header.Set("Retry-After", "1")
		problem(ctx, fasthttp.StatusServiceUnavailable, "no control node reachable in the mesh")
		return
	}
	n.forwardTo(ctx, voters[mrand.IntN(len(voters))].ID)
}

// forwardTo relays the admin request to node id and its answer back.
func (n *running) forwardTo(ctx *fasthttp.RequestCtx, id string) {
	hops, _ := strconv.Atoi(string(ctx.Request.Header.Peek(hdrForwarded)))
	addr := n.table().Addr(id)
	if id == "" || addr == "" || hops >= maxForwards {
		ctx.Response.Header.Set("Retry-After", "1")
		problem(ctx, fasthttp.StatusServiceUnavailable, fmt.Sprintf("no reachable control leader (leader %q, %d forwards)", id, hops))
		return
	}
	rctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, string(ctx.Method()), "http://"+addr+string(ctx.RequestURI()), bytes.NewReader(ctx.PostBody()))
	for _, h := range []string{"Authorization", "Content-Type", "If-Match", hdrIdempotency} {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			req.Header.Set(h, string(v))
		}
	}
	req.Header.Set(hdrForwarded, strconv.Itoa(hops+1))
	resp, err := n.cluster.Do(req)
	if err != nil {
		ctx.Response.Header.Set("Retry-After", "1")
		problem(ctx, fasthttp.StatusServiceUnavailable, fmt.Sprintf("forwarding to %s: %v", id, err))
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	ctx.SetStatusCode(resp.StatusCode)
	for _, h := range []string{"Content-Type", "ETag", "Retry-After", "Cache-Control"} {
		if v := resp.Header.Get(h); v != "" {
			ctx.Response.Header.Set(h, v)
		}
	}
	ctx.Response.Header.Set("X-Ringside-Served-By", id)
	ctx.SetBody(body)
}
