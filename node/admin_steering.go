package node

import (
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/steering"
)

// adminSimulate answers what a given client would get and why, without
// recording a session: ?event=ID&client=IP[&session=S].
func (n *running) adminSimulate(ctx *fasthttp.RequestCtx, _ params) {
	if n.steer == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node does not have the steer role")
		return
	}
	args := ctx.QueryArgs()
	ev := n.event(string(args.Peek("event")))
	if ev == nil {
		fieldProblem(ctx, fasthttp.StatusUnprocessableEntity, "no such event", "event", "must name an event")
		return
	}
	addr, err := netip.ParseAddr(string(args.Peek("client")))
	if err != nil {
		fieldProblem(ctx, fasthttp.StatusUnprocessableEntity, "client must be an IP address", "client", err.Error())
		return
	}
	c := steering.Client{Addr: addr, Session: string(args.Peek("session"))}
	if p, err := netip.ParsePrefix(string(args.Peek("subnet"))); err == nil {
		c.Prefix = p
	}
	sim := n.steer.eng.Simulate(n.steer.snapshot(ev), c)
	writeJSON(ctx, fasthttp.StatusOK, sim)
}

// adminSteeringHealth shows every CDN's health as steering sees it.
func (n *running) adminSteeringHealth(ctx *fasthttp.RequestCtx, _ params) {
	if n.steer == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node does not have the steer role")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"cdns": n.steer.health.Status()})
}
