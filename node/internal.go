package node

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/route"
	"github.com/ringside-live/ringside/shield"
)

// The mesh listener (mesh.listen) takes only other nodes: mutual TLS 1.3,
// a client certificate of the cluster CA required. What a caller may do
// depends on the roles its certificate grants, per route.

// advertised is the address other nodes reach the mesh listener at: the
// bound address, with the host of mesh.advertise (or mesh.bind) when it is
// bound to every interface.
func advertised(bound, advertise, bind string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return bound
	}
	for _, a := range []string{advertise, bind} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
				return net.JoinHostPort(h, port)
			}
		}
	}
	return bound
}

// newMeshServer serves the mesh listener: peer fetches of /live/, the
// internal API and forwarded admin calls.
func (n *running) newMeshServer() *fasthttp.Server {
	srv := n.newServer(nil, "")
	forwarded := n.forwardedAdminHandler()
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		cs := ctx.TLSConnectionState()
		if cs == nil {
			problem(ctx, fasthttp.StatusForbidden, "the mesh listener takes mutual TLS only")
			return
		}
		caller, err := identity.FromConnState(*cs)
		if err != nil {
			problem(ctx, fasthttp.StatusForbidden, err.Error())
			return
		}
		if badRawPath(ctx.Request.URI().PathOriginal()) {
			problem(ctx, fasthttp.StatusBadRequest, "path not allowed: no '..', '//', '%' or '\\' in request paths")
			return
		}
		switch p := ctx.Path(); {
		case bytes.HasPrefix(p, prefixLive):
			n.live(ctx, p, true)
		case bytes.HasPrefix(p, prefixInternal):
			n.serveInternal(ctx, string(p), caller)
		case bytes.HasPrefix(p, prefixAdmin):
			forwarded(ctx, caller)
		case bytes.Equal(p, pathHealthz):
			n.serveHealthz(ctx, p)
		default:
			problem(ctx, fasthttp.StatusNotFound, "no such node-to-node route: "+string(p))
		}
	}
	return srv
}

// forwardedAdminHandler serves admin calls another node forwards (to the
// control leader): the forwarding node's certificate says who relayed it,
// the API checks the operator's proof.
func (n *running) forwardedAdminHandler() func(*fasthttp.RequestCtx, identity.Peer) {
	return func(ctx *fasthttp.RequestCtx, caller identity.Peer) {
		h := fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rctx, cancel := n.requestContext(budgetAdmin)
			defer cancel()
			n.admin.ServeForwarded(w, r.WithContext(rctx), caller.ID)
		}))
		h(ctx)
	}
}

// internalRoute is one route of the internal API and the certificate roles
// allowed to call it (nil: any node of the cluster).
type internalRoute struct {
	method, path string
	prefix       bool
	roles        []string
	handle       func(ctx *fasthttp.RequestCtx, rest string, caller identity.Peer)
}

func (n *running) internalRoutes() []internalRoute {
	control := []string{identity.RoleControl}
	return []internalRoute{
		// Cache fills come from the nodes content flows down from.
		{method: http.MethodPut, path: route.FillPrefix, prefix: true, roles: []string{identity.RoleIngest, identity.RoleShield},
			handle: func(ctx *fasthttp.RequestCtx, rest string, _ identity.Peer) { n.internalFill(ctx, rest) }},
		{method: http.MethodGet, path: "/internal/v1/config", handle: n.internalConfig},
		// Acting on other nodes is the control plane's.
		{method: http.MethodPost, path: "/internal/v1/purge", roles: control, handle: n.internalPurge},
		{method: http.MethodPost, path: "/internal/v1/drain", roles: control, handle: n.internalDrain},
		{method: http.MethodPost, path: meshKeysPath, roles: control,
			handle: func(ctx *fasthttp.RequestCtx, _ string, _ identity.Peer) { n.internalMeshKeys(ctx) }},
		// The output timeline of redundant events: its publishers.
		{method: http.MethodPost, path: "/internal/v1/timeline/", prefix: true, roles: []string{identity.RoleIngest},
			handle: func(ctx *fasthttp.RequestCtx, rest string, _ identity.Peer) {
				n.internalTimeline(ctx, "/internal/v1/timeline/"+rest)
			}},
		// The DVR mirror: segments an ingest node's DVR keeps.
		{method: http.MethodPut, path: pathDVRMirror, prefix: true, roles: []string{identity.RoleIngest},
			handle: n.internalDVRMirror},
		// Mirrored DVR playlists (a clip), for the node a player asked.
		{method: http.MethodGet, path: pathDVRMirror, prefix: true, handle: n.internalDVRRead},
		// Clip pins, relayed by the ingest nodes to the mirrors.
		{method: http.MethodPost, path: pathDVRPins, prefix: true, roles: []string{identity.RoleIngest},
			handle: n.internalDVRPin},
		// Clips: an operator's, relayed by whichever node the call reached.
		{method: http.MethodGet, path: pathClips, prefix: true, handle: n.internalClips},
		{method: http.MethodPost, path: pathClips, prefix: true, roles: []string{identity.RoleControl, identity.RoleEdge,
			identity.RoleShield, identity.RoleIngest, identity.RoleSteer}, handle: n.internalClips},
		{method: http.MethodGet, path: pathFeeds, prefix: true,
			handle: func(ctx *fasthttp.RequestCtx, rest string, _ identity.Peer) { n.internalFeeds(ctx, rest) }},
		// Viewers' telemetry deltas, from any node (the merger takes the
		// certificate's id).
		{method: http.MethodPost, path: telemetryDeltaPath, handle: n.internalTelemetry},
		{method: http.MethodPost, path: "/internal/v1/steering/report",
			handle: func(ctx *fasthttp.RequestCtx, _ string, _ identity.Peer) { n.internalSteeringReport(ctx) }},
	}
}

// serveInternal routes the internal API, checking the caller's roles.
func (n *running) serveInternal(ctx *fasthttp.RequestCtx, path string, caller identity.Peer) {
	var allowed []string
	for _, rt := range n.internalRoutes() {
		rest, ok := strings.CutPrefix(path, rt.path)
		if !ok || (!rt.prefix && rest != "") {
			continue
		}
		if string(ctx.Method()) != rt.method {
			allowed = append(allowed, rt.method) // another route of the path may take it
			continue
		}
		if rt.roles != nil && !slices.ContainsFunc(rt.roles, caller.HasRole) {
			n.log.Warn("node-to-node call refused", "caller", caller.String(), "path", path)
			problem(ctx, fasthttp.StatusForbidden, rt.path+" needs a certificate with role "+strings.Join(rt.roles, " or ")+
				"; "+caller.String()+" has none")
			return
		}
		rt.handle(ctx, rest, caller)
		return
	}
	if len(allowed) > 0 {
		ctx.Response.Header.Set("Allow", strings.Join(allowed, ", "))
		problem(ctx, fasthttp.StatusMethodNotAllowed, strings.Join(allowed, " or ")+" only on "+path)
		return
	}
	problem(ctx, fasthttp.StatusNotFound, "no such internal route: "+path)
}

func (n *running) internalPurge(ctx *fasthttp.RequestCtx, _ string, _ identity.Peer) {
	var req admin.PurgeRequest
	if err := strictJSON(ctx.PostBody(), &req); err != nil || req.Event != "" || (req.Key == "") == (req.Prefix == "") {
		problem(ctx, fasthttp.StatusBadRequest, "want {\"key\"} or {\"prefix\"}")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]int{"purged": n.shield.Purge(req.Key + req.Prefix)})
}

func (n *running) internalDrain(ctx *fasthttp.RequestCtx, _ string, _ identity.Peer) {
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
}

// internalConfig answers a follower's long poll: the document once it is
// newer than ?after=, or 304 after configPollWait. Stream keys go only to
// ingest (and control) certificates: no other node needs them.
func (n *running) internalConfig(ctx *fasthttp.RequestCtx, _ string, caller identity.Peer) {
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
	if !caller.HasRole(identity.RoleIngest) && !caller.HasRole(identity.RoleControl) {
		doc = doc.WithoutStreamKeys()
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
	meta := object.Meta{Status: fasthttp.StatusOK, Kind: kind, ContentType: ct,
		CacheControl: object.CacheControl(kind, 0), Source: "fill"}
	key := "/live/" + rest
	if kind == segment.KindPlaylist {
		// An LL-HLS playlist update pushed for one blocking key
		// (_HLS_msn/_HLS_part/_HLS_skip in the query); nothing else.
		d, present, err := segment.ParseDirectives(string(ctx.URI().QueryString()))
		if ev := n.event(event); err != nil || !present || !ev.LowLatency {
			problem(ctx, fasthttp.StatusBadRequest, "a pushed playlist needs the LL-HLS directives of its key")
			return
		}
		key = string(d.AppendKey(nil, key))
		meta.Gzip = object.Compress(buf.Bytes())
	}
	obj := object.NewComplete(meta, buf.Bytes())
	n.shield.Store(shield.Request{Key: key, Event: event, Path: file, Kind: kind}, obj)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
