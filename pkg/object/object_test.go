package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

func TestReadersFollowWriter(t *testing.T) {
	o := New(Meta{Status: 200}, 0)
	const readers = 50
	var wg sync.WaitGroup
	got := make([][]byte, readers)
	firstSeen := make(chan struct{}, readers)
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := o.NewReader(context.Background(), nil)
			buf := make([]byte, 3)
			var out []byte
			for {
				n, err := r.Read(buf)
				if n > 0 && len(out) == 0 {
					firstSeen <- struct{}{}
				}
				out = append(out, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
			}
			got[i] = out
		}()
	}
	o.Write([]byte("hello "))
	// Every reader sees the first bytes before the body is complete.
	for range readers {
		<-firstSeen
	}
	if o.Done() {
		t.Fatal("done before Close")
	}
	o.Write([]byte("world"))
	o.Close()
	wg.Wait()
	for i, b := range got {
		if string(b) != "hello world" {
			t.Fatalf("reader %d got %q", i, b)
		}
	}
}

func TestFailAndCancel(t *testing.T) {
	o := New(Meta{}, 0)
	o.Write([]byte("part"))
	ctx, cancel := context.WithCancel(context.Background())
	r := o.NewReader(ctx, cancel)
	buf := make([]byte, 10)
	if n, err := r.Read(buf); n != 4 || err != nil {
		t.Fatalf("read = %d, %v", n, err)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	o.Fail(errors.New("encoder went away"))
	_, err := o.Wait(context.Background(), 4)
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("after fail: %v", err)
	}
	if _, ok := o.Complete(); ok {
		t.Fatal("failed object reported complete")
	}
	if _, err := o.Write([]byte("x")); err == nil {
		t.Fatal("write after fail accepted")
	}
}

func TestWaitDoneTimeout(t *testing.T) {
	o := New(Meta{}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := o.WaitDone(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	c := NewComplete(Meta{}, []byte("abc"))
	b, err := c.WaitDone(context.Background())
	if err != nil || !bytes.Equal(b, []byte("abc")) {
		t.Fatalf("complete: %q %v", b, err)
	}
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		kind segment.FileKind
		td   int
		want string
	}{
		{segment.KindPlaylist, 2, "public, max-age=0"},
		{segment.KindPlaylist, 4, "public, max-age=1"},
		{segment.KindPlaylist, 6, "public, max-age=2"},
		{segment.KindPlaylist, 0, "public, max-age=0"},
		{segment.KindSegment, 2, "public, max-age=86400, immutable"},
		{segment.KindInit, 2, "public, max-age=86400, immutable"},
	}
	for _, tt := range tests {
		if got := CacheControl(tt.kind, tt.td); got != tt.want {
			t.Errorf("CacheControl(%v, %d) = %q, want %q", tt.kind, tt.td, got, tt.want)
		}
	}
	for td := 1; td < 20; td++ {
		if ttl := PlaylistTTL(td); ttl >= time.Duration(td)*time.Second/2 {
			t.Errorf("PlaylistTTL(%d) = %v, not below half", td, ttl)
		}
	}
}

func BenchmarkWriteAndRead(b *testing.B) {
	b.ReportAllocs()
	chunk := make([]byte, 32<<10)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		o := New(Meta{}, 1<<20)
		r := o.NewReader(context.Background(), nil)
		for range 32 {
			o.Write(chunk)
			r.Read(buf)
		}
		o.Close()
	}
}

// SetCap lets a writer that accounts memory decide every allocation: Write
// into reserved room does not reallocate, and trimming keeps what readers
// were given.
func TestSetCap(t *testing.T) {
	o := New(Meta{}, 0)
	if o.Cap() != 0 {
		t.Fatalf("new object holds %d bytes", o.Cap())
	}
	o.SetCap(8)
	o.Write([]byte("hello"))
	if o.Cap() != 8 || o.Len() != 5 {
		t.Fatalf("after writing into room: cap %d len %d", o.Cap(), o.Len())
	}
	seen, err := o.Wait(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	o.SetCap(2) // never below Len: trims the slack
	if o.Cap() != 5 {
		t.Fatalf("trimmed cap %d, want 5", o.Cap())
	}
	o.SetCap(64)
	o.Write([]byte(" world"))
	o.Close()
	o.SetCap(0)
	if b, ok := o.Complete(); !ok || string(b) != "hello world" || cap(b) != len(b) {
		t.Fatalf("body %q (cap %d), complete %v", b, cap(b), ok)
	}
	if string(seen) != "hello" {
		t.Fatalf("a reader's slice changed to %q", seen)
	}
}
