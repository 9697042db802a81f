package object

import (
	"errors"
	"sync"
	"sync/atomic"
)

// An object's body stays in memory while a cache holds it or a response
// is sending it. What the cache holds is bounded by its size; what only
// responses hold (an object evicted, or never admitted, while slow or
// stalled clients read it) is bounded by a Budget: past it, new responses
// of such objects are refused, so a crowd of clients that read slowly (or
// not at all) cannot grow memory past the cache and the budget.

// ErrOverBudget: sending the object would take the memory held only by
// responses past the Budget.
var ErrOverBudget = errors.New("object: responses in flight hold too much memory")

// Budget bounds the bytes of bodies held only by responses in flight.
// New responses stop at the limit; bodies the cache drops while they are
// being sent still count, so what responses alone hold stays under the
// limit plus the cache's size.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes (0: no limit, only counted).
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Used is the bytes held only by responses now.
func (b *Budget) Used() int64 { return b.used.Load() }

// holds counts who keeps an object's body: caches (entries) and
// responses (pins). A body counts for its buffer's capacity: what it
// takes in memory, and for a body still arriving with a known length,
// what it will take. Changes are rare (a response starting or ending, an
// admission or an eviction), so a mutex is cheap enough.
type holds struct {
	mu     sync.Mutex
	cached int32
	pins   int32
	size   int64 // the bytes counted in budget while only pins hold it
	budget *Budget
	// refs, for a body in a file only: the cache's entries, the pins, the
	// holds and the creator's reference; at 0 the file is freed.
	refs int32
}

// Cached records that a cache took (+1) or dropped (-1) the object.
func (o *Object) Cached(delta int32) {
	h := &o.holds
	h.mu.Lock()
	if o.file != nil && delta < 0 {
		h.refs += delta + 1 // unref takes the last one
		defer o.unref()     // unlocks
	} else {
		defer h.mu.Unlock()
	}
	if o.file != nil && delta > 0 {
		h.refs += delta
	}
	was := h.cached
	h.cached += delta
	switch {
	case was == 0 && h.cached > 0 && h.pins > 0: // admitted while being sent
		h.budget.used.Add(-h.size)
	case was > 0 && h.cached == 0 && h.pins > 0: // evicted while being sent
		h.size = int64(o.Cap())
		h.budget.used.Add(h.size)
	}
}

// Pin records a response that starts sending the object's body. When only
// responses would hold it and that would take b past its limit, it pins
// nothing and returns ErrOverBudget. A body in a file already released
// (NewFile) is not pinned either: ErrReleased. Each successful Pin needs
// one Unpin.
func (o *Object) Pin(b *Budget) error {
	h := &o.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	if o.file != nil {
		if h.refs <= 0 {
			return ErrReleased
		}
		h.refs++ // given back by Unpin (or below, over budget)
	}
	if err := o.pin(b); err != nil {
		if o.file != nil {
			h.refs--
		}
		return err
	}
	return nil
}

// pin is Pin's budget part, with holds.mu held.
func (o *Object) pin(b *Budget) error {
	h := &o.holds
	if h.pins == 0 {
		h.budget = b
		// A cached body costs nothing now but would count if the cache
		// dropped it while this response runs: with the budget spent, a
		// body nobody else is sending is not started either. (Bodies
		// already being sent, the hot ones, always are.)
		if h.cached > 0 && b.limit > 0 && b.used.Load() >= b.limit {
			return ErrOverBudget
		}
		if h.cached == 0 {
			size := int64(o.Cap())
			if b.limit > 0 && b.used.Add(size) > b.limit {
				b.used.Add(-size)
				return ErrOverBudget
			} else if b.limit <= 0 {
				b.used.Add(size)
			}
			h.size = size
		}
	}
	h.pins++
	return nil
}

// Unpin records that a response is done with the body.
func (o *Object) Unpin() {
	h := &o.holds
	h.mu.Lock()
	if o.file != nil {
		defer o.unref() // unlocks
	} else {
		defer h.mu.Unlock()
	}
	if h.pins--; h.pins == 0 && h.cached == 0 && h.budget != nil {
		h.budget.used.Add(-h.size)
		h.size = 0
	}
}

// Settled recounts a body that grew while only responses held it (an
// object the cache did not take, completed after its responses started):
// its full length now counts.
func (o *Object) Settled() {
	h := &o.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cached == 0 && h.pins > 0 && h.budget != nil {
		size := int64(o.Cap())
		h.budget.used.Add(size - h.size)
		h.size = size
	}
}
