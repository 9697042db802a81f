package shield

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/pkg/bytecache"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// Outcome says how a Get was answered; it names the X-Cache value.
type Outcome uint8

// Outcomes of Get.
const (
	Hit       Outcome = iota // fresh copy in this tier
	Miss                     // this request started the upstream fetch
	Coalesced                // joined a fetch another request started
	Stale                    // upstream failed, a stale copy was served
)

func (o Outcome) String() string {
	return [...]string{"HIT", "MISS", "COALESCED", "STALE"}[o]
}

// ErrUpstream wraps upstream failures (connect errors, 5xx, timeouts) that
// no stale copy could hide. The node answers 502.
var ErrUpstream = errors.New("shield: upstream failed")

// ErrRegressed: the upstream playlist went back in media sequence and no
// newer copy was at hand. The node answers 503 so the player retries.
var ErrRegressed = errors.New("shield: playlist went back in media sequence")

// Deps are the collaborators of a Shield.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Shield is one node's cache tier. Safe for concurrent use.
type Shield struct {
	cfg   Config
	fetch Fetcher
	log   *slog.Logger
	now   func() time.Time
	m     *metrics
	cache *bytecache.Cache[*entry]

	// base ends at Close; the shared fetches (runs) run under it, and
	// Close waits for them before it closes the cache they fill.
	base   context.Context
	cancel context.CancelFunc
	runs   sync.WaitGroup

	mu      sync.Mutex
	flights map[string]*flight
	// seqs is the highest media sequence served per media playlist, so a
	// lagging upstream never makes a playlist go back.
	seqs map[string]uint64
}

// entry is a cached object with its freshness.
type entry struct {
	obj        *object.Object
	freshUntil time.Time
	staleUntil time.Time
	// refreshAt (playlists only): a hit after this starts a background
	// refetch while the current copy is still served, so no player waits
	// for the origin when a playlist expires (nginx's "use_stale updating"
	// without ever serving an expired playlist).
	refreshAt  time.Time
	refreshing atomic.Bool
}

// flight is one upstream fetch that any number of requests wait on.
type flight struct {
	ready chan struct{} // closed once obj or err is set
	obj   *object.Object
	err   error
	// purged: a purge hit this key while fetching; the result is handed to
	// the waiters but not stored.
	purged bool
	// pushed receives an object Stored for the key while the flight waits
	// for a push (Request.WaitPush); nil otherwise.
	pushed chan *object.Object
}

// New returns a Shield that fetches misses through f. It does no I/O.
func New(cfg Config, f Fetcher, deps Deps) (*Shield, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The cache tells each object when it holds it (see object.Budget).
	c, err := bytecache.NewNotify[*entry](cfg.MaxBytes, func(e *entry) {
		if e.obj != nil {
			e.obj.Cached(-1)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("shield: %w", err)
	}
	s := &Shield{cfg: cfg, fetch: f, log: deps.Logger, now: deps.Now, cache: c,
		flights: make(map[string]*flight), seqs: make(map[string]uint64)}
	s.base, s.cancel = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.m = newMetrics(deps.Registerer, s)
	return s, nil
}

// Close cancels the fetches in flight, waits for them, and stops the
// cache.
func (s *Shield) Close() {
	s.cancel()
	s.runs.Wait()
	s.cache.Close()
}

// Get returns the object for r from this tier, or through one shared
// upstream fetch. The object may still be arriving; readers follow it. ctx
// bounds only this caller's wait for the response to start.
func (s *Shield) Get(ctx context.Context, r Request) (*object.Object, Outcome, error) {
	obj, e := s.hit(r)
	if obj != nil {
		return obj, Hit, nil
	}
	f, leader := s.join(r)
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, Miss, fmt.Errorf("shield: waiting for %s: %w", r.Key, context.Cause(ctx))
	}
	if f.err != nil {
		if e != nil && s.now().Before(e.staleUntil) {
			s.m.outcome[Stale].Inc()
			s.log.Debug("serving stale", "key", r.Key, "err", f.err)
			return e.obj, Stale, nil
		}
		return nil, Miss, f.err
	}
	out := Coalesced
	if leader {
		out = Miss
	}
	s.m.outcome[out].Inc()
	return f.obj, out, nil
}

// Hit returns the fresh copy of r.Key if this tier holds one, without
// waiting or allocating (a hit in the second half of a playlist's freshness
// starts its refresh). On false, call Get.
func (s *Shield) Hit(r Request) (*object.Object, bool) {
	obj, _ := s.hit(r)
	return obj, obj != nil
}

// Peek returns what this tier holds for r.Key, fresh or still within its
// stale window, without fetching, refreshing or counting; nil for
// nothing.
func (s *Shield) Peek(r Request) *object.Object {
	e, _ := s.cache.Get(r.Key)
	if e == nil || !s.now().Before(e.staleUntil) {
		return nil
	}
	return e.obj
}

// hit returns the fresh object, or nil and the entry found (expired, for
// stale serving) if any.
func (s *Shield) hit(r Request) (*object.Object, *entry) {
	now := s.now()
	e, _ := s.cache.Get(r.Key)
	if e == nil || !now.Before(e.freshUntil) {
		return nil, e
	}
	if !e.refreshAt.IsZero() && now.After(e.refreshAt) && e.refreshing.CompareAndSwap(false, true) {
		s.m.refreshes.Inc()
		s.join(r)
	}
	s.m.outcome[Hit].Inc()
	return e.obj, e
}

// join returns the flight for r.Key, starting one if none is running.
func (s *Shield) join(r Request) (*flight, bool) {
	s.mu.Lock()
	if f, ok := s.flights[r.Key]; ok {
		s.mu.Unlock()
		return f, false
	}
	// Re-check the cache under the lock: a flight that just finished has
	// stored its object before leaving the map. (A refresh-ahead fetch
	// starts while the entry is fresh, so it skips this.)
	if e, _ := s.cache.Get(r.Key); e != nil && s.now().Before(e.freshUntil) && (e.refreshAt.IsZero() || s.now().Before(e.refreshAt)) {
		s.mu.Unlock()
		f := &flight{ready: make(chan struct{}), obj: e.obj}
		close(f.ready)
		return f, false
	}
	r = r.clone()
	f := &flight{ready: make(chan struct{})}
	if r.WaitPush > 0 {
		f.pushed = make(chan *object.Object, 1)
	}
	s.flights[r.Key] = f
	s.mu.Unlock()
	s.runs.Add(1)
	go s.run(f, r)
	return f, true
}

// finish stores the object (unless purged or not cacheable) and removes the
// flight; the cache is written first, so no request finds neither.
func (s *Shield) finish(f *flight, key string, e *entry, cost int64) {
	s.mu.Lock()
	purged := f.purged
	s.mu.Unlock()
	stored := false
	if e != nil && !purged && cost <= s.cfg.MaxObjectBytes {
		ttl := e.staleUntil.Sub(s.now())
		if ttl > 0 && e.obj != nil {
			e.obj.Cached(+1)
			s.cache.Set(key, e, cost, ttl)
			stored = true
		}
	}
	if !stored && e != nil && e.obj != nil {
		e.obj.Settled() // streamed to its readers only: all of it counts now
	}
	s.mu.Lock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	s.mu.Unlock()
}

// publish hands the flight's result to its waiters.
func (f *flight) publish(obj *object.Object, err error) {
	f.obj, f.err = obj, err
	close(f.ready)
}

// Purge removes a key, or every key under a prefix ending in "/", from this
// tier, and keeps running fetches for them from being stored. It returns
// how many cached objects it removed.
func (s *Shield) Purge(keyOrPrefix string) int {
	prefix := strings.HasSuffix(keyOrPrefix, "/")
	s.mu.Lock()
	for k, f := range s.flights {
		if k == keyOrPrefix || prefix && strings.HasPrefix(k, keyOrPrefix) {
			// The running fetch still serves its waiters but is not
			// stored, and new requests start a fresh one.
			f.purged = true
			delete(s.flights, k)
		}
	}
	for k := range s.seqs {
		if k == keyOrPrefix || prefix && strings.HasPrefix(k, keyOrPrefix) {
			delete(s.seqs, k)
		}
	}
	s.mu.Unlock()
	if prefix {
		return s.cache.DelPrefix(keyOrPrefix)
	}
	_, ok := s.cache.Get(keyOrPrefix)
	s.cache.Del(keyOrPrefix)
	if ok {
		return 1
	}
	return 0
}

// Bytes is what the tier holds.
func (s *Shield) Bytes() int64 { return s.cache.Bytes() }

// Store puts a complete object pushed by an ingest node (push fill) into
// this tier, fresh for its kind's TTL, so the first player request for it
// is a hit.
func (s *Shield) Store(r Request, obj *object.Object) {
	body, ok := obj.Complete()
	if !ok || int64(len(body)) > s.cfg.MaxObjectBytes {
		return
	}
	ttl := s.cfg.SegmentTTL
	if r.Kind == segment.KindPlaylist {
		// A pushed LL-HLS playlist (for one blocking key): it answers
		// that key for as long as a player may ask it, 3 target durations.
		ttl = PushedPlaylistTTL
		s.mu.Lock()
		if f := s.flights[r.Key]; f != nil && f.pushed != nil {
			select {
			case f.pushed <- obj:
			default:
			}
		}
		s.mu.Unlock()
	}
	fresh := s.now().Add(ttl)
	kept, cost := obj, int64(len(body))
	if obj.Status == http.StatusOK && obj.Gzip == nil {
		if fobj := s.fileCopy(obj.Meta, body); fobj != nil {
			defer fobj.Release()
			kept, cost = fobj, int64(fobj.Cap())
		}
	}
	kept.Cached(+1)
	s.cache.Set(r.Key, &entry{obj: kept, freshUntil: fresh, staleUntil: fresh.Add(s.cfg.StaleFor)}, cost, ttl+s.cfg.StaleFor)
	s.m.fills.Inc()
}

// fileCopy returns a copy of a complete body large enough to be sent with
// sendfile, kept in a body file (object.NewFile) and held by the caller
// until it calls Release; nil to keep the heap object.
func (s *Shield) fileCopy(meta object.Meta, body []byte) *object.Object {
	if s.cfg.FileMinBytes <= 0 || int64(len(body)) < s.cfg.FileMinBytes {
		return nil
	}
	fobj, err := object.NewFile(meta, body)
	if err != nil {
		s.log.Debug("body kept on the heap", "err", err)
		return nil
	}
	return fobj
}
