package node

import (
	"crypto/subtle"
	"errors"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/token"
	"github.com/ringside-live/ringside/steering"
)

// cachePerViewer is the Cache-Control of what carries a viewer's token or
// session (token-rewritten playlists, the steered master and MPD): no
// cache, shared or private, keeps it, and a player that reloads it gets
// the live edge.
const cachePerViewer = "no-store"

// playbackAllowed enforces playback tokens for an event that requires them
// (checkToken with the request's "token" query parameter; other nodes, on
// the mesh listener, are not asked). It answers and returns false when
// the request is refused. It does not call anyone.
func (n *running) playbackAllowed(ctx *fasthttp.RequestCtx, ev *Event, p []byte) bool {
	_, status, why := n.checkToken(ctx, ev, b2s(ctx.QueryArgs().Peek("token")), b2s(p))
	if status != 0 {
		n.liveProblem(ctx, status, why)
		return false
	}
	return true
}

// checkToken judges a request for path (decoded and cleaned, under
// /live/{event}/) of a require_token event with token tok, against the
// configuration this node follows, on every request: the event must be
// on air (410 once ended, 403 before), the client's address must be in a
// region the event may be played in (451), and the token must be signed
// by a current or retired key, unexpired, for this event and path, not
// revoked (its generation), issued for the client's region and, when
// the request names a session, for that session (403). status is 0 when
// the request may go on.
func (n *running) checkToken(ctx *fasthttp.RequestCtx, ev *Event, tok, path string) (c token.Claims, status int, why string) {
	switch ev.State {
	case steering.StateLive, steering.StateRehearsal:
	case string(control.StateEnded):
		return c, fasthttp.StatusGone, "event " + ev.ID + " has ended"
	default:
		return c, fasthttp.StatusForbidden, "event " + ev.ID + " is " + ev.State + ", not live"
	}
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	region := ev.Regions.Of(addr)
	sev := ev.steering()
	if reason := steering.BlockReason(&sev, region); reason != "" {
		return c, fasthttp.StatusUnavailableForLegalReasons, reason
	}
	if tok == "" {
		return c, fasthttp.StatusForbidden, "event " + ev.ID + " needs a playback token (GET /play/" + ev.ID + ")"
	}
	c, err := token.Verify(tok, ev.TokenKeys, ev.ID, path, time.Now())
	switch {
	case err == nil:
	case errors.Is(err, token.ErrExpired):
		return c, fasthttp.StatusForbidden, "playback token expired"
	case errors.Is(err, token.ErrScope):
		return c, fasthttp.StatusForbidden, "playback token is for another event or path"
	case errors.Is(err, token.ErrForged):
		return c, fasthttp.StatusForbidden, "playback token signature is not valid"
	default:
		return c, fasthttp.StatusForbidden, "playback token is malformed"
	}
	switch s := ctx.QueryArgs().Peek("session"); {
	case c.Generation < ev.TokenGeneration:
		return c, fasthttp.StatusForbidden, "playback token was revoked (GET /play/" + ev.ID + " for a new one)"
	case c.Region != region:
		return c, fasthttp.StatusForbidden, "playback token was issued for another region (GET /play/" + ev.ID + " for a new one)"
	case len(s) > 0 && b2s(s) != c.Session:
		return c, fasthttp.StatusForbidden, "playback token is for another session"
	}
	return c, 0, ""
}

// writeTokenPlaylist sends a playlist of a token-protected event with the
// request's token carried on every URI in it; it is the viewer's alone
// (cachePerViewer).
func (n *running) writeTokenPlaylist(ctx *fasthttp.RequestCtx, obj *object.Object, xcache []byte) {
	wctx, cancel := n.requestContext(time.Duration(n.cfg.HTTP.StreamTimeout))
	defer cancel()
	body, err := obj.WaitDone(wctx)
	if err != nil || obj.Status != fasthttp.StatusOK {
		n.writeObject(ctx, obj, xcache)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	n.m.status(fasthttp.StatusOK)
	ctx.SetContentType(obj.ContentType)
	ctx.Response.Header.Set("Cache-Control", cachePerViewer)
	ctx.Response.Header.SetCanonical(hdrXCache, xcache)
	ctx.SetBody(withToken(body, string(ctx.QueryArgs().Peek("token"))))
}

// secretEqual compares a presented secret with the configured one in
// constant time; an unset secret matches nothing.
func secretEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
