package node

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/route"
	"github.com/ringside-live/ringside/shield"
	"github.com/ringside-live/ringside/telemetry"
)

var (
	hdrCacheControl    = []byte("Cache-Control")
	hdrContentEncoding = []byte("Content-Encoding")
	hdrVary            = []byte("Vary")
	hdrXCache          = []byte("X-Cache")
	valGzip            = []byte("gzip")
	valAcceptEncoding  = []byte("Accept-Encoding")
	xcacheOrigin       = []byte("ORIGIN")
	xcacheMirror       = []byte("MIRROR") // the DVR this node mirrors
	// dvrDeltaQuery is the one query a DVR playlist's key may have.
	dvrDeltaQuery = "_HLS_skip=YES"
	xcacheValues  = [...][]byte{[]byte("HIT"), []byte("MISS"), []byte("COALESCED"), []byte("STALE")}
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
	if n.tel != nil && !peer {
		defer n.recordLive(ctx, p)
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
	if !obj.Hold() {
		// A body file the cache dropped (and no response held) between
		// the lookup and now: looked up again, it is fetched anew.
		if obj, xcache, ok = n.lookupLive(ctx, ev, p, file, kind, hops); !ok {
			return
		}
		if !obj.Hold() {
			ctx.Response.Header.Set("Retry-After", "1")
			n.liveProblem(ctx, fasthttp.StatusServiceUnavailable, object.ErrReleased.Error())
			return
		}
	}
	defer obj.Drop()
	if ev.RequireToken && kind == segment.KindPlaylist && len(ctx.QueryArgs().Peek("token")) > 0 {
		n.writeTokenPlaylist(ctx, obj, xcache)
		return
	}
	n.writeObject(ctx, obj, xcache)
}

// lookupLive finds the /live object for the request and answers the
// error itself (reporting false then).
func (n *running) lookupLive(ctx *fasthttp.RequestCtx, ev *Event, p []byte, file string, kind segment.FileKind, hops []byte) (*object.Object, []byte, bool) {
	// The ingest of a low-latency push holds a hinted part until its first
	// byte, and any push's DASH segment asked for just before its upload.
	req := shield.Request{Key: b2s(p), Event: ev.ID, Path: file, Kind: kind, Hops: b2s(hops),
		Hold: kind == segment.KindSegment && ev.Push() && ev.LowLatency}
	if kind == segment.KindPlaylist && !ev.LowLatency && ev.Push() && ingest.IsDVRPath(file) {
		// A DVR playlist may be asked for as a delta update; nothing else
		// of its query is part of the key.
		if q := telemetry.StripQuery(ctx.URI().QueryString()); len(q) > 0 {
			if d, present, err := segment.ParseDirectives(b2s(q)); err == nil && present && d.Skip != "" && d.MSN < 0 {
				req.Key, req.Query = req.Key+"?"+dvrDeltaQuery, dvrDeltaQuery
			}
		}
	}
	if kind == segment.KindPlaylist && ev.LowLatency {
		if q := telemetry.StripQuery(ctx.URI().QueryString()); len(q) > 0 { // CMCD is never part of a key
			if ev.Push() && n.ingest != nil && n.ingest.Active(ev.ID) {
				if obj, done, ok := n.lookupBlocking(ctx, ev, p, file, b2s(q)); done {
					return obj, xcacheOrigin, ok
				}
			}
			return n.lookupDirectives(ctx, ev, p, req, b2s(q))
		}
	}
	// Anywhere else a query is not part of the key: tokens, CMCD and cache
	// busters all get the one object.
	obj, xcache, err := n.getLive(ev, req)
	if err != nil {
		n.liveError(ctx, p, err)
		return nil, nil, false
	}
	return obj, xcache, true
}

// maxPartDirective bounds _HLS_part: the parts of one segment (a 6-s
// segment of 0.1-s parts has 60).
const maxPartDirective = 100

// lookupDirectives answers a media playlist request of a low-latency event
// with LL-HLS directives (RFC 8216bis 6.2.5.2). They are part of the key
// only for what is not in the current playlist yet and at most two
// segments beyond its live edge, in one canonical spelling; a request for
// what the playlist this node has already lists (a complete segment, or a
// part) gets that playlist at once, never an upstream request; anything
// further ahead, or malformed, is 400. So no query can make a new cache
// entry per value.
func (n *running) lookupDirectives(ctx *fasthttp.RequestCtx, ev *Event, p []byte, req shield.Request, q string) (*object.Object, []byte, bool) {
	d, present, err := segment.ParseDirectives(q)
	if err != nil {
		n.liveProblem(ctx, fasthttp.StatusBadRequest, err.Error())
		return nil, nil, false
	}
	// The request is measured against the playlist this node holds, even
	// a stale one (a blocking request does not need it fresh: it refetches
	// it only to refuse a request too far ahead, or to answer one without
	// directives), so blocking reloads do not refetch the plain playlist.
	var cur *object.Object
	var xcache []byte
	if present && !(ev.Push() && n.ingest != nil && n.ingest.Active(ev.ID)) {
		cur, xcache = n.shield.Peek(req), xcacheValues[shield.Hit]
	}
	for fresh := false; ; fresh = true {
		if cur == nil || fresh {
			if cur, xcache, err = n.getLive(ev, req); err != nil { // the playlist as it is now
				n.liveError(ctx, p, err)
				return nil, nil, false
			}
		}
		if !present {
			return cur, xcache, true
		}
		body, complete := cur.Complete()
		last, media := segment.LastMSN(body)
		switch {
		case (!complete || cur.Status != fasthttp.StatusOK || !media || d.MSN > last+2) && !fresh:
			continue // measure against the playlist as it is now
		case !complete || cur.Status != fasthttp.StatusOK || !media:
			return cur, xcache, true // a master playlist, or nothing to measure the request against
		case d.MSN > last+2 || d.Part > maxPartDirective:
			n.liveProblem(ctx, fasthttp.StatusBadRequest, "_HLS_msn "+strconv.FormatInt(d.MSN, 10)+
				" is more than two segments beyond the live edge ("+strconv.FormatInt(last, 10)+"), or _HLS_part is too large")
			return nil, nil, false
		case segment.Has(body, d.MSN, d.Part):
			// Already in the playlist this node has: answered from it,
			// whole (a server may answer _HLS_skip with the full
			// playlist; a cached delta update could be older).
			return cur, xcache, true
		}
		break
	}
	if d.MSN < 0 && d.Skip == "" {
		return cur, xcache, true
	}
	key := d.AppendKey(make([]byte, 0, len(p)+40), b2s(p))
	req.Key, req.Query, req.Hold = b2s(key), d.Query(), d.MSN >= 0
	if d.MSN >= 0 && ev.Push() && n.ownsKey(req.Key) {
		// The ingest pushes each playlist update to the key's owners:
		// wait for it before asking the ingest.
		req.WaitPush = max(3*ev.PartTarget, 300*time.Millisecond)
	}
	n.m.parked.Inc()
	obj, xcache, err := n.getLive(ev, req)
	n.m.parked.Dec()
	if err != nil {
		n.liveError(ctx, p, err)
		return nil, nil, false
	}
	return obj, xcache, true
}

// lookupBlocking answers a request with LL-HLS directives for a media
// playlist this node's ingest writes (a low-latency event packaged here):
// held until the part exists, 400 too far ahead, 503 when the part did
// not come within three target durations (RFC 8216bis 6.2.5.2). done is
// false when the playlist is not one Ringside writes (an encoder's own
// playlist): lookupDirectives takes it.
func (n *running) lookupBlocking(ctx *fasthttp.RequestCtx, ev *Event, p []byte, file, q string) (obj *object.Object, done, ok bool) {
	d, present, err := segment.ParseDirectives(q)
	if err != nil {
		n.liveProblem(ctx, fasthttp.StatusBadRequest, err.Error())
		return nil, true, false
	}
	if !present {
		return nil, false, false
	}
	obj, err = n.ingest.Blocking(n.ctx, ev.ID, file, d)
	switch {
	case errors.Is(err, ingest.ErrNotLowLatency):
		return nil, false, false
	case errors.Is(err, ingest.ErrTooFarAhead):
		n.liveProblem(ctx, fasthttp.StatusBadRequest, err.Error())
		return nil, true, false
	case errors.Is(err, ingest.ErrBlockTimeout):
		ctx.Response.Header.Set("Retry-After", "1")
		n.liveProblem(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return nil, true, false
	case err != nil:
		n.liveError(ctx, p, err)
		return nil, true, false
	}
	return obj, true, true
}

// getLive gets a file of ev: from this node's ingest origin when an
// encoder pushes the event here, otherwise through the cache tier. A hit
// costs no context; a miss waits at most cache.fetch_timeout (the shared
// fetch's own deadline) or until the node stops.
func (n *running) getLive(ev *Event, r shield.Request) (*object.Object, []byte, error) {
	if ev.Push() && n.ingest != nil && r.Query == dvrDeltaQuery {
		obj, err := n.ingest.GetDVRDelta(ev.ID, r.Path)
		if !errors.Is(err, ingest.ErrNoDVR) && !errors.Is(err, ingest.ErrNotFound) {
			return obj, xcacheOrigin, err
		}
	} else if ev.Push() && n.ingest != nil {
		obj, err := n.ingest.Get(ev.ID, r.Path)
		if errors.Is(err, ingest.ErrNotFound) {
			// A hinted part or a DASH segment about to start is held.
			obj, err = n.ingest.Await(n.ctx, ev.ID, r.Path)
		}
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
	if err != nil {
		// No ingest node answers: the DVR this node mirrors.
		if mobj, ok := n.serveDVRMirror(ev, r.Path); ok {
			return mobj, xcacheMirror, nil
		}
	}
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
	n.observe(Access{Path: string(p), Query: string(ctx.URI().QueryString()), Status: ctx.Response.StatusCode(),
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
	if obj.InFile() {
		n.writeFile(ctx, obj) // zerocopy.go
		return
	}
	body, complete := obj.Complete()
	if complete && obj.Status == fasthttp.StatusOK && len(ctx.Request.Header.Peek("Range")) > 0 {
		n.writeRange(ctx, obj, body)
		return
	}
	// A large body (or one still arriving) from the cache tier is pinned
	// before anything is answered: over the in-flight budget the answer is
	// a 503 instead.
	pinned := !ctx.IsHead() && fromCache(xcache) && (complete && len(body) >= pinMin || !complete && largeOrUnknown(obj))
	if pinned && !n.pin(ctx, obj) {
		return
	}
	ctx.SetStatusCode(obj.Status)
	n.m.status(obj.Status)
	if complete {
		if obj.Gzip != nil && !pinned {
			h.SetCanonical(hdrVary, valAcceptEncoding)
			if ctx.Request.Header.HasAcceptEncodingBytes(valGzip) {
				h.SetCanonical(hdrContentEncoding, valGzip)
				body = obj.Gzip
			}
		}
		if ctx.IsHead() {
			ctx.Response.SkipBody = true
			h.SetContentLength(len(body))
			return
		}
		n.m.bytesOut.Add(float64(len(body)))
		if pinned {
			setPinnedBody(ctx, obj, body)
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
	if pinned {
		ctx.SetBodyStream(obj.NewReader(rctx, func() { cancel(); obj.Unpin() }), -1)
		return
	}
	ctx.SetBodyStream(obj.NewReader(rctx, cancel), -1)
}

// writeRange answers a Range request of a complete object (RFC 9110
// 14.2): one satisfiable range is 206, a range starting past the end is
// 416, and what it does not serve as a range (several ranges, another
// unit, a malformed value) is the whole body, 200, as the RFC allows.
func (n *running) writeRange(ctx *fasthttp.RequestCtx, obj *object.Object, body []byte) {
	start, end, st := parseRange(b2s(ctx.Request.Header.Peek("Range")), len(body))
	switch st {
	case rangeWhole:
		ctx.SetStatusCode(fasthttp.StatusOK)
		n.m.status(fasthttp.StatusOK)
		n.m.bytesOut.Add(float64(len(body)))
		if ctx.IsHead() {
			ctx.Response.SkipBody = true
			ctx.Response.Header.SetContentLength(len(body))
			return
		}
		ctx.Response.SetBodyRaw(body)
		return
	case rangeUnsatisfiable:
		ctx.Response.Header.Set("Content-Range", "bytes */"+strconv.Itoa(len(body)))
		n.liveProblem(ctx, fasthttp.StatusRequestedRangeNotSatisfiable, "unsatisfiable range")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusPartialContent)
	n.m.status(fasthttp.StatusPartialContent)
	ctx.Response.Header.Set("Content-Range", "bytes "+strconv.Itoa(start)+"-"+strconv.Itoa(end-1)+"/"+strconv.Itoa(len(body)))
	n.m.bytesOut.Add(float64(end - start))
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(end - start)
		return
	}
	ctx.Response.SetBodyRaw(body[start:end])
}

// What parseRange makes of a Range header.
const (
	rangeOne           = iota // one satisfiable range: 206
	rangeWhole                // not served as a range: 200 with the whole body
	rangeUnsatisfiable        // 416
)

// parseRange parses a Range header against a body of size bytes: "bytes=N-",
// "bytes=N-M" (M past the end is the end) and "bytes=-S" (the last S
// bytes). end is exclusive.
func parseRange(v string, size int) (start, end, status int) {
	const pfx = "bytes="
	if len(v) <= len(pfx) || !strings.EqualFold(v[:len(pfx)], pfx) {
		return 0, 0, rangeWhole // another unit, or not a range at all
	}
	spec := strings.TrimSpace(v[len(pfx):])
	if strings.IndexByte(spec, ',') >= 0 {
		return 0, 0, rangeWhole // several ranges: the whole body is a valid answer
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok || !digits(last) || (first != "" && !digits(first)) || (first == "" && last == "") {
		return 0, 0, rangeWhole // malformed: ignored
	}
	if first == "" { // a suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n > int64(size) {
			n = int64(size) // longer than the body: all of it
		}
		if n == 0 || size == 0 {
			return 0, 0, rangeUnsatisfiable
		}
		return size - int(n), size, rangeOne
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s >= int64(size) {
		return 0, 0, rangeUnsatisfiable
	}
	e := int64(size)
	if last != "" {
		l, err := strconv.ParseInt(last, 10, 64)
		if err == nil && l < s {
			return 0, 0, rangeWhole // last before first: invalid, ignored
		}
		if err == nil && l+1 < e {
			e = l + 1
		}
	}
	return int(s), int(e), rangeOne
}

// digits reports whether s is all ASCII digits ("" is).
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
