package llcrowd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection of one player to one host,
// used by one goroutine at a time. It sends GETs only and reads each
// answer whole; a connection the server closed while idle is redialled
// once.
type conn struct {
	addr string // host:port
	mu   sync.Mutex
	nc   net.Conn
	br   *bufio.Reader
	req  []byte
	dead bool // closed for good (the run ended)
}

func newConn(addr string) *conn { return &conn{addr: addr} }

// exchange is the timing of one request.
type exchange struct {
	status int
	// sent, first and done: the request written, the first body byte (or
	// the headers of an empty body) read, the body read whole.
	sent, first, done time.Time
	bytes             int64
	errBody           *limitedBuffer // the start of a body that is not a 200's
	// cacheInfo is the answer's X-Cache and Age headers, for error samples.
	cacheInfo string
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	if l == nil {
		return ""
	}
	return string(l.b)
}

// errClosed: the connection was closed for good.
var errClosed = errors.New("llcrowd: connection closed")

// get sends GET target (path and query) and copies the body of a 200 to
// sink. The whole exchange must end by deadline.
func (c *conn) get(target string, deadline time.Time, sink io.Writer, buf []byte) (exchange, error) {
	for attempt := 0; ; attempt++ {
		nc, reused, err := c.ensure(deadline)
		if err != nil {
			return exchange{}, err
		}
		ex, err := c.roundTrip(nc, target, deadline, sink, buf)
		if err == nil {
			return ex, nil
		}
		c.drop(nc)
		// A kept-alive connection the server closed in the meantime fails
		// before any byte of the answer: try once on a new one.
		if reused && attempt == 0 && ex.status == 0 && ex.first.IsZero() && staleConnError(err) {
			continue
		}
		return ex, err
	}
}

// isTimeout reports whether err is a deadline that passed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// staleConnError reports whether err is what a write to, or a read from,
// a connection the peer already closed gives.
func staleConnError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// ensure dials when there is no connection; reused says there was one.
func (c *conn) ensure(deadline time.Time) (nc net.Conn, reused bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, false, errClosed
	}
	if c.nc != nil {
		return c.nc, true, nil
	}
	d := net.Dialer{Deadline: deadline, Timeout: 5 * time.Second}
	if nc, err = d.Dial("tcp", c.addr); err != nil {
		return nil, false, err
	}
	c.nc = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 4<<10)
	} else {
		c.br.Reset(nc)
	}
	return nc, false, nil
}

func (c *conn) roundTrip(nc net.Conn, target string, deadline time.Time, sink io.Writer, buf []byte) (exchange, error) {
	var ex exchange
	if err := nc.SetDeadline(deadline); err != nil {
		return ex, err
	}
	c.req = append(c.req[:0], "GET "...)
	c.req = append(c.req, target...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nUser-Agent: llcrowd\r\nAccept: */*\r\n\r\n"...)
	ex.sent = time.Now()
	if _, err := nc.Write(c.req); err != nil {
		return ex, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return ex, err
	}
	defer resp.Body.Close()
	ex.status = resp.StatusCode
	ex.cacheInfo = "X-Cache: " + resp.Header.Get("X-Cache") + ", Age: " + resp.Header.Get("Age")
	if ex.status != http.StatusOK {
		// Only a 200's body goes to sink; the start of another is kept
		// for the error samples.
		ex.errBody = &limitedBuffer{max: 200}
		sink = ex.errBody
	}
	n, err := resp.Body.Read(buf)
	for n == 0 && err == nil {
		n, err = resp.Body.Read(buf)
	}
	ex.first = time.Now()
	if n > 0 {
		_, _ = sink.Write(buf[:n])
	}
	ex.bytes = int64(n)
	if err == nil {
		var m int64
		m, err = io.CopyBuffer(sink, onlyReader{resp.Body}, buf)
		ex.bytes += m
	}
	ex.done = time.Now()
	if err != nil && err != io.EOF {
		return ex, fmt.Errorf("body after %d bytes: %w", ex.bytes, err)
	}
	if resp.Close {
		c.drop(nc)
	}
	return ex, nil
}

// onlyReader hides WriterTo so that io.CopyBuffer uses the given buffer.
type onlyReader struct{ io.Reader }

// drop closes nc; the next get dials again.
func (c *conn) drop(nc net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = nc.Close()
	if c.nc == nc {
		c.nc = nil
	}
}

// close closes the connection for good, interrupting a request in flight.
func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}
