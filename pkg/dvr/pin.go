package dvr

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// SetPolicy sets the DVR window of event id (entries whose PDT is more than
// window before the event's newest entry are evicted; 0: no window) and its
// byte cap (0: Config.EventBytes), creating the event if needed, and
// evicts at once what they exclude. The policy persists across restarts.
func (s *Store) SetPolicy(id string, window time.Duration, maxBytes int64) error {
	if err := checkEvent(id); err != nil {
		return err
	}
	if window < 0 || maxBytes < 0 {
		return fmt.Errorf("%w: event %q: negative window or max bytes", ErrInvalid, id)
	}
	r := record{kind: kindPolicy, window: int64(window), maxBytes: maxBytes}
	ev, err := s.change(id, true, func(ev *event) error { return nil }, &r)
	if err != nil {
		return err
	}
	s.enforce(ev)
	return nil
}

// Pin keeps the segments of event id overlapping [from, to] (by PDT and
// duration) from eviction, under name (a clip); pinning a name again
// replaces its interval. Pins persist across restarts. An event holds at
// most Config.MaxPins pins (ErrTooManyPins).
func (s *Store) Pin(id, name string, from, to time.Time) error {
	switch {
	case name == "" || len(name) > maxNameLen || !utf8.ValidString(name):
		return fmt.Errorf("%w: event %q: pin name %q: 1 to %d bytes of UTF-8", ErrInvalid, id, name, maxNameLen)
	case from.IsZero() || to.IsZero() || to.Before(from):
		return fmt.Errorf("%w: event %q, pin %q: from %v must be before to %v, both set", ErrInvalid, id, name, from, to)
	}
	r := record{kind: kindPin, name: name, from: from.UnixNano(), to: to.UnixNano()}
	_, err := s.change(id, false, func(ev *event) error {
		for _, p := range ev.pins {
			if p.name == name {
				return nil
			}
		}
		if len(ev.pins) >= s.cfg.MaxPins {
			return fmt.Errorf("%w: event %q has %d pins, the most allowed; unpin one first", ErrTooManyPins, id, len(ev.pins))
		}
		return nil
	}, &r)
	return err
}

// Unpin removes a pin; its segments become evictable again and are evicted
// at once if the policy or limits exclude them.
func (s *Store) Unpin(id, name string) error {
	r := record{kind: kindUnpin, name: name}
	ev, err := s.change(id, false, func(ev *event) error {
		for _, p := range ev.pins {
			if p.name == name {
				return nil
			}
		}
		return fmt.Errorf("%w: event %q, pin %q", ErrNotFound, id, name)
	}, &r)
	if err != nil {
		return err
	}
	s.enforce(ev)
	return nil
}

// Pins lists the pins of event, by name.
func (s *Store) Pins(event string) []Pin {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ev := s.events[event]
	if ev == nil {
		return nil
	}
	out := make([]Pin, len(ev.pins))
	for i, p := range ev.pins {
		out[i] = Pin{Name: p.name, From: time.Unix(0, p.from).UTC(), To: time.Unix(0, p.to).UTC()}
	}
	return out
}

// change appends r to the log of event and applies it, after check passes
// under the event's log lock (which orders all changes of an event).
// create makes a missing event; otherwise it is ErrNotFound.
func (s *Store) change(event string, create bool, check func(*event) error, r *record) (*event, error) {
	for range 3 {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		ev := s.events[event]
		if ev == nil {
			if !create {
				s.mu.Unlock()
				return nil, fmt.Errorf("%w: event %q", ErrNotFound, event)
			}
			ev = newEvent(event, s.eventPath(event))
			s.events[event] = ev
		}
		s.mu.Unlock()
		err := s.change1(ev, check, r)
		if err == errRetry {
			continue
		}
		return ev, err
	}
	return nil, fmt.Errorf("dvr: event %q: dropped during the change", event)
}

func (s *Store) change1(ev *event, check func(*event) error, r *record) error {
	ev.io.RLock()
	defer ev.io.RUnlock()
	switch ev.state.Load() {
	case evDropped:
		return errRetry
	case evClosed:
		return ErrClosed
	}
	if err := s.ensure(ev); err != nil {
		return err
	}
	ev.logMu.Lock()
	defer ev.logMu.Unlock()
	s.mu.RLock()
	err := check(ev)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	return s.appendLocked(ev, []record{*r}, func() {
		if err := ev.apply(r); err != nil {
			s.log.Error("dvr index refused its own record", "event", ev.name, "err", err)
		}
	})
}
