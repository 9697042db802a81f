package dvr

import (
	"fmt"
	"math"
)

// planner chooses victims without changing the index, so that a Put that
// cannot fit changes nothing. Within a rendition it takes entries in MSN
// order, skipping pinned ones and never reaching the newest LiveKeep;
// across renditions (and events) the entry with the oldest PDT goes first.
// The caller holds s.mu.
type planner struct {
	s       *Store
	next    map[*rendition]int // index of the next entry to consider
	freed   map[*event]int64
	total   int64 // bytes freed across events
	victims []*entry
}

func (s *Store) newPlanner() *planner {
	return &planner{s: s, next: make(map[*rendition]int), freed: make(map[*event]int64)}
}

// oldest returns the evictable entry of ev with the oldest PDT, or nil.
func (p *planner) oldest(ev *event) (*rendition, int) {
	var best *rendition
	bi := 0
	for _, r := range ev.rends {
		i, limit := p.next[r], len(r.entries)-p.s.cfg.LiveKeep
		for i < limit && ev.pinned(r.entries[i]) {
			i++
		}
		p.next[r] = i
		if i >= limit {
			continue
		}
		x := r.entries[i]
		if best == nil || x.pdt < best.entries[bi].pdt || x.pdt == best.entries[bi].pdt && r.name < best.name {
			best, bi = r, i
		}
	}
	return best, bi
}

func (p *planner) take(r *rendition, i int) {
	x := r.entries[i]
	p.next[r] = i + 1
	p.victims = append(p.victims, x)
	p.freed[r.ev] += x.size
	p.total += x.size
}

// eventCap is the byte cap of ev.
func (s *Store) eventCap(ev *event) int64 {
	switch {
	case ev.maxBytes > 0:
		return ev.maxBytes
	case s.cfg.EventBytes > 0:
		return s.cfg.EventBytes
	}
	return s.cfg.MaxBytes
}

// plan chooses what to evict so that add more bytes fit in ev (window by
// PDT age against the newest entry or pdt, the event's cap, then MaxBytes
// taking from the event with the oldest evictable entry). With strict, it
// fails with ErrFull when they cannot fit; without, it evicts what it can.
func (p *planner) plan(ev *event, add, pdt int64, strict bool) error {
	s := p.s
	if ev.window > 0 {
		newest := max(ev.newest(), pdt)
		if newest > math.MinInt64+ev.window {
			limit := newest - ev.window
			for {
				r, i := p.oldest(ev)
				if r == nil || r.entries[i].pdt >= limit {
					break
				}
				p.take(r, i)
			}
		}
	}
	evCap := s.eventCap(ev)
	if strict && add > evCap {
		return fmt.Errorf("%w: event %q: a body of %d bytes is larger than the event's cap of %d bytes", ErrFull, ev.name, add, evCap)
	}
	for ev.bytes+ev.reserved-p.freed[ev]+add > evCap {
		r, i := p.oldest(ev)
		if r == nil {
			if strict {
				return fmt.Errorf("%w: event %q: %d more bytes do not fit in the event's cap of %d bytes (%d used); only live-window and pinned segments are left",
					ErrFull, ev.name, add, evCap, ev.bytes+ev.reserved)
			}
			break
		}
		p.take(r, i)
	}
	if strict && add > s.cfg.MaxBytes {
		return fmt.Errorf("%w: a body of %d bytes is larger than max_bytes %d", ErrFull, add, s.cfg.MaxBytes)
	}
	for s.total-p.total+add > s.cfg.MaxBytes {
		var best *rendition
		bi := 0
		for _, e := range s.events {
			r, i := p.oldest(e)
			if r != nil && (best == nil || r.entries[i].pdt < best.entries[bi].pdt) {
				best, bi = r, i
			}
		}
		if best == nil {
			if strict {
				return fmt.Errorf("%w: %d more bytes do not fit in max_bytes %d (%d used); only live-window and pinned segments are left",
					ErrFull, add, s.cfg.MaxBytes, s.total)
			}
			break
		}
		p.take(best, bi)
	}
	return nil
}

// evict removes the planned victims (and init segments no segment names
// any more) from the index and queues their del records on their events.
// It returns the events other than self that have records queued.
func (p *planner) evict(self *event) []*event {
	var others []*event
	seen := map[*event]bool{self: true}
	swept := map[*rendition]bool{}
	for _, x := range p.victims {
		ev := x.rend.ev
		ev.remove(x)
		p.s.total -= x.size
		ev.dels = append(ev.dels, x)
		if in := x.init; in != nil && in.refs == 0 && !in.gone {
			ev.remove(in)
			p.s.total -= in.size
			ev.dels = append(ev.dels, in)
		}
		if !swept[x.rend] {
			swept[x.rend] = true
		}
		if !seen[ev] {
			seen[ev] = true
			others = append(others, ev)
		}
	}
	for r := range swept {
		r.sweep()
	}
	return others
}

// flush writes the queued del records of ev and removes their bodies.
func (s *Store) flush(ev *event) {
	ev.io.RLock()
	defer ev.io.RUnlock()
	if ev.state.Load() != evOpen || !ev.ready.Load() {
		return
	}
	ev.logMu.Lock()
	defer ev.logMu.Unlock()
	if err := s.appendLocked(ev, nil, nil); err != nil {
		s.log.Warn("writing dvr evictions failed; they are retried with the next write", "event", ev.name, "err", err)
	}
}

// enforce evicts what the policies and limits require, without a Put.
func (s *Store) enforce(ev *event) {
	s.mu.Lock()
	if s.closed || ev.state.Load() != evOpen {
		s.mu.Unlock()
		return
	}
	p := s.newPlanner()
	_ = p.plan(ev, 0, math.MinInt64, false)
	others := p.evict(ev)
	s.mu.Unlock()
	for _, o := range append(others, ev) {
		s.flush(o)
	}
}
