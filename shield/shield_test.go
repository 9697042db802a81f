package shield

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"

	"github.com/ringside-live/ringside/pkg/poll"
)

// fakeFetcher answers from a table; each answer may stream its body
// through a gate so a test can hold the upstream mid-body.
type fakeFetcher struct {
	mu    sync.Mutex
	calls map[string]int
	reqs  []Request
	// answer builds the response for the n-th call (from 1) of a key.
	answer func(r Request, n int) (*Response, error)
}

func (f *fakeFetcher) Fetch(ctx context.Context, r Request) (*Response, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[r.Key]++
	n := f.calls[r.Key]
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	return f.answer(r, n)
}

func (f *fakeFetcher) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func ok(body string) *Response {
	return &Response{Status: 200, ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)), Source: "origin"}
}

func newTestShield(t *testing.T, f Fetcher, now func() time.Time) *Shield {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MaxBytes = 16 << 20
	s, err := New(cfg, f, Deps{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func seg(key string) Request {
	return Request{Key: "/live/ev/" + key, Event: "ev", Path: key, Kind: segment.KindSegment}
}

func readAll(t *testing.T, o *object.Object) string {
	t.Helper()
	b, err := io.ReadAll(o.NewReader(context.Background(), nil))
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestCoalescingStreamsToEveryWaiter(t *testing.T) {
	pr, pw := io.Pipe()
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) {
		return &Response{Status: 200, ContentLength: -1, Body: pr, Source: "origin"}, nil
	}}
	s := newTestShield(t, f, nil)
	const waiters = 200
	var wg sync.WaitGroup
	var firstBytes atomic.Int32
	bodies := make([]string, waiters)
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := s.Get(context.Background(), seg("0/a.ts"))
			if err != nil {
				t.Error(err)
				return
			}
			r := o.NewReader(context.Background(), nil)
			buf := make([]byte, 5)
			var got bytes.Buffer
			for {
				n, err := r.Read(buf)
				if n > 0 && got.Len() == 0 {
					firstBytes.Add(1)
				}
				got.Write(buf[:n])
				if err != nil {
					break
				}
			}
			bodies[i] = got.String()
		}()
	}
	pw.Write([]byte("first"))
	// Every waiter gets the first bytes while the upstream is still sending.
	poll.Until(t, "condition", 10*time.Second, func() bool { return firstBytes.Load() == waiters })
	pw.Write([]byte(" second"))
	pw.Close()
	wg.Wait()
	if got := f.count("/live/ev/0/a.ts"); got != 1 {
		t.Fatalf("upstream fetches = %d, want 1", got)
	}
	for i, b := range bodies {
		if b != "first second" {
			t.Fatalf("waiter %d got %q", i, b)
		}
	}
	// Now it is a hit.
	if _, out, _ := s.Get(context.Background(), seg("0/a.ts")); out != Hit {
		t.Fatalf("outcome after fill = %v, want HIT", out)
	}
}

func TestWaiterLeavingDoesNotCancelFetch(t *testing.T) {
	release := make(chan struct{})
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) {
		<-release
		return ok("payload"), nil
	}}
	s := newTestShield(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := s.Get(ctx, seg("1.ts")); errc <- err }()
	poll.Until(t, "condition", 10*time.Second, func() bool { return f.count("/live/ev/1.ts") == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("leaving waiter: %v", err)
	}
	close(release)
	o, _, err := s.Get(context.Background(), seg("1.ts"))
	if err != nil || readAll(t, o) != "payload" {
		t.Fatalf("after leave: %v", err)
	}
	if got := f.count("/live/ev/1.ts"); got != 1 {
		t.Fatalf("fetches = %d, want 1 (the shared fetch survived its waiter)", got)
	}
}

// Time is synctest's: time.Sleep moves the shield's clock and ristretto's.
func TestStaleIfErrorAndNegative(t *testing.T) { synctest.Test(t, testStaleIfErrorAndNegative) }

func testStaleIfErrorAndNegative(t *testing.T) {
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) {
		switch {
		case strings.HasSuffix(r.Path, "missing.ts"):
			return &Response{Status: 404, Body: io.NopCloser(strings.NewReader("")), Source: "origin"}, nil
		case n == 1:
			return ok("good copy"), nil
		case n == 2:
			return &Response{Status: 500, Body: io.NopCloser(strings.NewReader("boom")), Source: "origin"}, nil
		default:
			return nil, errors.New("connection refused")
		}
	}}
	s := newTestShield(t, f, nil)
	o, out, err := s.Get(context.Background(), seg("5.ts"))
	if err != nil || out != Miss || readAll(t, o) != "good copy" {
		t.Fatalf("first: %v %v", out, err)
	}
	time.Sleep(s.cfg.SegmentTTL + time.Second) // expired, within StaleFor
	for i := range 2 {                         // 500, then a connect error
		o, out, err = s.Get(context.Background(), seg("5.ts"))
		if err != nil || out != Stale || readAll(t, o) != "good copy" {
			t.Fatalf("stale #%d: %v %v", i, out, err)
		}
	}
	time.Sleep(s.cfg.StaleFor + time.Second) // past stale
	if _, _, err = s.Get(context.Background(), seg("5.ts")); !errors.Is(err, ErrUpstream) {
		t.Fatalf("past stale: %v, want ErrUpstream", err)
	}
	for range 3 {
		o, _, err = s.Get(context.Background(), seg("missing.ts"))
		if err != nil || o.Status != 404 {
			t.Fatalf("negative: %v %v", o, err)
		}
	}
	if got := f.count("/live/ev/missing.ts"); got != 1 {
		t.Fatalf("404 fetched %d times, want 1 (negative cache)", got)
	}
	time.Sleep(s.cfg.NegativeTTL + time.Millisecond)
	s.Get(context.Background(), seg("missing.ts"))
	if got := f.count("/live/ev/missing.ts"); got != 2 {
		t.Fatalf("404 fetched %d times after negative TTL, want 2", got)
	}
}

func mediaPlaylist(seq int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", seq)
	for i := seq; i < seq+3; i++ {
		fmt.Fprintf(&b, "#EXTINF:2.000000,\nindex%d.ts\n", i)
	}
	return b.String()
}

func TestPlaylistNeverGoesBack(t *testing.T) { synctest.Test(t, testPlaylistNeverGoesBack) }

func testPlaylistNeverGoesBack(t *testing.T) {
	seqs := []int{10, 11, 9, 12}
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) {
		return ok(mediaPlaylist(seqs[n-1])), nil
	}}
	s := newTestShield(t, f, nil)
	pl := Request{Key: "/live/ev/0/index.m3u8", Event: "ev", Path: "0/index.m3u8", Kind: segment.KindPlaylist}
	want := []struct {
		seq string
		out Outcome
	}{{"SEQUENCE:10", Miss}, {"SEQUENCE:11", Miss}, {"SEQUENCE:11", Stale}, {"SEQUENCE:12", Miss}}
	for i, w := range want {
		o, out, err := s.Get(context.Background(), pl)
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		body := readAll(t, o)
		if !strings.Contains(body, w.seq) || out != w.out {
			t.Fatalf("get %d: outcome %v, body %q; want %v with %s", i, out, body[:60], w.out, w.seq)
		}
		if o.Gzip == nil || !strings.HasPrefix(o.CacheControl, "public, max-age=0") {
			t.Fatalf("get %d: gzip %v, cache-control %q", i, o.Gzip != nil, o.CacheControl)
		}
		time.Sleep(time.Second) // past the 0.9 s playlist TTL
	}
}

// TestBrokenBodyFailsWaiters: resuming is the fetcher's job; a body that
// breaks reaches the shield as a final error, fails the object and is not
// cached.
func TestBrokenBodyFailsWaiters(t *testing.T) {
	full := strings.Repeat("0123456789", 100)
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) {
		if n == 1 {
			return &Response{Status: 200, ContentLength: int64(len(full)),
				Body: io.NopCloser(io.MultiReader(strings.NewReader(full[:300]), errReader{})), Source: "a"}, nil
		}
		return ok(full), nil
	}}
	s := newTestShield(t, f, nil)
	o, _, err := s.Get(context.Background(), seg("big.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.WaitDone(context.Background()); err == nil {
		t.Fatal("a broken body completed")
	}
	o, out, err := s.Get(context.Background(), seg("big.ts"))
	if err != nil || out != Miss || readAll(t, o) != full {
		t.Fatalf("after a broken body: outcome %v, err %v; want a new fetch", out, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestPurge(t *testing.T) {
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) { return ok("v" + fmt.Sprint(n)), nil }}
	s := newTestShield(t, f, nil)
	for _, k := range []string{"1.ts", "2.ts"} {
		o, _, _ := s.Get(context.Background(), seg(k))
		readAll(t, o)
	}
	if n := s.Purge("/live/ev/"); n != 2 {
		t.Fatalf("purged %d, want 2", n)
	}
	o, out, _ := s.Get(context.Background(), seg("1.ts"))
	if out != Miss || readAll(t, o) != "v2" {
		t.Fatalf("after purge: %v", out)
	}
}

// A playlist requested in the second half of its freshness is refetched in
// the background while the fresh copy is served: nobody waits on expiry.
func TestPlaylistRefreshAhead(t *testing.T) { synctest.Test(t, testPlaylistRefreshAhead) }

func testPlaylistRefreshAhead(t *testing.T) {
	release := make(chan struct{})
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) {
		if n == 2 {
			<-release
		}
		return ok(mediaPlaylist(10 + n)), nil
	}}
	s := newTestShield(t, f, nil)
	pl := Request{Key: "/live/ev/0/index.m3u8", Event: "ev", Path: "0/index.m3u8", Kind: segment.KindPlaylist}
	s.Get(context.Background(), pl)                // fetch 1: sequence 11, fresh for 0.9 s
	time.Sleep(600 * time.Millisecond)             // past refreshAt (0.45 s), still fresh
	o, out, err := s.Get(context.Background(), pl) // served at once, refresh starts
	if err != nil || out != Hit || !strings.Contains(readAll(t, o), "SEQUENCE:11") {
		t.Fatalf("refresh-ahead hit: %v %v", out, err)
	}
	synctest.Wait() // the refresh is blocked on release
	if got := f.count(pl.Key); got != 2 {
		t.Fatalf("refresh fetches = %d, want 2", got)
	}
	if _, out, _ := s.Get(context.Background(), pl); out != Hit {
		t.Fatalf("while refreshing: %v, want HIT", out)
	}
	close(release)
	synctest.Wait()
	if o, _, _ := s.Get(context.Background(), pl); !strings.Contains(readAll(t, o), "SEQUENCE:12") {
		t.Fatal("the refreshed playlist is not served")
	}
	if got := f.count(pl.Key); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
}

// TestWaitPush: a blocking playlist key this tier expects to be pushed is
// answered by the push, with no upstream request; without a push the
// shared fetch goes upstream once WaitPush is over.
func TestWaitPush(t *testing.T) { synctest.Test(t, testWaitPush) }

func testWaitPush(t *testing.T) {
	f := &fakeFetcher{answer: func(r Request, n int) (*Response, error) { return ok(mediaPlaylist(7)), nil }}
	s := newTestShield(t, f, nil)
	r := Request{Key: "/live/ev/ll-0.m3u8?_HLS_msn=7&_HLS_part=2", Event: "ev", Path: "ll-0.m3u8",
		Query: "_HLS_msn=7&_HLS_part=2", Kind: segment.KindPlaylist, Hold: true, WaitPush: time.Second}
	got := make(chan *object.Object, 10)
	for range 10 {
		go func() {
			obj, _, err := s.Get(context.Background(), r)
			if err != nil {
				t.Error(err)
			}
			got <- obj
		}()
	}
	synctest.Wait() // all ten parked on one flight
	pushed := object.NewComplete(object.Meta{Status: 200, Kind: segment.KindPlaylist}, []byte(mediaPlaylist(7)))
	s.Store(r, pushed)
	for range 10 {
		if obj := <-got; obj != pushed {
			t.Fatalf("a parked request got %v, not the pushed playlist", obj)
		}
	}
	if n := f.count(r.Key); n != 0 {
		t.Fatalf("%d upstream requests for a pushed key", n)
	}
	if obj, ok := s.Hit(r); !ok || obj != pushed {
		t.Fatal("the pushed playlist is not cached for its key")
	}
	// No push: upstream after WaitPush.
	r2 := r
	r2.Key, r2.Query = "/live/ev/ll-0.m3u8?_HLS_msn=7&_HLS_part=3", "_HLS_msn=7&_HLS_part=3"
	start := time.Now()
	if _, _, err := s.Get(context.Background(), r2); err != nil {
		t.Fatal(err)
	}
	if n, waited := f.count(r2.Key), time.Since(start); n != 1 || waited < time.Second {
		t.Fatalf("without a push: %d upstream requests after %v", n, waited)
	}
}
