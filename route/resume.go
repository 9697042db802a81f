package route

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ringside-live/ringside/shield"
)

// resumingBody reads an upstream body; when it breaks (a read error, or
// EOF before its Content-Length) it asks the upstreams again for the rest
// with a Range request, so the reader sees no error. An upstream that
// ignores Range answers the whole body; the part already read is skipped.
// The node whose body broke is not asked again.
type resumingBody struct {
	f       *Fetcher
	ctx     context.Context
	r       shield.Request
	body    io.ReadCloser
	source  string // who sent body: a node id, or "origin"
	read    int64  // bytes delivered from r.Offset on
	left    int64  // bytes the current body still owes; -1 unknown
	resumes int    // resumes left
}

func (b *resumingBody) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.read += int64(n)
		if b.left >= 0 {
			b.left -= int64(n)
			if err == io.EOF && b.left > 0 {
				err = io.ErrUnexpectedEOF
			}
		}
		if err == nil || err == io.EOF || b.resumes == 0 || b.ctx.Err() != nil {
			return n, err
		}
		if rerr := b.resume(); rerr != nil {
			return n, errors.Join(err, rerr)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// resume replaces the broken body with one starting where it broke.
func (b *resumingBody) resume() error {
	b.resumes--
	b.f.m.resumes.Inc()
	b.body.Close()
	have := b.r.Offset + b.read
	r := b.r
	r.Offset = have
	if b.source != "origin" && b.source != "" {
		// Not the node whose body broke: it goes on the hop list, which
		// every tier above skips too.
		r.Hops = strings.Trim(r.Hops+","+b.source, ",")
		b.r.Hops = r.Hops
	}
	resp, err := b.f.fetchOnce(b.ctx, r)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK {
		if resp.Body != nil {
			resp.Body.Close()
		}
		return fmt.Errorf("route: resuming %s: status %d from %s", r.Key, resp.Status, resp.Source)
	}
	if !resp.Partial {
		if _, err := io.CopyN(io.Discard, resp.Body, have); err != nil {
			resp.Body.Close()
			return fmt.Errorf("route: resuming %s: %w", r.Key, err)
		}
		if resp.ContentLength >= 0 {
			resp.ContentLength -= have
		}
	}
	b.body, b.left, b.source = resp.Body, resp.ContentLength, resp.Source
	return nil
}

func (b *resumingBody) Close() error { return b.body.Close() }
