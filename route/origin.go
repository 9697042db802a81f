package shield

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ringside-live/ringside/pkg/segment"
)

// HopHeader carries the ids of the Ringside nodes a request went through,
// comma-separated, so each tier shows in logs and loops are refused.
const HopHeader = "X-Ringside-Hop"

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

// Fetcher gets an object from the next tier up. It must honour ctx.
type Fetcher interface {
	Fetch(ctx context.Context, r Request) (*Response, error)
}

// ErrNoOrigin is returned by OriginFetcher for events it has no URL for.
var ErrNoOrigin = errors.New("shield: no origin for event")

// OriginFetcher fetches from a pull origin over HTTP: the object at
// event path P comes from {base}/{P}.
type OriginFetcher struct {
	Client *http.Client
	// BaseURL returns the origin base URL of an event.
	BaseURL func(event string) (string, bool)
	// NodeID is appended to the hop header.
	NodeID string
}

// Fetch implements Fetcher.
func (f *OriginFetcher) Fetch(ctx context.Context, r Request) (*Response, error) {
	base, ok := f.BaseURL(r.Event)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNoOrigin, r.Event)
	}
	u := strings.TrimRight(base, "/") + "/" + r.Path
	if r.Query != "" {
		u += "?" + r.Query
	}
	return Get(ctx, f.Client, u, r, f.NodeID, "origin")
}

// Get performs one upstream GET for r at url, adding the hop header and a
// Range header when resuming. Exported for the node's peer fetcher.
func Get(ctx context.Context, c *http.Client, url string, r Request, nodeID, source string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("shield: request for %s: %w", url, err)
	}
	hops := nodeID
	if r.Hops != "" {
		hops = r.Hops + "," + nodeID
	}
	req.Header.Set(HopHeader, hops)
	if r.Offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(r.Offset, 10)+"-")
	}
	// Compression would hide lengths and cost CPU on both ends; bodies are
	// video or small playlists.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shield: fetch %s: %w", url, err)
	}
	out := &Response{Status: resp.StatusCode, ContentLength: resp.ContentLength, Body: resp.Body, Source: source}
	if resp.StatusCode == http.StatusPartialContent {
		out.Status, out.Partial = http.StatusOK, true
	}
	return out, nil
}
