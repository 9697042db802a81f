package mesh

import (
	"maps"
	"slices"
)

// coalescer turns the raw stream of memberlist notifications into one event
// per member per window. It holds the member table as of the last flush
// (known) and the latest raw event per member since then (pending); flush
// compares the two, so a member that fails and comes back inside one window
// with the same meta produces nothing, and one that joins and leaves inside a
// window without having been known before produces nothing either.
//
// It does no locking and has no clock: Mesh serialises calls and decides when
// to flush, which keeps it testable with explicit flushes.
type coalescer struct {
	known   map[string]Member
	pending map[string]Event
}

func newCoalescer() *coalescer {
	return &coalescer{known: map[string]Member{}, pending: map[string]Event{}}
}

// add records ev as the latest state of its member. It reports whether ev is
// the first event of a new window, so the caller knows to schedule a flush.
func (c *coalescer) add(ev Event) (first bool) {
	first = len(c.pending) == 0
	c.pending[ev.Member.ID] = ev
	return first
}

// flush ends the window: it returns the net change per member, sorted by
// member ID, and applies it to the table. Raw departures arrive as EventFail
// (memberlist cannot tell them apart); left reports whether the member
// announced its leave, which turns EventFail into EventLeave.
func (c *coalescer) flush(left func(id string) bool) []Event {
	var out []Event
	for _, id := range slices.Sorted(maps.Keys(c.pending)) {
		if ev, ok := c.resolve(c.pending[id], left); ok {
			out = append(out, ev)
		}
	}
	clear(c.pending)
	return out
}

func (c *coalescer) resolve(ev Event, left func(id string) bool) (Event, bool) {
	id := ev.Member.ID
	prev, known := c.known[id]
	switch ev.Type {
	case EventJoin, EventUpdate:
		cur := ev.Member
		cur.State = StateAlive
		if !known {
			c.known[id] = cur
			return Event{Type: EventJoin, Member: cur.clone()}, true
		}
		cur.Since = prev.Since // still alive since it joined
		c.known[id] = cur
		if cur.Meta.equal(prev.Meta) && cur.GossipAddr == prev.GossipAddr {
			return Event{}, false // a flap that healed inside the window
		}
		return Event{Type: EventUpdate, Member: cur.clone()}, true
	default: // EventLeave, EventFail
		if !known {
			return Event{}, false // joined and left inside the window
		}
		delete(c.known, id)
		gone := prev
		gone.Since = ev.Member.Since
		typ := EventFail
		gone.State = StateDead
		if ev.Type == EventLeave || (left != nil && left(id)) {
			typ, gone.State = EventLeave, StateLeft
		}
		return Event{Type: typ, Member: gone.clone()}, true
	}
}
