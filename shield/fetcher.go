package shield

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

// Request is one object asked of the cache tier. Its strings may alias the
// caller's buffers: the shield copies what it keeps past the call.
type Request struct {
	Key   string // cache key: request path plus LL-HLS directives
	Event string
	Path  string // file path inside the event ("0/index3.ts")
	Query string // LL-HLS directives to forward upstream, usually ""
	Kind  segment.FileKind
	// Hops is the incoming hop header, passed on upstream.
	Hops string
	// Offset asks for the body from this byte on (resuming a broken fetch).
	Offset int64
	// Hold says the upstream may hold the request before answering (an
	// LL-HLS blocking reload, a hinted part, a segment asked for just
	// before its upload): it is not failed over for a slow answer, only
	// for a dead or failing upstream.
	Hold bool
	// WaitPush > 0: this tier expects the answer to be pushed to it
	// (Store) — an LL-HLS playlist update the ingest pushes to the
	// playlist's owners. The shared fetch waits up to WaitPush for the
	// push before it asks upstream; requests joining it wait with it.
	WaitPush time.Duration
}

func (r Request) clone() Request {
	r.Key = strings.Clone(r.Key)
	r.Event = strings.Clone(r.Event)
	r.Path = strings.Clone(r.Path)
	r.Query = strings.Clone(r.Query)
	r.Hops = strings.Clone(r.Hops)
	return r
}

// Response is an upstream answer. Body is nil for a response without one.
type Response struct {
	Status int
	// ContentLength of Body, or -1 when unknown.
	ContentLength int64
	// Partial: Body starts at Request.Offset (the upstream honoured Range).
	Partial bool
	Body    io.ReadCloser
	// Source names who answered ("origin", or the peer's node id).
	Source string
}

// Fetcher gets an object from the next tier up. It must honour ctx. A body
// that breaks is the fetcher's to resume; the shield treats a read error
// as final.
type Fetcher interface {
	Fetch(ctx context.Context, r Request) (*Response, error)
}
