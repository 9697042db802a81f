package node

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Route prefixes of the node's listeners.
var (
	prefixLive     = []byte("/live/")
	prefixIngest   = []byte("/ingest/")
	prefixInternal = []byte("/internal/v1/")
	prefixAdmin    = []byte("/admin/v1/")
	prefixPprof    = []byte("/debug/pprof/")
	prefixPlay     = []byte("/play/")
	prefixRedirect = []byte("/r/live/")
	prefixSteering = []byte("/steer/")  // content-steering manifests
	prefixSteered  = []byte("/s/live/") // steered master playlists and MPDs
	pathMetrics    = []byte("/metrics")
	pathHealthz    = []byte("/healthz")
)

// httpRoute is one entry of a listener's route table: a path prefix (or
// an exact path) and its handler, which gets the path.
type httpRoute struct {
	prefix []byte
	exact  bool
	player bool // player-facing: CORS headers and OPTIONS preflights
	handle func(ctx *fasthttp.RequestCtx, p []byte)
}

// routes is the route table of one listener. public: the players', the
// encoders' and the other nodes' routes; operator: the admin API and
// profiles. A node without admin.listen serves both on one listener.
func (n *running) routes(public, operator bool) []httpRoute {
	var t []httpRoute
	add := func(prefix []byte, exact bool, h func(*fasthttp.RequestCtx, []byte)) {
		t = append(t, httpRoute{prefix: prefix, exact: exact, handle: h})
	}
	player := func(prefix []byte, h func(*fasthttp.RequestCtx, []byte)) {
		t = append(t, httpRoute{prefix: prefix, player: true, handle: h})
	}
	if public {
		player(prefixLive, n.serveLive) // the hot path first
		add(prefixIngest, false, n.serveIngest)
		add(prefixInternal, false, func(ctx *fasthttp.RequestCtx, _ []byte) {
			problem(ctx, fasthttp.StatusNotFound, "node-to-node routes are on the mesh listener (mesh.listen, mutual TLS)")
		})
		for _, p := range [][]byte{prefixPlay, prefixRedirect, prefixSteering, prefixSteered} {
			player(p, n.serveSteerRoute)
		}
	}
	if operator {
		admin, profiles := n.adminHandler(), n.profilesHandler()
		// Sharing the public listeners, the admin API answers in clear
		// text only on loopback (or when admin.insecure says so).
		clear := public && !loopback(n.cfg.HTTP.Listen) && !n.cfg.Admin.Insecure
		guard := func(h fasthttp.RequestHandler) func(*fasthttp.RequestCtx, []byte) {
			return func(ctx *fasthttp.RequestCtx, _ []byte) {
				if clear && !ctx.IsTLS() {
					problem(ctx, fasthttp.StatusForbidden, "the admin API is not served over plain HTTP on a "+
						"non-loopback address: use https (http.tls_listen), admin.listen with admin.tls, or set admin.insecure")
					return
				}
				h(ctx)
			}
		}
		add(prefixAdmin, false, guard(admin))
		add(prefixPprof, false, guard(profiles))
	} else {
		notHere := func(ctx *fasthttp.RequestCtx, _ []byte) {
			problem(ctx, fasthttp.StatusNotFound, "the admin API listens on admin.listen, not here")
		}
		add(prefixAdmin, false, notHere)
		add(prefixPprof, false, notHere)
	}
	// Metrics are on the admin listener when there is one. Sharing the
	// public listener, the operators' metrics (Raft positions) are only
	// for the admin tokens' holders.
	metrics := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))
	all := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(prometheus.Gatherers{n.reg, n.opsReg}, promhttp.HandlerOpts{}))
	add(pathMetrics, true, func(ctx *fasthttp.RequestCtx, _ []byte) {
		if public && !operator {
			problem(ctx, fasthttp.StatusNotFound, "metrics are on the admin listener (admin.listen)")
			return
		}
		if (operator && !public) || n.operatorToken(ctx) {
			all(ctx)
			return
		}
		metrics(ctx)
	})
	add(pathHealthz, true, n.serveHealthz)
	return append(t, n.telemetryRoutes(public, operator)...) // telemetry_http.go
}

// newServers builds the HTTP server, and the admin one with admin.listen.
func (n *running) newServers() {
	if n.lis.mesh != nil {
		n.meshSrv = n.newMeshServer()
	}
	if n.lis.admin == nil {
		n.srv = n.newServer(n.routes(true, true), "")
		return
	}
	n.srv = n.newServer(n.routes(true, false), "")
	n.adminSrv = n.newServer(n.routes(false, true), "only /admin/v1/, /debug/pprof/, /metrics and /healthz here")
}

// recoverRequest turns a panic in one request's handler into a 500 and a
// logged stack: a bug hit by one request must not take the node (and
// every other player on it) down.
func (n *running) recoverRequest(ctx *fasthttp.RequestCtx) {
	if r := recover(); r != nil {
		n.log.Error("request handler panicked", "path", string(ctx.Path()), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		ctx.ResetBody()
		problem(ctx, fasthttp.StatusInternalServerError, "internal error")
		n.m.panics.Inc()
	}
}

func (n *running) newServer(table []httpRoute, notFound string) *fasthttp.Server {
	cors := newCORS(n.cfg.HTTP.CORSOrigins)
	return &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			defer n.recoverRequest(ctx)
			if badRawPath(ctx.Request.URI().PathOriginal()) {
				problem(ctx, fasthttp.StatusBadRequest, "path not allowed: no '..', '//', '%' or '\\' in request paths")
				return
			}
			p := ctx.Path()
			for i := range table {
				r := &table[i]
				if (r.exact && bytes.Equal(p, r.prefix)) || (!r.exact && bytes.HasPrefix(p, r.prefix)) {
					if r.player && cors.apply(ctx) {
						return // a preflight, answered
					}
					r.handle(ctx, p)
					return
				}
			}
			if notFound == "" {
				notFound = "no such route"
			}
			problem(ctx, fasthttp.StatusNotFound, notFound+": "+string(p))
		},
		Name: "ringside",
		// Headers must arrive within ReadTimeout; upload bodies are then
		// governed by the ingest idle timeout, set per read.
		ReadTimeout:                  time.Duration(n.cfg.HTTP.ReadHeaderTimeout),
		IdleTimeout:                  time.Duration(n.cfg.HTTP.IdleTimeout),
		StreamRequestBody:            true,
		MaxRequestBodySize:           int(n.cfg.Ingest.MaxBodyBytes) + 1,
		Concurrency:                  n.cfg.HTTP.MaxConns,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{n.log},
	}
}

// operatorToken reports whether the request carries the admin or the
// read-only token.
func (n *running) operatorToken(ctx *fasthttp.RequestCtx) bool {
	tok := bearer(ctx.Request.Header.Peek("Authorization"))
	return tok != "" && (secretEqual(tok, n.cfg.Admin.Token) || secretEqual(tok, n.cfg.Admin.ReadOnlyToken))
}

// profilesHandler serves /debug/pprof/ to the admin token's holder.
func (n *running) profilesHandler() fasthttp.RequestHandler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	profiles := fasthttpadaptor.NewFastHTTPHandler(mux)
	return func(ctx *fasthttp.RequestCtx) {
		if !secretEqual(bearer(ctx.Request.Header.Peek("Authorization")), n.cfg.Admin.Token) {
			problem(ctx, fasthttp.StatusUnauthorized, "profiles need the admin token")
			return
		}
		profiles(ctx)
	}
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "msg", format, "args", args)
}

func (n *running) serveHealthz(ctx *fasthttp.RequestCtx, _ []byte) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ok","node":"` + n.cfg.Node.ID + `"}`)
}

// b2s views b as a string without copying. The string must not outlive the
// request unless copied (shield and ingest copy what they keep).
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// s2b views s as bytes without copying; the bytes must not be modified.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// badRawPath refuses paths that only normalisation would make safe: file
// names in Ringside never need escaping, dot-dot or empty elements.
func badRawPath(raw []byte) bool {
	if q := bytes.IndexByte(raw, '?'); q >= 0 {
		raw = raw[:q]
	}
	return bytes.Contains(raw, dotdot) || bytes.Contains(raw, slashslash) ||
		bytes.IndexByte(raw, '%') >= 0 || bytes.IndexByte(raw, '\\') >= 0
}

var (
	dotdot     = []byte("..")
	slashslash = []byte("//")
)

// splitEventPath splits "{event}/{path...}" after a route prefix.
func splitEventPath(rest []byte) (event, file []byte, ok bool) {
	i := bytes.IndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return nil, nil, false
	}
	return rest[:i], rest[i+1:], true
}
