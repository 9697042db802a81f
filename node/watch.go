package node

import (
	"embed"
	"html"
	"strings"

	"github.com/valyala/fasthttp"
)

// watchFiles are the player page of /watch/{event}: the page, its script
// and the hls.js build pinned in test/browser/package-lock.json, vendored
// (watchui/hls.min.js; watchui/VERSION names it) so a steer node serves a
// player that loads nothing from elsewhere.
//
//go:embed watchui
var watchFiles embed.FS

// watchAssets are the files under /watch/_/ and their content types.
var watchAssets = map[string]string{
	"watch.js":   "text/javascript; charset=utf-8",
	"watch.css":  "text/css; charset=utf-8",
	"hls.min.js": "text/javascript; charset=utf-8",
}

// serveWatch answers /watch/{event} (the page, on steer nodes) and
// /watch/_/{asset}. The page plays /s/live/{event}/master.m3u8 with hls.js,
// content steering and CMCD on, and shows latency, bitrate and pathway;
// on a CDN pathway it sends its CMCD to /t/{event} once a second.
func (n *running) serveWatch(ctx *fasthttp.RequestCtx, p []byte) {
	if n.steer == nil {
		problem(ctx, fasthttp.StatusNotFound, "the player page is on steer nodes")
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		problem(ctx, fasthttp.StatusMethodNotAllowed, "only GET and HEAD")
		return
	}
	rest := string(p[len(prefixWatch):])
	h := &ctx.Response.Header
	h.Set("X-Content-Type-Options", "nosniff")
	if name, ok := strings.CutPrefix(rest, "_/"); ok {
		ct, known := watchAssets[name]
		b, err := watchFiles.ReadFile("watchui/" + name)
		if !known || err != nil {
			problem(ctx, fasthttp.StatusNotFound, "no such asset: "+name)
			return
		}
		h.SetContentType(ct)
		h.Set("Cache-Control", "public, max-age=3600")
		ctx.SetBody(b)
		return
	}
	ev := n.event(rest)
	if ev == nil {
		problem(ctx, fasthttp.StatusNotFound, "no such event: "+rest)
		return
	}
	page, _ := watchFiles.ReadFile("watchui/index.html")
	title := ev.Title
	if title == "" {
		title = ev.ID
	}
	out := strings.NewReplacer("{{EVENT}}", html.EscapeString(ev.ID), "{{TITLE}}", html.EscapeString(title)).Replace(string(page))
	h.SetContentType("text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'self'; media-src 'self' blob: http: https:; connect-src 'self' http: https:; "+
		"worker-src 'self' blob:; script-src 'self'; style-src 'self'; img-src 'self' data:")
	ctx.SetBodyString(out)
}
