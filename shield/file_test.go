package shield

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ringside-live/ringside/pkg/object"
)

// bodyOf is a body that names its key in every byte: a body served for
// the wrong key, or from a reused file, cannot pass for the right one.
func bodyOf(key string, n int) []byte {
	b := make([]byte, n)
	h := byte(len(key))
	for i := 0; i < len(key); i++ {
		h = h*31 + key[i]
	}
	for i := range b {
		b[i] = h + byte(i) + byte(i>>8)*3
	}
	return b
}

func bodyFetcher(size int) *fakeFetcher {
	return &fakeFetcher{answer: func(r Request, _ int) (*Response, error) {
		b := bodyOf(r.Key, size)
		return &Response{Status: 200, ContentLength: int64(len(b)), Body: io.NopCloser(bytes.NewReader(b)), Source: "origin"}, nil
	}}
}

// TestLargeBodiesKeptInFiles: a large segment is cached as a body file,
// a small one and a playlist on the heap; the bytes held are counted in
// whole pages for files.
func TestLargeBodiesKeptInFiles(t *testing.T) {
	s := newTestShield(t, bodyFetcher(200_000), nil)
	obj, _, err := s.Get(context.Background(), seg("big.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if readAll(t, obj) != string(bodyOf("/live/ev/big.ts", 200_000)) {
		t.Fatal("first response differs")
	}
	hit, ok := s.Hit(seg("big.ts"))
	if !ok || !hit.InFile() {
		t.Skip("body files unavailable here (not Linux?)")
	}
	if got, _ := hit.Complete(); !bytes.Equal(got, bodyOf("/live/ev/big.ts", 200_000)) {
		t.Fatal("cached file differs")
	}
	if s.Bytes() != 200_704 { // 49 pages
		t.Fatalf("cache holds %d bytes, want 200704", s.Bytes())
	}
	small := newTestShield(t, bodyFetcher(1000), nil)
	o, _, _ := small.Get(context.Background(), seg("small.ts"))
	readAll(t, o) // complete, so cached
	if o, ok := small.Hit(seg("small.ts")); !ok || o.InFile() {
		t.Fatal("a small body went to a file")
	}
}

// TestFileBodiesUnderEvictionAndPurge: clients read cached segments
// through their files (as sendfile does) while a cache smaller than the
// set evicts them and purges run; every body read is its key's own, and
// every file is closed once the shield is.
func TestFileBodiesUnderEvictionAndPurge(t *testing.T) {
	const size, keys = 100_000, 24
	n0, _ := object.FilesOpen()
	cfg := DefaultConfig()
	cfg.MaxBytes = 8 * size // a third of the set
	s, err := New(cfg, bodyFetcher(size), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	budget := object.NewBudget(0)
	var bad, reads, released atomic.Int64
	var wg sync.WaitGroup
	for c := range 6 {
		wg.Go(func() {
			buf := make([]byte, size)
			for i := range 150 {
				key := fmt.Sprintf("s%d.ts", (i*7+c*5)%keys)
				r := seg(key)
				obj, _, err := s.Get(context.Background(), r)
				if err != nil {
					bad.Add(1)
					continue
				}
				if !obj.InFile() {
					if got, _ := io.ReadAll(obj.NewReader(context.Background(), nil)); !bytes.Equal(got, bodyOf(r.Key, size)) {
						bad.Add(1)
					}
					continue
				}
				if err := obj.Pin(budget); errors.Is(err, object.ErrReleased) {
					released.Add(1) // dropped between lookup and pin: the node looks again
					continue
				}
				fd, n, _ := obj.BodyFile()
				if m, err := syscall.Pread(fd, buf[:n], 0); err != nil || m != size || !bytes.Equal(buf, bodyOf(r.Key, size)) {
					bad.Add(1)
				}
				reads.Add(1)
				obj.Unpin()
			}
		})
	}
	wg.Go(func() {
		for i := range 60 {
			if i%10 == 9 {
				s.Purge("/live/ev/")
			} else {
				s.Purge(fmt.Sprintf("/live/ev/s%d.ts", i%keys))
			}
		}
	})
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d wrong bodies (%d file reads, %d released before pin)", bad.Load(), reads.Load(), released.Load())
	}
	if reads.Load() == 0 {
		t.Skip("body files unavailable here")
	}
	if budget.Used() != 0 {
		t.Fatalf("budget holds %d after every response", budget.Used())
	}
	s.Close()
	if n, _ := object.FilesOpen(); n != n0 {
		t.Fatalf("%d body files open after Close, want %d", n, n0)
	}
}

// TestArrivingBodyThenFile: waiters stream a body as it arrives (from the
// heap); once complete, the cache holds a file copy and later requests
// get it, while the first waiters finish from the heap.
func TestArrivingBodyThenFile(t *testing.T) {
	const size = 300_000
	body := bodyOf("/live/ev/slow.ts", size)
	pr, pw := io.Pipe()
	f := &fakeFetcher{answer: func(Request, int) (*Response, error) {
		return &Response{Status: 200, ContentLength: size, Body: pr, Source: "origin"}, nil
	}}
	s := newTestShield(t, f, nil)
	obj, _, err := s.Get(context.Background(), seg("slow.ts"))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(obj.NewReader(context.Background(), nil))
		got <- b
	}()
	pw.Write(body[:size/3])
	if _, ok := s.Hit(seg("slow.ts")); ok {
		t.Fatal("a body still arriving was a hit")
	}
	pw.Write(body[size/3:])
	pw.Close()
	if b := <-got; !bytes.Equal(b, body) {
		t.Fatal("the streaming waiter got other bytes")
	}
	hit, ok := s.Hit(seg("slow.ts"))
	if !ok {
		t.Fatal("not cached after completion")
	}
	if c, _ := hit.Complete(); !bytes.Equal(c, body) {
		t.Fatal("cached copy differs")
	}
	if f.count("/live/ev/slow.ts") != 1 {
		t.Fatal("refetched")
	}
}
