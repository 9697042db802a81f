package node

import (
	"errors"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/token"
)

// tokenOK enforces playback tokens for an event that requires them: the
// token (query parameter "token") must be signed with a current or
// previous key, unexpired, for this event and a path under /live/{event}/.
// Other nodes of the mesh pass with the cluster token. It answers 403 and
// returns false otherwise. It does not call anyone.
func (n *Node) tokenOK(ctx *fasthttp.RequestCtx, ev *eventInfo, p []byte) bool {
	if n.fromPeer(ctx) {
		return true
	}
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
func (n *Node) writeTokenPlaylist(ctx *fasthttp.RequestCtx, obj *object.Object, xcache []byte) {
	body, err := obj.WaitDone(ctx)
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

// clusterTransport adds the cluster token to node-to-node requests, so
// peers pass token checks meant for players.
type clusterTransport struct {
	base  http.RoundTripper
	token string
}

func (t clusterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.token != "" && r.Header.Get(hdrClusterToken) == "" {
		r = r.Clone(r.Context())
		r.Header.Set(hdrClusterToken, t.token)
	}
	return t.base.RoundTrip(r)
}
