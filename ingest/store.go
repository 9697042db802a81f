package ingest

import (
	"fmt"
	"sync/atomic"

	"github.com/ringside-live/ringside/pkg/bytecache"
	"github.com/ringside-live/ringside/pkg/object"
)

// store accounts the bytes of every live window and keeps the segments that
// left a window in a byte-bounded ristretto cache. Live files are never
// evicted behind the encoder's back: when the live budget is spent, the
// upload is refused. Retired files are the ones that get evicted.
type store struct {
	limit   int64
	used    atomic.Int64
	retired *bytecache.Cache[*object.Object]
}

func newStore(liveBytes, retiredBytes int64) (*store, error) {
	s := &store{limit: liveBytes}
	if retiredBytes > 0 {
		c, err := bytecache.New[*object.Object](retiredBytes)
		if err != nil {
			return nil, fmt.Errorf("ingest: retired cache: %w", err)
		}
		s.retired = c
	}
	return s, nil
}

// reserve takes n bytes of the live budget, or fails with ErrStoreFull.
func (s *store) reserve(n int64) error {
	for {
		used := s.used.Load()
		if used+n > s.limit {
			return fmt.Errorf("%w: %d of %d bytes in use", ErrStoreFull, used, s.limit)
		}
		if s.used.CompareAndSwap(used, used+n) {
			return nil
		}
	}
}

func (s *store) release(n int64) { s.used.Add(-n) }

// retire moves a complete file that left the live window to the cache.
func (s *store) retire(key string, o *object.Object) {
	if s.retired == nil {
		return
	}
	if b, ok := o.Complete(); ok {
		s.retired.Set(key, o, int64(len(b)), 0)
	}
}

func (s *store) getRetired(key string) *object.Object {
	if s.retired == nil {
		return nil
	}
	o, _ := s.retired.Get(key)
	return o
}

func (s *store) dropRetired(key string) bool {
	if s.retired == nil {
		return false
	}
	_, ok := s.retired.Get(key)
	s.retired.Del(key)
	return ok
}

func (s *store) dropRetiredPrefix(prefix string) {
	if s.retired != nil {
		s.retired.DelPrefix(prefix)
	}
}

func (s *store) retiredBytes() int64 {
	if s.retired == nil {
		return 0
	}
	return s.retired.Bytes()
}

func (s *store) close() {
	if s.retired != nil {
		s.retired.Close()
	}
}
