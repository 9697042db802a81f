package node

import (
	"bytes"
	"io"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/object"
)

// Responses of large bodies pin their object while they are sent, so the
// memory held by responses alone (the cache evicted the object, or never
// took it, while a slow client reads it) is counted against
// http.max_inflight_bytes; past it new such responses get 503. Small
// bodies (playlists) are not worth the bookkeeping.

// pinMin is the smallest body that is pinned.
const pinMin = 64 << 10

// pinnedBody streams a complete body and unpins its object when fasthttp
// closes it (after the response is written, or dropped). Pooled: a
// response costs no allocation.
type pinnedBody struct {
	obj  *object.Object
	body []byte
	off  int
}

var pinnedPool = sync.Pool{New: func() any { return new(pinnedBody) }}

func (b *pinnedBody) Read(p []byte) (int, error) {
	if b.off >= len(b.body) {
		return 0, io.EOF
	}
	n := copy(p, b.body[b.off:])
	b.off += n
	return n, nil
}

// WriteTo writes the rest of the body in one call, so the copy loop adds
// no copy of its own.
func (b *pinnedBody) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b.body[b.off:])
	b.off += n
	return int64(n), err
}

func (b *pinnedBody) Close() error {
	if b.obj != nil {
		b.obj.Unpin()
	}
	*b = pinnedBody{}
	pinnedPool.Put(b)
	return nil
}

// pin pins obj against the node's in-flight budget; over it, it answers
// 503 and returns false.
func (n *running) pin(ctx *fasthttp.RequestCtx, obj *object.Object) bool {
	if err := obj.Pin(n.inflight); err != nil {
		ctx.Response.Header.Set("Retry-After", "1")
		n.liveProblem(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return false
	}
	return true
}

// setPinnedBody sends body (of obj, pinned) and unpins obj once fasthttp
// is done with it.
func setPinnedBody(ctx *fasthttp.RequestCtx, obj *object.Object, body []byte) {
	pb := pinnedPool.Get().(*pinnedBody)
	pb.obj, pb.body = obj, body
	ctx.SetBodyStream(pb, len(body))
}

// fromCache reports whether xcache says the object came through the
// cache tier (not from this node's own ingest store, which has its own
// budget).
func fromCache(xcache []byte) bool { return !bytes.Equal(xcache, xcacheOrigin) }

// largeOrUnknown reports whether a body still arriving is pinned: its
// buffer (sized from the upstream's Content-Length when there was one) is
// large, or its size is not known yet.
func largeOrUnknown(obj *object.Object) bool {
	c := obj.Cap()
	return c == 0 || c >= pinMin
}
