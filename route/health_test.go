package route

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// clock is a settable clock for peer health.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var errNoAnswer = errors.New("dial tcp: i/o timeout")

func TestPeerHealth(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	h := newPeerHealth(2, 5*time.Second, c.now)
	ctx := context.Background()
	ids := []string{"a", "b", "c"}

	if h.result(ctx, "a", errNoAnswer) || h.down("a") {
		t.Fatal("down after one failure")
	}
	if got := h.order(ids); !slices.Equal(got, ids) {
		t.Fatalf("order %v with nobody down", got)
	}
	if !h.result(ctx, "a", errNoAnswer) || !h.down("a") {
		t.Fatal("not down after two failures in a row")
	}
	if got := h.order(ids); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Fatalf("order %v, want the down peer last", got)
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatal("order changed its argument")
	}

	// Failures of the caller's own context say nothing about the peer.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 3 {
		h.result(cancelled, "b", errNoAnswer)
		h.result(ctx, "b", context.Canceled)
	}
	if h.down("b") {
		t.Fatal("a peer marked down by the caller's cancellations")
	}

	// An answer heals at once.
	h.result(ctx, "a", nil)
	if h.down("a") || len(h.peers) != 0 {
		t.Fatalf("still down after an answer (%d tracked)", len(h.peers))
	}

	// Down for DownFor only; after it, one more failure is enough.
	h.result(ctx, "c", errNoAnswer)
	h.result(ctx, "c", errNoAnswer)
	c.add(5 * time.Second)
	if h.down("c") {
		t.Fatal("still down after DownFor")
	}
	if got := h.order(ids); !slices.Equal(got, ids) {
		t.Fatalf("order %v after DownFor", got)
	}
	if !h.result(ctx, "c", errNoAnswer) || !h.down("c") {
		t.Fatal("a peer that failed again after DownFor is not down again")
	}
	if got := h.order([]string{"c", "a", "c2"}); !slices.Equal(got, []string{"a", "c2", "c"}) {
		t.Fatalf("order %v", got)
	}

	var off *peerHealth
	if off.result(ctx, "a", errNoAnswer) || off.down("a") || !slices.Equal(off.order(ids), ids) {
		t.Fatal("a nil peerHealth must do nothing")
	}
	if newPeerHealth(0, time.Second, c.now).result(ctx, "a", errNoAnswer) {
		t.Fatal("DownAfter 0 must turn it off")
	}
}

// TestFetchSkipsADownOwner: an owner that does not answer (header
// timeout) costs the first two misses a timeout each; then it is asked
// last, so the next owner answers at once; after DownFor it is asked
// first again, and its answer heals it. A fill skips it while it is down.
func TestFetchSkipsADownOwner(t *testing.T) {
	const body = "segment-bytes"
	var hanging atomic.Bool
	hanging.Store(true)
	owner := func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		serve(body)(w, r)
	}
	f, peers, order := fetcher(t, sources{}, owner, serve(body), serve("x"))
	c := &clock{t: time.Unix(1e9, 0)}
	f.health.now = c.now
	fetch := func() string {
		t.Helper()
		resp, err := f.Fetch(context.Background(), req())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Source
	}
	for i := range 2 {
		if src := fetch(); src != order[1] {
			t.Fatalf("miss %d answered by %s, want the second owner %s", i, src, order[1])
		}
	}
	if n := peers[0].calls.Load(); n != 2 {
		t.Fatalf("the owner was asked %d times, want 2", n)
	}
	for range 5 {
		if src := fetch(); src != order[1] {
			t.Fatalf("answered by %s while the owner is down", src)
		}
	}
	if n := peers[0].calls.Load(); n != 2 {
		t.Fatalf("the down owner was asked %d times, want still 2", n)
	}

	// A fill skips the down owner.
	o := object.NewComplete(object.Meta{Status: 200, Kind: segment.KindSegment}, []byte(body))
	f.Fill(context.Background(), "ev", "0/seg1.ts", o)
	if n := peers[0].calls.Load(); n != 2 {
		t.Fatalf("a fill went to the down owner (%d calls)", n)
	}

	// After DownFor the owner is asked first again; it answers: healed.
	c.add(5 * time.Second)
	hanging.Store(false)
	if src := fetch(); src != order[0] {
		t.Fatalf("answered by %s after DownFor, want the owner %s", src, order[0])
	}
	if f.health.down(order[0]) || len(f.health.peers) != 0 {
		t.Fatal("the owner that answered is still tracked as down")
	}
}

func BenchmarkPeerOrder(b *testing.B) {
	h := newPeerHealth(2, 5*time.Second, time.Now)
	ids := []string{"a", "b", "c"}
	b.Run("none down", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			h.order(ids)
		}
	})
	h.result(context.Background(), "a", errNoAnswer)
	h.result(context.Background(), "a", errNoAnswer)
	b.Run("owner down", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			h.order(ids)
		}
	})
}
