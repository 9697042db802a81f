package object

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ringside-live/ringside/pkg/segment"
)

// ErrAborted is returned to readers when the writer gave up before the body
// was complete (an encoder disconnected, an upstream fetch failed).
var ErrAborted = errors.New("object: body aborted before completion")

// Meta is the response metadata of an object. It never changes after New.
type Meta struct {
	Status       int
	Kind         segment.FileKind
	ContentType  string
	CacheControl string
	// Gzip is the gzip-compressed body, for playlists only; set only on
	// objects made complete with NewComplete.
	Gzip []byte
	// Source names the tier or node the bytes came from, for the hop header
	// and logs ("origin", "ingest", "shield:n2").
	Source string
}

// Object is a response whose body may still be arriving.
type Object struct {
	Meta

	mu   sync.Mutex
	data []byte
	done bool
	err  error
	// wake is closed and replaced on every append or completion; readers
	// wait on the channel they saw under mu, so no wake-up is missed.
	wake chan struct{}

	holds holds // who keeps the body in memory (see hold.go)

	// file, when set, holds the body (data is its mapping): see file.go.
	file *fileMem
}

// New returns an open object; sizeHint preallocates the body (0 if unknown).
// The hint is allocated at once, before a byte arrived: pass only a size
// the caller trusts or has accounted for, never a length a client merely
// declared. A writer that accounts memory passes 0 and sizes the buffer
// itself with SetCap.
func New(meta Meta, sizeHint int) *Object {
	if sizeHint < 0 || sizeHint > 64<<20 {
		sizeHint = 0
	}
	return &Object{Meta: meta, data: make([]byte, 0, sizeHint), wake: make(chan struct{})}
}

// NewComplete returns a finished object with body (not copied).
func NewComplete(meta Meta, body []byte) *Object {
	return &Object{Meta: meta, data: body, done: true, wake: closedChan}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Write appends p to the body and wakes the readers. It copies p, growing
// the buffer as append does when it has no room left; a writer that called
// SetCap beforehand knows Write does not allocate.
func (o *Object) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o.mu.Lock()
	if o.done {
		o.mu.Unlock()
		return 0, fmt.Errorf("object: write after close")
	}
	o.data = append(o.data, p...)
	w := o.wake
	o.wake = make(chan struct{})
	o.mu.Unlock()
	close(w)
	return len(p), nil
}

// Cap is the capacity of the body buffer: the body bytes held in memory,
// received or not (for a body in a file, the whole pages it takes).
func (o *Object) Cap() int {
	if o.file != nil {
		return o.file.size
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return cap(o.data)
}

// SetCap moves the body into a buffer of capacity exactly c (never less
// than Len), so a writer that accounts memory decides every allocation:
// it grows the buffer before writing and gives the slack back before
// Close. Nothing happens when the capacity already is c. Readers keep
// the slices they were given: the bytes in them never change.
func (o *Object) SetCap(c int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c = max(c, len(o.data))
	if c == cap(o.data) {
		return
	}
	data := make([]byte, len(o.data), c)
	copy(data, o.data)
	o.data = data
}

// Close marks the body complete.
func (o *Object) Close() error { o.finish(nil); return nil }

// Fail marks the body as aborted; readers that have not seen the end get an
// error wrapping ErrAborted and err.
func (o *Object) Fail(err error) {
	if err == nil {
		err = ErrAborted
	}
	o.finish(fmt.Errorf("%w: %w", ErrAborted, err))
}

func (o *Object) finish(err error) {
	o.mu.Lock()
	if o.done {
		o.mu.Unlock()
		return
	}
	o.done, o.err = true, err
	w := o.wake
	o.wake = closedChan
	o.mu.Unlock()
	close(w)
}

// Done reports whether the body is complete (or failed).
func (o *Object) Done() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done
}

// Complete returns the whole body when it finished successfully. For a
// body kept in a file (NewFile) the bytes are its mapping: valid while the
// caller (or the cache) holds the object.
func (o *Object) Complete() ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.data, o.done && o.err == nil
}

// Len is the number of body bytes received so far.
func (o *Object) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.data)
}

// Wait returns the body bytes from off on, blocking until there is at least
// one or the body ended. At the end it returns io.EOF (or the abort error).
// The returned slice must not be modified; it stays valid forever because
// the body is append-only.
func (o *Object) Wait(ctx context.Context, off int) ([]byte, error) {
	for {
		o.mu.Lock()
		data, done, err, wake := o.data, o.done, o.err, o.wake
		o.mu.Unlock()
		if off < len(data) {
			return data[off:], nil
		}
		if done {
			if err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("object: waiting for body: %w", context.Cause(ctx))
		}
	}
}

// WaitDone blocks until the body is complete and returns it.
func (o *Object) WaitDone(ctx context.Context) ([]byte, error) {
	for {
		o.mu.Lock()
		data, done, err, wake := o.data, o.done, o.err, o.wake
		o.mu.Unlock()
		if done {
			return data, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("object: waiting for body: %w", context.Cause(ctx))
		}
	}
}

// Reader reads the body from the start, following it while it grows.
type Reader struct {
	o      *Object
	ctx    context.Context
	cancel context.CancelFunc
	off    int
}

// NewReader returns a reader bound to ctx; cancel (may be nil) is called by
// Close, so a reader can own a timeout context.
func (o *Object) NewReader(ctx context.Context, cancel context.CancelFunc) *Reader {
	return &Reader{o: o, ctx: ctx, cancel: cancel}
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.o.Wait(r.ctx, r.off)
	if err != nil {
		return 0, err
	}
	n := copy(p, b)
	r.off += n
	return n, nil
}

// Close releases the reader's context.
func (r *Reader) Close() error {
	if r.cancel != nil {
		r.cancel()
	}
	return nil
}

var _ io.ReadCloser = (*Reader)(nil)
