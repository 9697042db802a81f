package bytecache

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Cache maps string keys to values of type V. Safe for concurrent use.
type Cache[V any] struct {
	c     *ristretto.Cache[string, *item[V]]
	bytes atomic.Int64

	mu   sync.Mutex
	keys map[string]*item[V] // every admitted or pending key, for DelPrefix

	exit func(V) // nil, or told of every value that leaves (or is refused)

	// life orders writes against Close: a Set, Del or DelPrefix racing
	// with Close (a request finishing while its node shuts down) is
	// dropped instead of writing to a stopped cache.
	life   sync.RWMutex
	closed bool
}

type item[V any] struct {
	key  string
	val  V
	cost int64
}

// New returns a cache bounded to maxBytes of cost.
func New[V any](maxBytes int64) (*Cache[V], error) { return NewNotify[V](maxBytes, nil) }

// NewNotify is New, and exit is called once for every value Set gave it
// when the value leaves: evicted, expired, deleted, replaced, or refused
// by the admission policy.
func NewNotify[V any](maxBytes int64, exit func(V)) (*Cache[V], error) {
	bc := &Cache[V]{keys: make(map[string]*item[V]), exit: exit}
	c, err := ristretto.NewCache(&ristretto.Config[string, *item[V]]{
		// Ten counters per expected item; items are assumed >= 4 KiB.
		NumCounters:        max(maxBytes/(4<<10)*10, 10_000),
		MaxCost:            maxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true,
		OnExit:             bc.onExit,
	})
	if err != nil {
		return nil, fmt.Errorf("bytecache: %w", err)
	}
	bc.c = c
	return bc, nil
}

func (bc *Cache[V]) onExit(it *item[V]) {
	if it == nil {
		return
	}
	bc.bytes.Add(-it.cost)
	bc.mu.Lock()
	if bc.keys[it.key] == it {
		delete(bc.keys, it.key)
	}
	bc.mu.Unlock()
	if bc.exit != nil {
		bc.exit(it.val)
	}
}

// Get returns the value for key. It does not retain key, so key may alias a
// reusable buffer. It does not allocate.
func (bc *Cache[V]) Get(key string) (V, bool) {
	it, ok := bc.c.Get(key)
	if !ok || it == nil {
		var zero V
		return zero, false
	}
	return it.val, true
}

// Set stores v under key with cost bytes for at most ttl (0: no expiry) and
// waits until the cache has applied it, so a Get right after sees it unless
// the admission policy refused it. It reports whether the value was taken
// for admission.
func (bc *Cache[V]) Set(key string, v V, cost int64, ttl time.Duration) bool {
	bc.life.RLock()
	defer bc.life.RUnlock()
	if bc.closed {
		return false
	}
	it := &item[V]{key: strings.Clone(key), val: v, cost: cost}
	bc.mu.Lock()
	bc.keys[it.key] = it
	bc.mu.Unlock()
	bc.bytes.Add(cost)
	if !bc.c.SetWithTTL(it.key, it, cost, ttl) {
		bc.onExit(it)
		return false
	}
	bc.c.Wait()
	return true
}

// Del removes key.
func (bc *Cache[V]) Del(key string) {
	bc.life.RLock()
	defer bc.life.RUnlock()
	if !bc.closed {
		bc.c.Del(key)
	}
}

// DelPrefix removes every key that starts with prefix and returns how many
// it removed.
func (bc *Cache[V]) DelPrefix(prefix string) int {
	bc.life.RLock()
	defer bc.life.RUnlock()
	if bc.closed {
		return 0
	}
	bc.mu.Lock()
	var victims []string
	for k := range bc.keys {
		if strings.HasPrefix(k, prefix) {
			victims = append(victims, k)
		}
	}
	bc.mu.Unlock()
	for _, k := range victims {
		bc.c.Del(k)
	}
	bc.c.Wait()
	return len(victims)
}

// Bytes is the cost currently held.
func (bc *Cache[V]) Bytes() int64 { return bc.bytes.Load() }

// Close stops the cache's goroutines.
// Writes after Close are dropped.
func (bc *Cache[V]) Close() {
	bc.life.Lock()
	defer bc.life.Unlock()
	if !bc.closed {
		bc.closed = true
		bc.c.Close()
	}
}
