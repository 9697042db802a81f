package shield

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func BenchmarkGetHit(b *testing.B) {
	body := strings.Repeat("x", 1<<20)
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) { return ok(body), nil }}
	s, _ := New(DefaultConfig(), f, Deps{})
	defer s.Close()
	r := seg("0/index7.ts")
	ctx := context.Background()
	o, _, _ := s.Get(ctx, r)
	o.WaitDone(ctx) // stored before the body is marked complete
	b.ReportAllocs()
	for b.Loop() {
		if _, out, _ := s.Get(ctx, r); out != Hit {
			b.Fatal("not a hit")
		}
	}
}

// BenchmarkCoalescedMiss: 64 concurrent requests for each new key, one
// upstream fetch per key; reports the cost per request.
func BenchmarkCoalescedMiss(b *testing.B) {
	body := strings.Repeat("x", 64<<10)
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) { return ok(body), nil }}
	s, _ := New(DefaultConfig(), f, Deps{})
	defer s.Close()
	ctx := context.Background()
	const fan = 64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := seg(fmt.Sprintf("0/index%d.ts", i))
		var wg sync.WaitGroup
		for range fan {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, _, err := s.Get(ctx, r)
				if err != nil {
					b.Error(err)
					return
				}
				o.WaitDone(ctx)
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(fan), "waiters/op")
}
