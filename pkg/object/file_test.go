package object

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

func fileBody(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7) + byte(i>>11)
	}
	return b
}

func newFileT(t testing.TB, body []byte) *Object {
	t.Helper()
	o, err := NewFile(Meta{Status: 200}, body)
	if err != nil {
		t.Skipf("no body files here: %v", err)
	}
	return o
}

// pread reads the body through its file, as sendfile would.
func pread(t testing.TB, o *Object) []byte {
	t.Helper()
	fd, size, ok := o.BodyFile()
	if !ok {
		t.Fatal("no body file")
	}
	got := make([]byte, size)
	if n, err := syscall.Pread(fd, got, 0); err != nil || n != size {
		t.Fatalf("pread: %d %v", n, err)
	}
	return got
}

func TestFileBody(t *testing.T) {
	body := fileBody(300_001, 3)
	o := newFileT(t, body)
	defer o.Release()
	if !o.InFile() || o.Len() != len(body) || o.Cap() != 303_104 { // 74 pages
		t.Fatalf("InFile %v Len %d Cap %d", o.InFile(), o.Len(), o.Cap())
	}
	got, ok := o.Complete()
	if !ok || !bytes.Equal(got, body) {
		t.Fatal("mapping differs from the body")
	}
	if !bytes.Equal(pread(t, o), body) {
		t.Fatal("file differs from the body")
	}
	// Sealed: nobody, not even this process, can write it.
	fd, _, _ := o.BodyFile()
	if _, err := syscall.Pwrite(fd, []byte("x"), 0); err == nil {
		t.Fatal("the body file took a write")
	}
	body[0] ^= 0xff // the caller's buffer is not the object's
	if got[0] == body[0] {
		t.Fatal("NewFile kept the caller's buffer")
	}
}

// TestFileLifetime: the file lives while the cache, a response or the
// creator holds it, and a response that pinned it reads it whole after
// the cache dropped it; once released it cannot be pinned again.
func TestFileLifetime(t *testing.T) {
	n0, b0 := FilesOpen()
	body := fileBody(1<<20, 9)
	o := newFileT(t, body)
	b := NewBudget(0)
	o.Cached(+1)
	o.Release() // the cache is the only holder
	if n, bytes := FilesOpen(); n != n0+1 || bytes != b0+1<<20 {
		t.Fatalf("open files %d (%d bytes), want %d (%d)", n, bytes, n0+1, b0+1<<20)
	}
	if err := o.Pin(b); err != nil {
		t.Fatal(err)
	}
	if !o.Hold() {
		t.Fatal("Hold of a held file failed")
	}
	o.Cached(-1) // evicted while a response sends it
	if b.Used() != 1<<20 {
		t.Fatalf("budget holds %d, want the pages of the body", b.Used())
	}
	if !bytes.Equal(pread(t, o), body) {
		t.Fatal("body changed after eviction")
	}
	o.Drop()
	o.Unpin()
	if b.Used() != 0 {
		t.Fatalf("budget holds %d after the last response", b.Used())
	}
	if n, _ := FilesOpen(); n != n0 {
		t.Fatalf("open files %d after the last holder, want %d", n, n0)
	}
	if err := o.Pin(b); !errors.Is(err, ErrReleased) {
		t.Fatalf("Pin after release: %v, want ErrReleased", err)
	}
	if o.Hold() {
		t.Fatal("Hold after release succeeded")
	}
}

// TestFileConcurrentEviction: readers pin, read through the file and
// verify while the cache drops the object and others take new ones; a
// reader that pinned always reads the object's own bytes, and every file
// is released in the end.
func TestFileConcurrentEviction(t *testing.T) {
	n0, _ := FilesOpen()
	b := NewBudget(0)
	var bad, served atomic.Int64
	for round := range 40 {
		body := fileBody(64<<10+round*513, byte(round))
		o := newFileT(t, body)
		o.Cached(+1)
		o.Release()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					if err := o.Pin(b); err != nil {
						if !errors.Is(err, ErrReleased) {
							bad.Add(1)
						}
						return
					}
					fd, size, _ := o.BodyFile()
					got := make([]byte, size)
					if n, err := syscall.Pread(fd, got, 0); err != nil || n != size || !bytes.Equal(got, body) {
						bad.Add(1)
					}
					served.Add(1)
					o.Unpin()
				}
			})
		}
		o.Cached(-1) // eviction or purge, racing with the readers
		wg.Wait()
		if o.Hold() {
			t.Fatal("the file outlived its last holder")
		}
	}
	if bad.Load() != 0 {
		t.Fatalf("%d bad reads of %d", bad.Load(), served.Load())
	}
	if n, _ := FilesOpen(); n != n0 || b.Used() != 0 {
		t.Fatalf("open files %d (want %d), budget %d", n, n0, b.Used())
	}
}
