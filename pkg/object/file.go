package object

import (
	"errors"
	"runtime"
	"sync/atomic"
)

// A complete body can be kept in a file instead of on the Go heap: an
// anonymous, sealed in-memory file (memfd on Linux), one per object, mapped
// read-only into the process. The kernel then sends it to a plain TCP
// socket with sendfile(2), attaching the file's pages to the socket
// without copying them, as nginx does from its page cache; Complete, Wait
// and readers see the same pages through the mapping (TLS encrypts straight
// from them).
//
// One file per object rather than slabs per size class: nothing is ever
// reused, so no response can send bytes of another object. The file is
// closed and unmapped only when its last holder lets go: the cache
// (Cached), the responses sending it (Pin, Hold) and its creator (Release).
// The kernel seals it after writing (no write, grow or shrink), so the
// bytes a response sends are the bytes the object was made with. A file
// takes whole pages: the waste is under 4 KiB an object, where size
// classes lose up to a class step.

// ErrReleased: the object's file was closed (the cache dropped it and no
// response held it) before this caller took hold of it; look it up again.
var ErrReleased = errors.New("object: body file released")

// fileMem is an object's body file. It does not point back to its object,
// so the object's cleanup can close it if the holders' count ever leaks.
type fileMem struct {
	fd   int
	mem  []byte // the read-only mapping, len = body length
	size int    // bytes the file takes: the body rounded up to whole pages
	done atomic.Bool
}

// filesOpen counts the body files of every object not yet released, for
// tests and metrics.
var filesOpen atomic.Int64

// FilesOpen is the number of body files (and their bytes) open in the
// process: bodies kept for sendfile that are not yet released.
func FilesOpen() (n int64, bytes int64) { return filesOpen.Load(), fileBytes.Load() }

var fileBytes atomic.Int64

func (f *fileMem) free() {
	if f.done.Swap(true) {
		return
	}
	filesOpen.Add(-1)
	fileBytes.Add(-int64(f.size))
	unmapClose(f.fd, f.mem)
}

// NewFile returns a complete object whose body is a copy of body kept in
// a sealed in-memory file (see above), held by the caller until Release.
// Where the system has no such files, or making one fails, err says so
// and the caller keeps its heap object.
func NewFile(meta Meta, body []byte) (*Object, error) {
	f, err := newFileMem(body)
	if err != nil {
		return nil, err
	}
	filesOpen.Add(1)
	fileBytes.Add(int64(f.size))
	o := &Object{Meta: meta, data: f.mem, done: true, wake: closedChan, file: f}
	o.holds.refs = 1
	// If a holder never lets go, the object's garbage collection still
	// returns the file's memory.
	runtime.AddCleanup(o, func(f *fileMem) { f.free() }, f)
	return o, nil
}

// InFile reports whether the body is kept in a file (NewFile).
func (o *Object) InFile() bool { return o.file != nil }

// BodyFile returns the body's file descriptor and length, for sendfile.
// Valid only while the caller holds the object (Pin or Hold); ok is false
// for a body on the heap.
func (o *Object) BodyFile() (fd int, size int, ok bool) {
	if o.file == nil {
		return -1, 0, false
	}
	return o.file.fd, len(o.file.mem), true
}

// Hold takes a reference to a file-backed body without counting it
// against a budget (a HEAD, a check); false when the file is already
// released. For a heap body it always succeeds. Each true needs one Drop.
func (o *Object) Hold() bool {
	if o.file == nil {
		return true
	}
	h := &o.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refs <= 0 {
		return false
	}
	h.refs++
	return true
}

// Drop gives back a Hold.
func (o *Object) Drop() {
	if o.file == nil {
		return
	}
	o.holds.mu.Lock()
	o.unref()
}

// Release gives back the creator's reference (NewFile): after it, the
// cache and the responses are the only holders.
func (o *Object) Release() { o.Drop() }

// unref drops one reference with holds.mu held, and unlocks it; at zero
// the file is freed.
func (o *Object) unref() {
	h := &o.holds
	h.refs--
	last := h.refs == 0
	h.mu.Unlock()
	if last {
		o.file.free()
	}
}

// pageSize rounds file sizes to what the kernel allocates.
const pageSize = 4096

func pages(n int) int { return (n + pageSize - 1) &^ (pageSize - 1) }
