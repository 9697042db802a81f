package ingest

import (
	"fmt"
	"io"
	"sync"
)

// Every byte ingest keeps for an event is reserved before it is
// allocated, against the node's LiveBytes and against the event's share:
// with EventBytes set, a fixed cap per event; by default a guarantee of
// LiveBytes/(2 x push events) per event, beyond which an event may take
// only what no other event's unused guarantee needs. Either way one event
// cannot starve the others. Reservations have one owner at a time: an
// upload owns what it reserved until it hands the bytes to the event
// (file.size, playlist.cost) under ev.mu; from then on the event owns
// them and releases them when the file leaves the window, is deleted or
// the event is removed. An upload that fails, or finds its event removed,
// releases its own.

// budget is the state the shares are computed from. Its mutex is taken
// after ev.mu and o.mu, never before.
type budget struct {
	mu     sync.Mutex
	events []*event // the push events, for their unused guarantees
}

// setBudgetEvents replaces the events that hold guarantees.
func (o *Origin) setBudgetEvents(evs []*event) {
	o.budget.mu.Lock()
	o.budget.events = evs
	o.budget.mu.Unlock()
}

// guarantee is what each event may always hold when EventBytes is 0.
func (o *Origin) guarantee() int64 {
	return o.cfg.LiveBytes / (2 * max(1, int64(len(o.budget.events))))
}

// roomLocked is what ev may reserve now; o.budget.mu held.
func (o *Origin) roomLocked(ev *event) int64 {
	used, total := ev.used.Load(), o.store.used.Load()
	free := o.cfg.LiveBytes - total
	share := o.cfg.EventBytes - used
	if o.cfg.EventBytes == 0 {
		g := o.guarantee()
		others := int64(0)
		for _, e := range o.budget.events {
			if e != ev {
				others += max(0, g-e.used.Load())
			}
		}
		share = max(g-used, free-others)
	}
	return max(0, min(free, share))
}

// room is what ev could reserve now.
func (o *Origin) room(ev *event) int64 {
	o.budget.mu.Lock()
	defer o.budget.mu.Unlock()
	return o.roomLocked(ev)
}

// reserve takes n bytes for ev, or fails with ErrStoreFull and takes
// nothing.
func (o *Origin) reserve(ev *event, n int64) error {
	if n <= 0 {
		return nil
	}
	o.budget.mu.Lock()
	defer o.budget.mu.Unlock()
	if room := o.roomLocked(ev); n > room {
		return fmt.Errorf("%w: event %q holds %d bytes and may take %d more, not %d (%d of %d live bytes in use)",
			ErrStoreFull, ev.id, ev.used.Load(), room, n, o.store.used.Load(), o.cfg.LiveBytes)
	}
	if err := o.store.reserve(n); err != nil {
		return err
	}
	ev.used.Add(n)
	return nil
}

// release gives back n bytes reserved for ev.
func (o *Origin) release(ev *event, n int64) {
	if n != 0 {
		ev.used.Add(-n)
		o.store.release(n)
	}
}

// settle turns the reservation *held into one of want bytes.
func (o *Origin) settle(ev *event, held *int64, want int64) error {
	if want > *held {
		if err := o.reserve(ev, want-*held); err != nil {
			return err
		}
	} else {
		o.release(ev, *held-want)
	}
	*held = want
	return nil
}

// First capacities of a body buffer (never more than the body's declared
// length or limit): object.Copy's chunk for a chunked body, more for a
// declared one, so a typical declared segment is allocated once, exactly,
// when its first bytes arrive.
const (
	minGrow         = 32 << 10
	minGrowDeclared = 1 << 20
)

// sink is a body buffer whose allocations its writer decides.
type sink interface {
	io.Writer
	SetCap(c int) // capacity exactly c, never below the length
}

// budgetWriter appends an upload's body to dst. It makes every allocation
// of dst itself and reserves it first, so the bytes accounted are the
// bytes allocated; it enforces the per-upload limit and the declared
// length. Memory follows the bytes that arrived: a declared length is an
// upper bound, never a preallocation.
type budgetWriter struct {
	o        *Origin
	ev       *event
	dst      sink
	path     string // for errors
	limit    int64  // MaxBodyBytes or MaxPlaylistBytes
	declared int64  // Content-Length, or -1 (chunked)
	n        int64  // bytes written
	reserved int64  // bytes reserved: dst's capacity
}

func (o *Origin) newBudgetWriter(ev *event, dst sink, path string, limit, declared int64) *budgetWriter {
	return &budgetWriter{o: o, ev: ev, dst: dst, path: path, limit: limit, declared: declared}
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	end := w.n + int64(len(p))
	if w.declared >= 0 && end > w.declared {
		return 0, fmt.Errorf("%w: %s is longer than its Content-Length of %d bytes", ErrAborted, w.path, w.declared)
	}
	if end > w.limit {
		return 0, fmt.Errorf("%w: %s: more than %d bytes", ErrTooLarge, w.path, w.limit)
	}
	if end > w.reserved {
		if err := w.grow(end); err != nil {
			return 0, err
		}
	}
	n, err := w.dst.Write(p)
	w.n += int64(n)
	return n, err
}

// grow reserves and allocates room for need bytes: twice the capacity (at
// least minGrow or minGrowDeclared) but never past the declared length or the limit. When the
// budget has no room for that, it takes what room is left (at least need),
// so a body that fits is not copied again for every chunk.
func (w *budgetWriter) grow(need int64) error {
	ceiling, floor := w.limit, int64(minGrow)
	if w.declared >= 0 {
		ceiling, floor = w.declared, minGrowDeclared
	}
	c := min(max(2*w.reserved, need, floor), ceiling)
	err := w.o.reserve(w.ev, c-w.reserved)
	if err != nil && c > need {
		c = max(need, min(c, w.reserved+w.o.room(w.ev)))
		if err = w.o.reserve(w.ev, c-w.reserved); err != nil && c > need {
			c = need // the room went meanwhile
			err = w.o.reserve(w.ev, c-w.reserved)
		}
	}
	if err != nil {
		return err
	}
	w.dst.SetCap(int(c))
	w.reserved = c
	return nil
}

// complete reports a body that ended before its declared length.
func (w *budgetWriter) complete() error {
	if w.declared >= 0 && w.n != w.declared {
		return fmt.Errorf("%w: %s ended after %d of %d declared bytes", ErrAborted, w.path, w.n, w.declared)
	}
	return nil
}

// trim gives back the capacity the body did not use, when that is worth a
// copy (more than an eighth of the body).
func (w *budgetWriter) trim() {
	if slack := w.reserved - w.n; slack > 0 && slack > w.n/8 {
		w.dst.SetCap(int(w.n))
		w.o.release(w.ev, slack)
		w.reserved = w.n
	}
}

// abandon releases whatever the writer still holds.
func (w *budgetWriter) abandon() {
	w.o.release(w.ev, w.reserved)
	w.reserved = 0
}

// handOver returns the reservation, which the caller now owns.
func (w *budgetWriter) handOver() int64 {
	n := w.reserved
	w.reserved = 0
	return n
}

// growBuf is a sink for bodies read whole (playlists).
type growBuf struct{ b []byte }

func (g *growBuf) Write(p []byte) (int, error) {
	g.b = append(g.b, p...)
	return len(p), nil
}

func (g *growBuf) SetCap(c int) {
	c = max(c, len(g.b))
	if c != cap(g.b) {
		b := make([]byte, len(g.b), c)
		copy(b, g.b)
		g.b = b
	}
}

var (
	_ sink      = (*growBuf)(nil)
	_ io.Writer = (*budgetWriter)(nil)
)
