package node

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/ingest"
)

// serveIngest answers PUT (and POST) and DELETE on /ingest/{event}/{path...}
// exactly as ffmpeg's HLS muxer sends them.
func (n *running) serveIngest(ctx *fasthttp.RequestCtx, p []byte) {
	evb, fileb, ok := splitEventPath(p[len(prefixIngest):])
	if !ok {
		ingestProblem(ctx, fasthttp.StatusNotFound, "want /ingest/{event}/{file}")
		return
	}
	if n.ingest == nil {
		ingestProblem(ctx, fasthttp.StatusNotFound, "this node does not have the ingest role")
		return
	}
	token := bearer(ctx.Request.Header.Peek("Authorization"))
	event, file := string(evb), string(fileb)
	switch {
	case ctx.IsPut() || ctx.IsPost():
		cl := int64(ctx.Request.Header.ContentLength())
		if cl < 0 {
			cl = -1
		}
		body := &idleReader{ctx: ctx, r: ctx.RequestBodyStream(), idle: time.Duration(n.cfg.HTTP.IngestIdleTimeout)}
		res, err := n.ingest.Put(n.ctx, ingest.Upload{Event: event, Path: file, Token: token, Body: body, ContentLength: cl})
		if err != nil {
			ingestError(ctx, err)
			return
		}
		if res.Created {
			ctx.SetStatusCode(fasthttp.StatusCreated)
		} else {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		}
	case ctx.IsDelete():
		if err := n.ingest.Delete(event, file, token); err != nil {
			ingestError(ctx, err)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	default:
		ctx.Response.Header.Set("Allow", "PUT, POST, DELETE")
		ingestProblem(ctx, fasthttp.StatusMethodNotAllowed, "only PUT, POST and DELETE on /ingest/")
	}
}

// bearer is the token of an Authorization header of the Bearer scheme,
// whose name is case-insensitive (RFC 9110 §11.1); "" for any other.
func bearer(h []byte) string {
	scheme, token, ok := bytes.Cut(h, []byte(" "))
	if !ok || !bytes.EqualFold(scheme, []byte("Bearer")) {
		return ""
	}
	return string(bytes.TrimLeft(token, " "))
}

var ingestStatus = []struct {
	err    error
	status int
}{
	{ingest.ErrUnauthorized, fasthttp.StatusUnauthorized},
	{ingest.ErrNoEvent, fasthttp.StatusNotFound},
	{ingest.ErrNotFound, fasthttp.StatusNotFound},
	{ingest.ErrBadPath, fasthttp.StatusBadRequest},
	{ingest.ErrTooLarge, fasthttp.StatusRequestEntityTooLarge},
	{ingest.ErrStoreFull, fasthttp.StatusInsufficientStorage},
	{ingest.ErrInvalidPlaylist, fasthttp.StatusUnprocessableEntity},
	{ingest.ErrConflict, fasthttp.StatusConflict},
	{ingest.ErrAborted, fasthttp.StatusBadRequest},
}

func ingestError(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusInternalServerError
	for _, m := range ingestStatus {
		if errors.Is(err, m.err) {
			status = m.status
			break
		}
	}
	ingestProblem(ctx, status, err.Error())
	if status == fasthttp.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="ringside-ingest"`)
	}
}

// ingestProblem answers an error and closes the connection: the encoder
// may still be sending a body we did not read.
func ingestProblem(ctx *fasthttp.RequestCtx, status int, detail string) {
	problem(ctx, status, detail)
	ctx.SetConnectionClose()
}

// idleReader reads an upload body with an idle timeout per read instead of
// a whole-request deadline: ffmpeg opens some uploads seconds before their
// body arrives, and a live segment upload may legitimately last long.
type idleReader struct {
	ctx  *fasthttp.RequestCtx
	r    io.Reader
	idle time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	if err := r.ctx.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
