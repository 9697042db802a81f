package node

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/route"
	"github.com/ringside-live/ringside/shield"
)

var (
	hdrCacheControl    = []byte("Cache-Control")
	hdrContentEncoding = []byte("Content-Encoding")
	hdrVary            = []byte("Vary")
	hdrXCache          = []byte("X-Cache")
	valGzip            = []byte("gzip")
	valAcceptEncoding  = []byte("Accept-Encoding")
	xcacheOrigin       = []byte("ORIGIN")
	xcacheValues       = [...][]byte{[]byte("HIT"), []byte("MISS"), []byte("COALESCED"), []byte("STALE")}
)

// serveLive answers a player's GET and HEAD on /live/{event}/{path...}.
func (n *running) serveLive(ctx *fasthttp.RequestCtx, p []byte) { n.live(ctx, p, false) }

// live answers GET and HEAD on /live/{event}/{path...}: from the local
// ingest origin for a push event this node ingests, otherwise through the
// cache tier. A cached hit does not allocate. peer: another node asks, on
// the mesh listener (its hop header counts, playback tokens do not apply).
func (n *running) live(ctx *fasthttp.RequestCtx, p []byte, peer bool) {
	if n.observe != nil {
		defer n.observeLive(ctx, p)
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		n.liveProblem(ctx, fasthttp.StatusMethodNotAllowed, "only GET and HEAD on /live/")
		return
	}
	evb, fileb, ok := splitEventPath(p[len(prefixLive):])
	if !ok {
		n.liveProblem(ctx, fasthttp.StatusNotFound, "want /live/{event}/{file}")
		return
	}
	ev := n.event(b2s(evb))
	if ev == nil {
		n.liveProblem(ctx, fasthttp.StatusNotFound, "no such event: "+string(evb))
		return
	}
	file := b2s(fileb)
	kind, _, err := segment.CheckPath(file)
	if err != nil {
		n.liveProblem(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	hops := ctx.Request.Header.Peek(route.HopHeader)
	if !peer {
		// Only other nodes may say where a request has been: a player
		// naming the shields could otherwise make an edge skip them.
		hops = nil
	}
	if len(hops) > 0 && hopsContain(hops, n.cfg.Node.ID) {
		n.liveProblem(ctx, fasthttp.StatusLoopDetected, "request looped back to "+n.cfg.Node.ID+" via "+string(hops))
		return
	}
	if ev.RequireToken && !peer && !n.playbackAllowed(ctx, ev, p) {
		return
	}
	obj, xcache, ok := n.lookupLive(ctx, ev, p, file, kind, hops)
	if !ok {
		return
	}
	if ev.RequireToken && kind == segment.KindPlaylist && len(ctx.QueryArgs().Peek("token")) > 0 {
		n.writeTokenPlaylist(ctx, obj, xcache)
		return
	}
	n.writeObject(ctx, obj, xcache)
}

// lookupLive finds the /live object for the request and answers the
// error itself (reporting false then).
func (n *running) lookupLive(ctx *fasthttp.RequestCtx, ev *Event, p []byte, file string, kind segment.FileKind, hops []byte) (*object.Object, []byte, bool) {
	req := shield.Request{Key: b2s(p), Event: ev.ID, Path: file, Kind: kind, Hops: b2s(hops)}
	if q := ctx.URI().QueryString(); len(q) > 0 {
		key := segment.AppendKey(nil, b2s(p), b2s(q))
		req.Key = b2s(key)
		if len(key) > len(p) {
			req.Query = b2s(key[len(p)+1:])
		}
	}
	obj, xcache, err := n.getLive(ev, req)
	if err != nil {
		n.liveError(ctx, p, err)
		return nil, nil, false
	}
	return obj, xcache, true
}

// getLive gets a file of ev: from this node's ingest origin when an
// encoder pushes the event here, otherwise through the cache tier. A hit
// costs no context; a miss waits at most cache.fetch_timeout (the shared
// fetch's own deadline) or until the node stops.
func (n *running) getLive(ev *Event, r shield.Request) (*object.Object, []byte, error) {
	if ev.Push() && n.ingest != nil {
		obj, err := n.ingest.Get(ev.ID, r.Path)
		if !errors.Is(err, ingest.ErrInactive) {
			return obj, xcacheOrigin, err
		}
	}
	if obj, ok := n.shield.Hit(r); ok {
		return obj, xcacheValues[shield.Hit], nil
	}
	ctx, cancel := n.requestContext(time.Duration(n.cfg.Cache.FetchTimeout))
	defer cancel()
	obj, out, err := n.shield.Get(ctx, r)
	return obj, xcacheValues[out], err
}

// liveError answers a failed getLive: 404 for what the local origin does
// not have, the upstream's failure otherwise.
func (n *running) liveError(ctx *fasthttp.RequestCtx, p []byte, err error) {
	if errors.Is(err, ingest.ErrNotFound) || errors.Is(err, ingest.ErrNoEvent) {
		n.liveProblem(ctx, fasthttp.StatusNotFound, "not found: "+string(p))
		return
	}
	n.upstreamProblem(ctx, err)
}

func (n *running) observeLive(ctx *fasthttp.RequestCtx, p []byte) {
	n.observe(Access{Path: string(p), Status: ctx.Response.StatusCode(),
		XCache: string(ctx.Response.Header.Peek("X-Cache")), Hops: string(ctx.Request.Header.Peek(route.HopHeader)),
		Elapsed: time.Since(ctx.Time())})
}

// hopsContain reports whether id is one of the comma-separated hops.
func hopsContain(hops []byte, id string) bool {
	for len(hops) > 0 {
		i := bytes.IndexByte(hops, ',')
		if i < 0 {
			return b2s(hops) == id
		}
		if b2s(hops[:i]) == id {
			return true
		}
		hops = hops[i+1:]
	}
	return false
}

func (n *running) upstreamProblem(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, shield.ErrRegressed):
		ctx.Response.Header.Set("Retry-After", "1")
		n.liveProblem(ctx, fasthttp.StatusServiceUnavailable, err.Error())
	case errors.Is(err, route.ErrNoOrigin), errors.Is(err, route.ErrNoIngest):
		n.liveProblem(ctx, fasthttp.StatusNotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		n.liveProblem(ctx, fasthttp.StatusGatewayTimeout, err.Error())
	default:
		n.liveProblem(ctx, fasthttp.StatusBadGateway, err.Error())
	}
}

func (n *running) liveProblem(ctx *fasthttp.RequestCtx, status int, detail string) {
	problem(ctx, status, detail)
	n.m.status(status)
}

// writeObject sends obj: a complete body straight from memory (gzip when the
// client takes it and the object has it), a body still arriving as a
// chunked stream that follows the writer.
func (n *running) writeObject(ctx *fasthttp.RequestCtx, obj *object.Object, xcache []byte) {
	h := &ctx.Response.Header
	h.SetContentType(obj.ContentType)
	h.SetCanonical(hdrCacheControl, s2b(obj.CacheControl))
	h.SetCanonical(hdrXCache, xcache)
	body, complete := obj.Complete()
	if complete && obj.Status == fasthttp.StatusOK && len(ctx.Request.Header.Peek("Range")) > 0 {
		n.writeRange(ctx, obj, body)
		return
	}
	ctx.SetStatusCode(obj.Status)
	n.m.status(obj.Status)
	if complete {
		if obj.Gzip != nil {
			h.SetCanonical(hdrVary, valAcceptEncoding)
			if ctx.Request.Header.HasAcceptEncodingBytes(valGzip) {
				h.SetCanonical(hdrContentEncoding, valGzip)
				body = obj.Gzip
			}
		}
		n.m.bytesOut.Add(float64(len(body)))
		if ctx.IsHead() {
			ctx.Response.SkipBody = true
			h.SetContentLength(len(body))
			return
		}
		ctx.Response.SetBodyRaw(body)
		return
	}
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		return
	}
	rctx, cancel := n.requestContext(time.Duration(n.cfg.HTTP.StreamTimeout))
	ctx.SetBodyStream(obj.NewReader(rctx, cancel), -1)
}

// writeRange answers a single "bytes=N-" or "bytes=N-M" range of a
// complete object (peers resume broken fetches this way).
func (n *running) writeRange(ctx *fasthttp.RequestCtx, obj *object.Object, body []byte) {
	start, end, ok := parseRange(b2s(ctx.Request.Header.Peek("Range")), len(body))
	if !ok {
		ctx.Response.Header.Set("Content-Range", "bytes */"+strconv.Itoa(len(body)))
		n.liveProblem(ctx, fasthttp.StatusRequestedRangeNotSatisfiable, "unsatisfiable range")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusPartialContent)
	n.m.status(fasthttp.StatusPartialContent)
	ctx.Response.Header.Set("Content-Range", "bytes "+strconv.Itoa(start)+"-"+strconv.Itoa(end-1)+"/"+strconv.Itoa(len(body)))
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(end - start)
		return
	}
	ctx.Response.SetBodyRaw(body[start:end])
}

// parseRange parses one byte range against size; end is exclusive.
func parseRange(v string, size int) (start, end int, ok bool) {
	const pfx = "bytes="
	if len(v) <= len(pfx) || v[:len(pfx)] != pfx {
		return 0, 0, false
	}
	spec := v[len(pfx):]
	dash := -1
	for i := 0; i < len(spec); i++ {
		if spec[i] == '-' {
			dash = i
			break
		}
	}
	if dash <= 0 {
		return 0, 0, false
	}
	s, err := strconv.Atoi(spec[:dash])
	if err != nil || s < 0 || s >= size {
		return 0, 0, false
	}
	e := size
	if dash < len(spec)-1 {
		last, err := strconv.Atoi(spec[dash+1:])
		if err != nil || last < s {
			return 0, 0, false
		}
		e = min(last+1, size)
	}
	return s, e, true
}
