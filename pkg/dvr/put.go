package dvr

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
)

// Put stores a media segment. It is durable when Put returns nil. Storing
// a path again with identical bytes and the same rendition and MSN does
// nothing; other bytes or metadata fail with ErrConflict. A Put of a path
// another Put is storing waits for it, then compares. The MSN must be
// above every MSN of the rendition (ErrSequence), e.Map must have been
// stored with PutInit, and the body must fit after evicting what may be
// evicted (ErrFull). A failed Put changes nothing that was accepted before.
func (s *Store) Put(e Entry, body []byte) error {
	if err := checkEntry(&e, body); err != nil {
		return err
	}
	r := record{
		kind: kindPut, path: e.Path, rendition: e.Rendition, msn: e.MSN, dur: int64(e.Duration),
		pdt: e.PDT.UnixNano(), disc: e.Discontinuity, dsn: e.DSN, mapPath: e.Map, ctype: e.ContentType, size: e.Size,
	}
	return s.store(e.Event, &r, body)
}

// PutInit stores an init segment. Segments name it in Entry.Map; it is
// removed with the last of them (an init segment no segment has named yet
// stays until DropEvent). Repeating it with identical bytes does nothing.
func (s *Store) PutInit(event, path, contentType string, body []byte) error {
	if err := checkEvent(event); err != nil {
		return err
	}
	if err := checkPath("path", path); err != nil {
		return err
	}
	if len(contentType) > maxTypeLen {
		return fmt.Errorf("%w: content type longer than %d bytes", ErrInvalid, maxTypeLen)
	}
	r := record{kind: kindInit, path: path, ctype: contentType, size: int64(len(body))}
	return s.store(event, &r, body)
}

func checkEntry(e *Entry, body []byte) error {
	if err := checkEvent(e.Event); err != nil {
		return err
	}
	if err := checkPath("path", e.Path); err != nil {
		return err
	}
	if err := checkPath("rendition", e.Rendition); err != nil {
		return err
	}
	if e.Map != "" {
		if err := checkPath("map", e.Map); err != nil {
			return err
		}
		if e.Map == e.Path {
			return fmt.Errorf("%w: path %q names itself as its map", ErrInvalid, e.Path)
		}
	}
	switch {
	case len(e.ContentType) > maxTypeLen:
		return fmt.Errorf("%w: path %q: content type longer than %d bytes", ErrInvalid, e.Path, maxTypeLen)
	case e.Size != 0 && e.Size != int64(len(body)):
		return fmt.Errorf("%w: path %q: size %d, but the body has %d bytes", ErrInvalid, e.Path, e.Size, len(body))
	case e.Duration < 0:
		return fmt.Errorf("%w: path %q: negative duration", ErrInvalid, e.Path)
	case e.PDT.IsZero():
		return fmt.Errorf("%w: path %q: program date time is required", ErrInvalid, e.Path)
	case e.PDT.Year() < 1678 || e.PDT.Year() > 2261:
		return fmt.Errorf("%w: path %q: program date time %v out of range", ErrInvalid, e.Path, e.PDT)
	}
	e.Size = int64(len(body))
	return nil
}

// errRetry: the event was dropped between admission and I/O (try again on
// the event that replaced it), or another put of the path finished (try
// again to compare with it).
var errRetry = errors.New("dvr: retry")

func (s *Store) store(event string, r *record, body []byte) error {
	for range 5 {
		err := s.store1(event, r, body)
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return fmt.Errorf("dvr: event %q, path %q: gave up after the path changed or the event was dropped repeatedly during the put", event, r.path)
}

// admission is what store1 reserved under s.mu.
type admission struct {
	ev   *event
	rend *rendition    // puts
	init *entry        // puts with a map: the reference taken
	same *entry        // the path is stored already: compare instead
	wait chan struct{} // a put of the path is under way: wait, then retry
	file string        // same's body file
	// others: events other than ev with evictions queued by this put;
	// store1 writes them before its own I/O.
	others []*event
}

func (s *Store) store1(event string, r *record, body []byte) error {
	a, err := s.admit(event, r)
	if err != nil {
		return err
	}
	if a.wait != nil {
		<-a.wait
		return errRetry
	}
	if a.same != nil {
		return s.compare(a, r, body)
	}
	for _, o := range a.others {
		s.flush(o)
	}
	ev := a.ev
	ev.io.RLock()
	defer ev.io.RUnlock()
	switch ev.state.Load() {
	case evDropped:
		s.release(a, r)
		return errRetry
	case evClosed:
		s.release(a, r)
		return ErrClosed
	}
	err = s.ensure(ev)
	if err == nil {
		err = s.writeBody(ev, r.seq, body)
		if err != nil {
			err = fmt.Errorf("dvr: event %q, path %q: write body: %w", event, r.path, err)
		}
	}
	if err == nil {
		ev.logMu.Lock()
		err = s.appendLocked(ev, []record{*r}, func() { s.commit(a, r) })
		ev.logMu.Unlock()
		if err != nil {
			os.Remove(ev.bodyPath(r.seq))
		}
	}
	if err != nil {
		s.release(a, r)
		if ev.ready.Load() {
			ev.logMu.Lock()
			_ = s.appendLocked(ev, nil, nil) // the evictions stand
			ev.logMu.Unlock()
		}
		return err
	}
	return nil
}

// admit checks r against the index, evicts what it needs, and reserves its
// path, MSN, bytes and init reference; r.seq is set. No I/O.
func (s *Store) admit(event string, r *record) (*admission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	ev := s.events[event]
	if ev == nil {
		ev = newEvent(event, s.eventPath(event))
		s.events[event] = ev
	}
	if x := ev.files[r.path]; x != nil {
		return &admission{ev: ev, same: x, file: ev.bodyPath(x.seq)}, nil
	}
	if ch := ev.pending[r.path]; ch != nil {
		return &admission{ev: ev, wait: ch}, nil
	}
	a := &admission{ev: ev}
	pdt := int64(math.MinInt64)
	if r.kind == kindPut {
		if r.mapPath != "" {
			a.init = ev.files[r.mapPath]
			if a.init == nil || a.init.rend != nil {
				return nil, fmt.Errorf("%w: event %q, path %q: map %q is not a stored init segment (PutInit it first)", ErrInvalid, event, r.path, r.mapPath)
			}
		}
		a.rend = ev.rendition(r.rendition)
		if last, ok := a.rend.lastMSN(); ok && r.msn <= last {
			return nil, fmt.Errorf("%w: event %q, rendition %q: MSN %d after %d (path %q)", ErrSequence, event, r.rendition, r.msn, last, r.path)
		}
		pdt = r.pdt
	}
	if a.init != nil {
		a.init.refs++ // before evicting: the init segment must stay
	}
	p := s.newPlanner()
	if err := p.plan(ev, r.size, pdt, true); err != nil {
		if a.init != nil {
			a.init.refs--
		}
		return nil, err
	}
	a.others = p.evict(ev)
	r.seq = ev.nextSeq
	ev.nextSeq++
	ev.pending[r.path] = make(chan struct{})
	ev.reserved += r.size
	s.total += r.size
	if a.rend != nil {
		a.rend.pending = append(a.rend.pending, r.msn)
	}
	return a, nil
}

// commit makes the reserved put visible; its record is durable. Runs
// under s.mu.
func (s *Store) commit(a *admission, r *record) {
	ev := a.ev
	close(ev.pending[r.path])
	delete(ev.pending, r.path)
	ev.reserved -= r.size
	if a.rend != nil {
		a.rend.dropPending(r.msn)
	}
	if err := ev.apply(r); err != nil {
		// admit checked everything apply checks; only a bug gets here.
		s.log.Error("dvr index refused its own record", "event", ev.name, "path", r.path, "err", err)
		s.total -= r.size
		if a.init != nil {
			a.init.refs--
		}
	}
}

// release undoes admit's reservation (not its evictions).
func (s *Store) release(a *admission, r *record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := a.ev
	close(ev.pending[r.path])
	delete(ev.pending, r.path)
	ev.reserved -= r.size
	s.total -= r.size
	if a.rend != nil {
		a.rend.dropPending(r.msn)
	}
	if a.init != nil {
		a.init.refs--
	}
}

// compare answers a put of a stored path: nothing to do if it is the same
// body and metadata, ErrConflict if not.
func (s *Store) compare(a *admission, r *record, body []byte) error {
	s.mu.RLock()
	x := a.same
	gone := x.gone || a.ev.state.Load() != evOpen
	var old record
	if !gone {
		if x.rend != nil {
			old = putRecord(x)
		} else {
			old = record{kind: kindInit, path: x.path, ctype: x.ctype, size: x.size}
		}
	}
	s.mu.RUnlock()
	if gone {
		return errRetry
	}
	what := ""
	switch {
	case old.kind != r.kind:
		what = "a segment and an init segment"
	case old.size != r.size:
		what = fmt.Sprintf("%d bytes, now %d", old.size, r.size)
	case r.kind == kindPut && (old.rendition != r.rendition || old.msn != r.msn):
		what = fmt.Sprintf("rendition %q MSN %d, now %q MSN %d", old.rendition, old.msn, r.rendition, r.msn)
	}
	if what == "" {
		stored, err := os.ReadFile(a.file)
		if errors.Is(err, fs.ErrNotExist) {
			return errRetry // evicted since admit
		}
		if err != nil {
			return fmt.Errorf("dvr: event %q, path %q: read stored body: %w", a.ev.name, r.path, err)
		}
		if bytes.Equal(stored, body) {
			return nil
		}
		what = "other bytes"
	}
	return fmt.Errorf("%w: event %q, path %q is stored already (%s)", ErrConflict, a.ev.name, r.path, what)
}

func (s *Store) eventPath(event string) string {
	return s.cfg.Dir + string(os.PathSeparator) + eventDir(event)
}
