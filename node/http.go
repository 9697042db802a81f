package node

import (
	"bytes"
	"net/http"
	"net/http/pprof"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

var (
	prefixLive   = []byte("/live/")
	prefixIngest = []byte("/ingest/")
	pathMetrics  = []byte("/metrics")
	pathHealthz  = []byte("/healthz")
	prefixPprof  = []byte("/debug/pprof/")
)

// Listener modes: everything on one listener, or the public routes and the
// operator routes (admin API, profiles) on separate ones.
const (
	serveAll = iota
	servePublic
	serveAdmin
)

func (n *Node) newServer(mode int) *fasthttp.Server {
	metrics := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))
	pprofMux := http.NewServeMux()
	pprofMux.HandleFunc("/debug/pprof/", pprof.Index)
	pprofMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	pprofMux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	pprofMux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	pprofMux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	profiles := fasthttpadaptor.NewFastHTTPHandler(pprofMux)
	return &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			p := ctx.Path()
			if badRawPath(ctx.Request.URI().PathOriginal()) {
				problem(ctx, fasthttp.StatusBadRequest, "path not allowed: no '..', '//', '%' or '\\' in request paths")
				return
			}
			operator := bytes.HasPrefix(p, prefixAdmin) || bytes.HasPrefix(p, prefixPprof)
			switch {
			case mode == servePublic && operator:
				problem(ctx, fasthttp.StatusNotFound, "the admin API listens on admin.listen, not here")
			case mode == serveAdmin && !operator && !bytes.Equal(p, pathMetrics) && !bytes.Equal(p, pathHealthz):
				problem(ctx, fasthttp.StatusNotFound, "only /admin/v1/, /debug/pprof/, /metrics and /healthz here")
			case bytes.HasPrefix(p, prefixLive):
				n.serveLive(ctx, p)
			case bytes.HasPrefix(p, prefixPlay), bytes.HasPrefix(p, prefixRedir), bytes.HasPrefix(p, prefixSteer),
				bytes.HasPrefix(p, prefixSteerd):
				n.serveSteer(ctx, p)
			case bytes.HasPrefix(p, prefixIngest):
				n.serveIngest(ctx, p)
			case bytes.HasPrefix(p, prefixAdmin):
				n.serveAdmin(ctx, p)
			case bytes.HasPrefix(p, prefixInternal):
				n.serveInternal(ctx, p)
			case bytes.HasPrefix(p, prefixPprof):
				if !tokenOK(bearer(ctx.Request.Header.Peek("Authorization")), n.cfg.Admin.Token) {
					problem(ctx, fasthttp.StatusUnauthorized, "profiles need the admin token")
					return
				}
				profiles(ctx)
			case bytes.Equal(p, pathMetrics):
				metrics(ctx)
			case bytes.Equal(p, pathHealthz):
				n.serveHealthz(ctx)
			default:
				problem(ctx, fasthttp.StatusNotFound, "no such route: "+string(p))
			}
		},
		Name: "ringside",
		// Headers must arrive within ReadTimeout; upload bodies are then
		// governed by the ingest idle timeout, set per read.
		ReadTimeout:                   time.Duration(n.cfg.HTTP.ReadHeaderTimeout),
		IdleTimeout:                   time.Duration(n.cfg.HTTP.IdleTimeout),
		StreamRequestBody:             true,
		MaxRequestBodySize:            int(n.cfg.Ingest.MaxBodyBytes) + 1,
		Concurrency:                   n.cfg.HTTP.MaxConns,
		NoDefaultDate:                 false,
		DisablePreParseMultipartForm:  true,
		CloseOnShutdown:               true,
		DisableHeaderNamesNormalizing: false,
		Logger:                        fasthttpLogger{n},
	}
}

type fasthttpLogger struct{ n *Node }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.n.log.Debug("fasthttp", "msg", format, "args", args)
}

func (n *Node) serveHealthz(ctx *fasthttp.RequestCtx) {
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
