package node

import (
	"bytes"
	"io"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/steering"
	"github.com/ringside-live/ringside/telemetry"
)

var (
	prefixBeacon  = []byte("/t/")
	prefixWatch   = []byte("/watch/")
	prefixConsole = []byte("/console/")
	pathConsole   = []byte("/console")
)

// maxBeaconReports bounds the CMCD dictionaries of one beacon (one a line).
const maxBeaconReports = 32

// telemetryRoutes are the telemetry's HTTP routes: on the public
// listener the beacon (POST /t/{event}) and the player page
// (/watch/{event}), on the operators' the console (/console/).
func (n *running) telemetryRoutes(public, operator bool) []httpRoute {
	var t []httpRoute
	if public {
		t = append(t, httpRoute{prefix: prefixBeacon, player: true, handle: n.serveBeacon},
			httpRoute{prefix: prefixWatch, player: true, handle: n.serveWatch})
	}
	if operator {
		console := fasthttpadaptor.NewFastHTTPHandler(admin.Console())
		// Sharing the public listener, the console is served (and its
		// token typed) only where the admin API itself is.
		clear := public && !loopback(n.cfg.HTTP.Listen) && !n.cfg.Admin.Insecure
		h := func(ctx *fasthttp.RequestCtx, p []byte) {
			if clear && !ctx.IsTLS() {
				problem(ctx, fasthttp.StatusForbidden, "the console is not served over plain HTTP on a non-loopback address")
				return
			}
			if bytes.Equal(p, pathConsole) {
				ctx.Redirect("/console/", fasthttp.StatusMovedPermanently)
				return
			}
			console(ctx)
		}
		t = append(t, httpRoute{prefix: prefixConsole, handle: h}, httpRoute{prefix: pathConsole, exact: true, handle: h})
	}
	return t
}

// serveBeacon takes CMCD from players that fetch from a third-party CDN
// (the edges see the mesh's requests themselves): POST /t/{event}, a body
// of CMCD dictionaries, one a line, as in a CMCD header (hls.js's
// "sid=...,br=...,ot=v"), or ?CMCD=. The pathway is the dictionary's v2
// "cdn" key or ?pathway=, and must name a configured CDN (a beacon for the
// mesh is taken and ignored: the edges counted it). v2 event mode's rc,
// ttfb and ttlb are the response's status and times; without rc the
// player reported an object it received (200). 204; 413 over
// telemetry.beacon_max_bytes, 429 over telemetry.beacon_rate per client
// network.
func (n *running) serveBeacon(ctx *fasthttp.RequestCtx, p []byte) {
	t := n.tel
	switch {
	case n.steer == nil || t == nil:
		problem(ctx, fasthttp.StatusNotFound, "beacons go to a steer node with telemetry")
		return
	case !ctx.IsPost():
		ctx.Response.Header.Set("Allow", "POST")
		problem(ctx, fasthttp.StatusMethodNotAllowed, "POST a beacon")
		return
	}
	id := string(p[len(prefixBeacon):])
	if n.event(id) == nil {
		problem(ctx, fasthttp.StatusNotFound, "no such event: "+id)
		return
	}
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	addr = addr.Unmap()
	if !t.beacons.Allow(addr, time.Now()) {
		ctx.Response.Header.Set("Retry-After", "1")
		problem(ctx, fasthttp.StatusTooManyRequests, "too many beacons from this client network")
		return
	}
	limit := int(t.cfg.BeaconMaxBytes)
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		problem(ctx, fasthttp.StatusRequestEntityTooLarge, "a beacon is at most telemetry.beacon_max_bytes")
		ctx.SetConnectionClose()
		return
	}
	body, err := io.ReadAll(io.LimitReader(ctx.RequestBodyStream(), int64(limit)+1))
	if err != nil || len(body) > limit {
		problem(ctx, fasthttp.StatusRequestEntityTooLarge, "a beacon is at most telemetry.beacon_max_bytes")
		ctx.SetConnectionClose()
		return
	}
	if q := ctx.QueryArgs().Peek("CMCD"); len(q) > 0 {
		body = append(append(body, '\n'), q...)
	}
	l := t.labelsNow()
	region := l.regions.Of(addr)
	fallback := string(ctx.QueryArgs().Peek("pathway"))
	ps := t.parser.Get().(*telemetry.Parser)
	defer t.parser.Put(ps)
	reports := 0
	for _, line := range bytes.Split(body, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) == 0 {
			continue
		}
		if reports++; reports > maxBeaconReports {
			break
		}
		ps.Reset()
		perr := ps.ParseHeaders(nil, nil, nil, line)
		pathway := fallback
		if len(ps.CDN) > 0 {
			pathway = string(ps.CDN)
		}
		if !l.cdns[pathway] {
			if pathway == steering.MeshID || pathway == "" {
				continue
			}
			problem(ctx, fasthttp.StatusUnprocessableEntity, "the pathway must be a configured CDN (CMCD cdn or ?pathway=)")
			return
		}
		o := telemetry.Observation{Event: s2b(id), Region: s2b(region), Pathway: s2b(pathway),
			CMCD: &ps.CMCD, CMCDInvalid: perr != nil, Status: 200}
		if ps.Has&telemetry.HasRC != 0 {
			o.Status = int(ps.RC) // 0: the request failed without a status
		}
		o.TTFB, o.Duration = time.Duration(ps.TTFB)*time.Millisecond, time.Duration(ps.TTLB)*time.Millisecond
		t.rec.Record(&o)
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
