package node

import (
	"crypto/subtle"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/token"
)

// playbackAllowed enforces playback tokens for an event that requires them: the
// token (query parameter "token") must be signed with a current or
// previous key, unexpired, for this event and a path under /live/{event}/.
// (Other nodes, on the mesh listener, are not asked.) It answers 403 and
// returns false otherwise. It does not call anyone.
func (n *running) playbackAllowed(ctx *fasthttp.RequestCtx, ev *Event, p []byte) bool {
	tok := ctx.QueryArgs().Peek("token")
	if len(tok) == 0 {
		n.liveProblem(ctx, fasthttp.StatusForbidden, "event "+ev.ID+" needs a playback token (GET /play/"+ev.ID+")")
		return false
	}
	_, err := token.Verify(b2s(tok), ev.TokenKeys, ev.ID, b2s(p), time.Now())
	if err == nil {
		return true
	}
	why := "invalid playback token"
	switch {
	case errors.Is(err, token.ErrExpired):
		why = "playback token expired"
	case errors.Is(err, token.ErrScope):
		why = "playback token is for another event or path"
	case errors.Is(err, token.ErrForged):
		why = "playback token signature is not valid"
	case errors.Is(err, token.ErrMalformed):
		why = "playback token is malformed"
	}
	n.liveProblem(ctx, fasthttp.StatusForbidden, why)
	return false
}

// writeTokenPlaylist sends a playlist of a token-protected event with the
// request's token carried on every URI in it.
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
	ctx.Response.Header.Set("Cache-Control", "private, "+obj.CacheControl)
	ctx.Response.Header.SetCanonical(hdrXCache, xcache)
	ctx.SetBody(withToken(body, string(ctx.QueryArgs().Peek("token"))))
}

// secretEqual compares a presented secret with the configured one in
// constant time; an unset secret matches nothing.
func secretEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
