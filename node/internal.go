package node

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/route"
	"github.com/ringside-live/ringside/shield"
)

func (n *running) serveInternal(ctx *fasthttp.RequestCtx, p []byte) {
	if !n.peerRequest(ctx) {
		problem(ctx, fasthttp.StatusUnauthorized, "missing or wrong cluster token")
		ctx.SetConnectionClose()
		return
	}
	switch path := string(p); {
	case strings.HasPrefix(path, route.FillPrefix) && ctx.IsPut():
		n.internalFill(ctx, path[len(route.FillPrefix):])
	case path == "/internal/v1/purge" && ctx.IsPost():
		var req admin.PurgeRequest
		if err := strictJSON(ctx.PostBody(), &req); err != nil || req.Event != "" || (req.Key == "") == (req.Prefix == "") {
			problem(ctx, fasthttp.StatusBadRequest, "want {\"key\"} or {\"prefix\"}")
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, map[string]int{"purged": n.shield.Purge(req.Key + req.Prefix)})
	case path == "/internal/v1/config" && ctx.IsGet():
		n.internalConfig(ctx)
	case path == meshKeysPath && ctx.IsPost():
		n.internalMeshKeys(ctx)
	case path == "/internal/v1/steering/report" && ctx.IsPost():
		n.internalSteeringReport(ctx)
	case path == "/internal/v1/drain" && ctx.IsPost():
		var req struct {
			Drain bool `json:"drain"`
		}
		if err := strictJSON(ctx.PostBody(), &req); err != nil {
			problem(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		dctx, cancel := n.requestContext(budgetControl)
		defer cancel()
		if err := n.setDrain(dctx, req.Drain); err != nil {
			problem(ctx, fasthttp.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"id": n.cfg.Node.ID, "drain": req.Drain})
	default:
		problem(ctx, fasthttp.StatusNotFound, "no such internal route")
	}
}

// internalConfig answers a follower's long poll: the document once it is
// newer than ?after=, or 304 after configPollWait.
func (n *running) internalConfig(ctx *fasthttp.RequestCtx) {
	if n.store == nil {
		problem(ctx, fasthttp.StatusServiceUnavailable, "this node is not a control voter")
		return
	}
	after, err := strconv.ParseUint(string(ctx.QueryArgs().Peek("after")), 10, 64)
	if err != nil && len(ctx.QueryArgs().Peek("after")) > 0 {
		problem(ctx, fasthttp.StatusBadRequest, "after must be a version number")
		return
	}
	wctx, cancel := n.requestContext(configPollWait)
	defer cancel()
	if leader, _ := n.store.Leader(); leader != "" {
		ctx.Response.Header.Set(hdrLeader, leader)
	}
	doc, err := n.store.WaitVersion(wctx, after)
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	body, err := control.EncodeDocument(doc)
	if err != nil {
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// internalSteeringReport takes passive CDN health signals (from edges,
// probes elsewhere or player-side monitoring): {"cdn":"id","ok":false}. They
// go through the same hysteresis as the active probes.
func (n *running) internalSteeringReport(ctx *fasthttp.RequestCtx) {
	if n.steer == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node does not have the steer role")
		return
	}
	var r struct {
		CDN string `json:"cdn"`
		OK  bool   `json:"ok"`
	}
	if err := strictJSON(ctx.PostBody(), &r); err != nil || r.CDN == "" {
		problem(ctx, fasthttp.StatusBadRequest, "want {\"cdn\": id, \"ok\": bool}")
		return
	}
	n.steer.prober.Passive(r.CDN, r.OK)
	up := n.steer.health.Up(r.CDN)
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"cdn": r.CDN, "up": up})
}

// internalFill stores a segment pushed by an ingest node.
func (n *running) internalFill(ctx *fasthttp.RequestCtx, rest string) {
	event, file, ok := strings.Cut(rest, "/")
	kind, ct, err := segment.CheckPath(file)
	if !ok || err != nil || n.event(event) == nil {
		problem(ctx, fasthttp.StatusBadRequest, "bad fill path "+rest)
		return
	}
	limit := n.cfg.Cache.MaxObjectBytes
	body := &idleReader{ctx: ctx, r: ctx.RequestBodyStream(), idle: time.Duration(n.cfg.HTTP.IngestIdleTimeout)}
	var buf bytes.Buffer
	if cl := ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) <= int64(limit) {
		buf.Grow(cl)
	}
	if _, err := io.Copy(&buf, io.LimitReader(body, int64(limit)+1)); err != nil || int64(buf.Len()) > int64(limit) {
		problem(ctx, fasthttp.StatusBadRequest, "fill body unreadable or too large")
		ctx.SetConnectionClose()
		return
	}
	obj := object.NewComplete(object.Meta{Status: fasthttp.StatusOK, Kind: kind, ContentType: ct,
		CacheControl: object.CacheControl(kind, 0), Source: "fill"}, buf.Bytes())
	n.shield.Store(shield.Request{Key: "/live/" + rest, Event: event, Path: file, Kind: kind}, obj)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
