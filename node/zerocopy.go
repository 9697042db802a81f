package node

import (
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/object"
)

// Zero-copy responses. The cache keeps large complete bodies in sealed
// in-memory files (object.NewFile). To a plain HTTP client such a body
// goes out with sendfile(2): the kernel attaches the file's pages to the
// socket instead of copying 1 MB from the Go heap per response. The path,
// with no allocation per response:
//
//  1. writeFile sets a pooled fileBody as the body stream, its object
//     pinned (the file cannot be freed while the response runs);
//  2. fasthttp writes the headers into its bufio.Writer and asks it to
//     ReadFrom the body: bufio fills what is left of its buffer through
//     fileBody.Read (a few KB, from the file's mapping), so the headers
//     and the body's first bytes share one write, and flushes (corking
//     the socket around it, as nginx's tcp_nopush does, cost more CPU
//     per response than the one small frame it saves, on loopback);
//  3. with its buffer empty, bufio hands the rest to the connection's own
//     ReadFrom (trackedConn.ReadFrom), which recognises the fileBody and
//     sends it with sendfile at explicit offsets (the file is shared by
//     every response; nothing moves its position) in one netpoller write,
//     each sendChunk of progress moving the http.send_timeout deadline;
//  4. fasthttp closes the body stream: the object is unpinned.
//
// Over TLS the record layer must see the bytes: the body goes through
// crypto/tls from the mapping (setPinnedBody), without a copy of its own.

// fileBody is the body stream of a response from a body file.
type fileBody struct {
	obj      *object.Object
	mem      []byte // the file's mapping, for Read
	fd       int
	off, end int64
}

var fileBodies = sync.Pool{New: func() any { return new(fileBody) }}

// Read copies from the mapping; bufio uses it for the bytes that fit
// behind the headers. It has no WriteTo on purpose: fasthttp would then
// write the body through its buffer instead of asking the connection to
// ReadFrom it.
func (b *fileBody) Read(p []byte) (int, error) {
	if b.off >= b.end {
		return 0, io.EOF
	}
	n := copy(p, b.mem[b.off:b.end])
	b.off += int64(n)
	return n, nil
}

func (b *fileBody) Close() error {
	if b.obj != nil {
		b.obj.Unpin()
	}
	*b = fileBody{}
	fileBodies.Put(b)
	return nil
}

// writeFile answers with a complete body kept in a file; the caller holds
// obj (object.Hold) for the call. Range and HEAD are answered as
// writeObject and writeRange answer them.
func (n *running) writeFile(ctx *fasthttp.RequestCtx, obj *object.Object) {
	body, _ := obj.Complete() // the mapping
	status, start, end := obj.Status, 0, len(body)
	if status == fasthttp.StatusOK && len(ctx.Request.Header.Peek("Range")) > 0 {
		s, e, st := parseRange(b2s(ctx.Request.Header.Peek("Range")), len(body))
		switch st {
		case rangeUnsatisfiable:
			ctx.Response.Header.Set("Content-Range", "bytes */"+strconv.Itoa(len(body)))
			n.liveProblem(ctx, fasthttp.StatusRequestedRangeNotSatisfiable, "unsatisfiable range")
			return
		case rangeOne:
			status, start, end = fasthttp.StatusPartialContent, s, e
			ctx.Response.Header.Set("Content-Range", "bytes "+strconv.Itoa(s)+"-"+strconv.Itoa(e-1)+"/"+strconv.Itoa(len(body)))
		}
	}
	if ctx.IsHead() {
		ctx.SetStatusCode(status)
		n.m.status(status)
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(end - start)
		return
	}
	if !n.pin(ctx, obj) { // over the in-flight budget: 503
		return
	}
	ctx.SetStatusCode(status)
	n.m.status(status)
	n.m.bytesOut.Add(float64(end - start))
	fd, _, ok := obj.BodyFile()
	if _, plain := ctx.Conn().(*trackedConn); plain && ok {
		fb := fileBodies.Get().(*fileBody)
		fb.obj, fb.mem, fb.fd, fb.off, fb.end = obj, body, fd, int64(start), int64(end)
		ctx.SetBodyStream(fb, end-start)
		return
	}
	setPinnedBody(ctx, obj, body[start:end])
}

// sendState is one sendfile run of a connection, kept in the connection
// so that the netpoller callback needs no closure per response.
type sendState struct {
	src  int   // the body file
	off  int64 // next byte of src to send
	left int64
	mark int64 // off when the write deadline was last pushed
	err  error
}

// ReadFrom is where bufio.Writer hands a body once its buffer is empty: a
// fileBody goes out with sendfile, anything else is copied as Write
// would send it.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	src, limit := r, int64(1<<63-1)
	lr, _ := r.(*io.LimitedReader)
	if lr != nil {
		src, limit = lr.R, lr.N
	}
	fb, ok := src.(*fileBody)
	if !ok || !c.canSendFile() {
		return copyPlain(c, r)
	}
	n, err := c.sendFile(fb, limit)
	if lr != nil {
		lr.N -= n
	}
	return n, err
}

// canSendFile reports whether the connection is a socket sendfile can
// write to, getting its raw handle once per connection.
func (c *trackedConn) canSendFile() bool {
	if c.raw != nil {
		return true
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	c.raw, c.sendStep = raw, c.sendfileStep
	return true
}

// sendFile sends fb's remaining bytes (at most limit) in one netpoller
// write: sendfile as long as the socket takes bytes, waiting whenever it
// is full. With http.send_timeout set, the write deadline moves on each
// time sendChunk more bytes went out (sendfileStep), so, as with Write,
// a client that keeps reading is never cut off and one that stops is.
func (c *trackedConn) sendFile(fb *fileBody, limit int64) (int64, error) {
	if fb.off >= fb.end || limit <= 0 {
		return 0, nil
	}
	c.send = sendState{src: fb.fd, off: fb.off, left: min(fb.end-fb.off, limit)}
	if c.l.lim.sendTimeout > 0 {
		c.send.mark = c.send.off
		c.Conn.SetWriteDeadline(time.Now().Add(c.l.lim.sendTimeout))
	}
	err := c.raw.Write(c.sendStep)
	sent := c.send.off - fb.off
	fb.off = c.send.off
	if err == nil {
		err = c.send.err
	}
	return sent, err
}

// sendfileStep runs in the netpoller's Write: it sends until the body is
// done (true) or the socket is full (false: wait until it is writable).
func (c *trackedConn) sendfileStep(fd uintptr) bool {
	s := &c.send
	for s.left > 0 {
		n, err := syscall.Sendfile(int(fd), s.src, &s.off, int(s.left))
		if n > 0 {
			s.left -= int64(n)
		}
		switch {
		case err == syscall.EAGAIN:
			if t := c.l.lim.sendTimeout; t > 0 && s.off-s.mark >= sendChunk {
				s.mark = s.off
				c.Conn.SetWriteDeadline(time.Now().Add(t))
			}
			return false
		case err == syscall.EINTR:
		case err != nil:
			s.err = err
			return true
		case n == 0:
			s.err = io.ErrUnexpectedEOF // the file is shorter than its object says
			return true
		}
	}
	return true
}

var plainBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyPlain copies r to c through Write (deadlines and all).
func copyPlain(c *trackedConn, r io.Reader) (int64, error) {
	bp := plainBufs.Get().(*[]byte)
	defer plainBufs.Put(bp)
	return io.CopyBuffer(writerOnly{c}, r, *bp)
}

// writerOnly hides ReadFrom from io.CopyBuffer.
type writerOnly struct{ io.Writer }
