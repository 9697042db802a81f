package node

import (
	"bytes"
	"slices"

	"github.com/valyala/fasthttp"
)

// CORS for web players: every player-facing response (media, steering,
// the playback API, redirects, and every error among them) says which
// origins may read it, so a player on the publisher's own site sees the
// real status of an error, not status 0; OPTIONS preflights (hls.js sends
// CMCD as headers) are answered. No credentials are ever used, so "*" is
// the default.
var (
	hdrAllowOrigin   = []byte("Access-Control-Allow-Origin")
	hdrExposeHeaders = []byte("Access-Control-Expose-Headers")
	hdrAllowMethods  = []byte("Access-Control-Allow-Methods")
	hdrAllowHeaders  = []byte("Access-Control-Allow-Headers")
	hdrMaxAge        = []byte("Access-Control-Max-Age")
	hdrOrigin        = []byte("Origin")
	hdrRequestHeads  = []byte("Access-Control-Request-Headers")
	valStar          = []byte("*")
	// What players read: lengths and ranges (segment loaders, byte-range
	// playlists), the cache outcome and age (QoE tools), retry hints.
	valExposed = []byte("Content-Length, Content-Range, Content-Type, Date, Age, ETag, Retry-After, X-Cache")
	valMethods = []byte("GET, HEAD, OPTIONS")
	// Headers a player may send: ranges, CMCD as headers (CTA-5004).
	valAllowed = []byte("Range, CMCD-Request, CMCD-Object, CMCD-Status, CMCD-Session, Content-Type")
	valMaxAge  = []byte("86400")
)

// cors is the configured policy: any origin ("*"), or a list.
type cors struct {
	any     bool
	origins [][]byte
}

func newCORS(origins []string) cors {
	c := cors{any: len(origins) == 0 || slices.Contains(origins, "*")}
	for _, o := range origins {
		c.origins = append(c.origins, []byte(o))
	}
	return c
}

// apply sets the CORS headers of a player-facing response; on an OPTIONS
// preflight it answers and reports true.
func (c cors) apply(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Response.Header
	if c.any {
		h.SetCanonical(hdrAllowOrigin, valStar)
	} else {
		origin := ctx.Request.Header.PeekBytes(hdrOrigin)
		h.Add("Vary", "Origin")
		if !c.allowed(origin) {
			return c.preflight(ctx, false)
		}
		h.SetCanonical(hdrAllowOrigin, origin)
	}
	h.SetCanonical(hdrExposeHeaders, valExposed)
	return c.preflight(ctx, true)
}

func (c cors) allowed(origin []byte) bool {
	for _, o := range c.origins {
		if bytes.Equal(o, origin) {
			return true
		}
	}
	return false
}

// preflight answers OPTIONS: 204 with what may be asked (ok), or 403 for
// an origin not allowed.
func (c cors) preflight(ctx *fasthttp.RequestCtx, ok bool) bool {
	if !ctx.IsOptions() {
		return false
	}
	if !ok {
		problem(ctx, fasthttp.StatusForbidden, "origin not allowed: "+string(ctx.Request.Header.PeekBytes(hdrOrigin)))
		return true
	}
	h := &ctx.Response.Header
	h.SetCanonical(hdrAllowMethods, valMethods)
	if asked := ctx.Request.Header.PeekBytes(hdrRequestHeads); len(asked) > 0 {
		h.SetCanonical(hdrAllowHeaders, asked) // every header is harmless: no credentials
	} else {
		h.SetCanonical(hdrAllowHeaders, valAllowed)
	}
	h.SetCanonical(hdrMaxAge, valMaxAge)
	h.Set("Allow", "GET, HEAD, OPTIONS")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return true
}
