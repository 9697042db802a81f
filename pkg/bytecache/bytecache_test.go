package bytecache

import (
	"fmt"
	"testing"
	"time"
)

func TestSetGetDelPrefix(t *testing.T) {
	c, err := New[string](1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 10 {
		c.Set(fmt.Sprintf("/live/a/%d.ts", i), "a", 100, 0)
		c.Set(fmt.Sprintf("/live/b/%d.ts", i), "b", 100, 0)
	}
	if got := c.Bytes(); got != 2000 {
		t.Fatalf("bytes = %d, want 2000", got)
	}
	if v, ok := c.Get("/live/a/3.ts"); !ok || v != "a" {
		t.Fatalf("get = %q %v", v, ok)
	}
	if n := c.DelPrefix("/live/a/"); n != 10 {
		t.Fatalf("DelPrefix removed %d, want 10", n)
	}
	if _, ok := c.Get("/live/a/3.ts"); ok {
		t.Fatal("purged key still there")
	}
	if _, ok := c.Get("/live/b/3.ts"); !ok {
		t.Fatal("other prefix purged")
	}
	if got := c.Bytes(); got != 1000 {
		t.Fatalf("bytes after purge = %d, want 1000", got)
	}
	// Replacing a key keeps the count exact.
	c.Set("/live/b/3.ts", "b2", 300, 0)
	if got := c.Bytes(); got != 1200 {
		t.Fatalf("bytes after replace = %d, want 1200", got)
	}
}

func TestBoundedByBytes(t *testing.T) {
	c, err := New[int](10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 200 {
		c.Set(fmt.Sprint(i), i, 1000, time.Minute)
	}
	if got := c.Bytes(); got > 10_000 {
		t.Fatalf("holds %d bytes, bound is 10000", got)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c, _ := New[[]byte](1 << 20)
	defer c.Close()
	c.Set("/live/ev/0/index12.ts", make([]byte, 1000), 1000, 0)
	key := "/live/ev/0/index12.ts"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(key); !ok {
			b.Fatal("miss")
		}
	}
}

// TestWritesAfterClose: a write racing with Close (a request finishing
// while its node shuts down) is dropped, not a panic or a race.
func TestWritesAfterClose(t *testing.T) {
	c, err := New[string](1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			c.Set("k", "v", 1, time.Minute)
			c.Del("k")
			c.DelPrefix("k")
			_ = i
		}
	}()
	c.Close()
	<-done
	if c.Set("k", "v", 1, time.Minute) {
		t.Fatal("a Set after Close was taken")
	}
	c.Close() // twice is fine
}
