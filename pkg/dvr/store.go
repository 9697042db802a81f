package dvr

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Errors the Store returns, wrapped with the event and path concerned.
var (
	// ErrNotFound: no such event, path or pin.
	ErrNotFound = errors.New("dvr: not found")
	// ErrConflict: the path is stored (or being stored) with other bytes
	// or other metadata.
	ErrConflict = errors.New("dvr: conflict")
	// ErrSequence: a Put's MSN is not above the last of its rendition.
	ErrSequence = errors.New("dvr: media sequence not increasing")
	// ErrFull: the body does not fit even after evicting every segment
	// that may be evicted (only live-window and pinned ones are left).
	ErrFull = errors.New("dvr: full")
	// ErrTooManyPins: the event has Config.MaxPins pins already.
	ErrTooManyPins = errors.New("dvr: too many pins")
	// ErrInvalid: a bad argument (path traversal, empty id, ...).
	ErrInvalid = errors.New("dvr: invalid argument")
	// ErrClosed: the Store is closed.
	ErrClosed = errors.New("dvr: store closed")
)

// Entry describes one stored media segment. For an init segment (see
// PutInit) only Event, Path, ContentType and Size are set.
type Entry struct {
	Event string
	// Rendition is the media playlist's event-relative path, e.g.
	// "r0/index.m3u8".
	Rendition string
	// MSN is the output media sequence number, strictly increasing per
	// rendition.
	MSN uint64
	// Path is where the segment is served, relative to the event, e.g.
	// "r0/dvr/1234.ts"; unique in the event.
	Path     string
	Duration time.Duration
	// PDT is the program date time of the first sample; required.
	PDT           time.Time
	Discontinuity bool
	// DSN is the segment's discontinuity sequence number, so a playlist
	// that starts after evicted discontinuities still numbers them right.
	DSN uint64
	// Map is the event-relative path of the init segment ("" for TS); it
	// must have been stored with PutInit.
	Map         string
	ContentType string
	// Size is the body's length; 0 in a Put means len(body).
	Size int64
}

// Recovery counts what Open found and repaired; every item was also logged.
type Recovery struct {
	Events         int // events loaded
	Entries        int // segments and init segments kept
	TornBytes      int64
	BadRecords     int // CRC-valid records that made no sense, skipped
	TempFiles      int // unfinished body or log writes, removed
	OrphanFiles    int // bodies without a record, removed
	MissingFiles   int // records whose body was missing, dropped
	BadSizeFiles   int // records whose body had the wrong size, dropped
	OrphanSegments int // segments whose init segment was lost, dropped
	Compacted      int // logs rewritten
}

// Store is a crash-safe on-disk store of the segments of live events. Safe
// for concurrent use.
type Store struct {
	cfg Config
	log *slog.Logger

	// mu guards the index of every event (the fields of event marked so),
	// events, total and closed. Nothing does I/O while holding it.
	mu     sync.RWMutex
	events map[string]*event
	total  int64 // committed and reserved bytes of all events
	closed bool

	rec        Recovery
	compactMin int // dead records before a log is compacted
	dropSeq    atomic.Uint64
}

const defaultCompactMin = 1024

// Open opens (creating if needed) the store in cfg.Dir and recovers its
// index: torn or corrupt log tails are truncated, bodies without a record
// and unfinished writes are removed, records without a complete body are
// dropped, and the limits are enforced. What it repaired is logged and
// counted in Recovery. A nil log discards.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg.withDefaults(), log: log, events: make(map[string]*event), compactMin: defaultCompactMin}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Recovery reports what Open repaired.
func (s *Store) Recovery() Recovery { return s.rec }

// Open returns the stored body at path in event, positioned at offset 0,
// with its entry. The file stays readable if the entry is evicted while it
// is open. The caller closes it. ErrNotFound for an unknown event or path.
func (s *Store) Open(event, path string) (*os.File, Entry, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, Entry{}, ErrClosed
	}
	ev := s.events[event]
	var x *entry
	if ev != nil {
		x = ev.files[path]
	}
	if x == nil {
		s.mu.RUnlock()
		return nil, Entry{}, fmt.Errorf("%w: event %q, path %q", ErrNotFound, event, path)
	}
	e, name := ev.export(x), ev.bodyPath(x.seq)
	s.mu.RUnlock()
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		// Evicted or dropped since the lookup.
		return nil, Entry{}, fmt.Errorf("%w: event %q, path %q", ErrNotFound, event, path)
	}
	if err != nil {
		return nil, Entry{}, fmt.Errorf("dvr: event %q, path %q: %w", event, path, err)
	}
	return f, e, nil
}

// Get returns a copy of the stored body at path in event, and its entry.
func (s *Store) Get(event, path string) ([]byte, Entry, error) {
	f, e, err := s.Open(event, path)
	if err != nil {
		return nil, e, err
	}
	defer f.Close()
	b := make([]byte, e.Size)
	if _, err := f.ReadAt(b, 0); err != nil && !(err == io.EOF && e.Size == 0) {
		return nil, e, fmt.Errorf("dvr: event %q, path %q: read: %w", event, path, err)
	}
	return b, e, nil
}

// Entries returns the segments of a rendition ordered by MSN, those
// overlapping [from, to] by PDT and duration only; a zero from or to is
// unbounded.
func (s *Store) Entries(event, rendition string, from, to time.Time) []Entry {
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !from.IsZero() {
		lo = from.UnixNano()
	}
	if !to.IsZero() {
		hi = to.UnixNano()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ev := s.events[event]
	if ev == nil {
		return nil
	}
	r := ev.rends[rendition]
	if r == nil {
		return nil
	}
	es := r.entries
	if !r.unordered {
		// PDTs rise with MSN: from the first entry that may end after lo
		// (a long segment may start before it) to the last starting by hi.
		j := len(es)
		if hi < 1<<63-1 {
			j, _ = slices.BinarySearchFunc(es, hi+1, func(x *entry, t int64) int { return cmpI64(x.pdt, t) })
		}
		i, _ := slices.BinarySearchFunc(es[:j], lo, func(x *entry, t int64) int { return cmpI64(x.pdt, t) })
		for i > 0 && es[i-1].end() > lo {
			i--
		}
		es = es[i:j]
	}
	out := make([]Entry, 0, len(es))
	for _, x := range es {
		if x.overlaps(lo, hi) {
			out = append(out, ev.export(x))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func cmpI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Renditions lists the renditions of event that have segments, sorted.
func (s *Store) Renditions(event string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ev := s.events[event]
	if ev == nil {
		return nil
	}
	var out []string
	for n, r := range ev.rends {
		if len(r.entries) > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Events lists the stored events, sorted.
func (s *Store) Events() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.events))
	for n := range s.events {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Usage returns the bytes of stored bodies in total and per event.
func (s *Store) Usage() (total int64, perEvent map[string]int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	perEvent = make(map[string]int64, len(s.events))
	for n, ev := range s.events {
		perEvent[n] = ev.bytes
		total += ev.bytes
	}
	return total, perEvent
}

// DropEvent removes an event and everything stored for it, pins included.
// Puts of the event that are under way fail or land in a new, empty event.
func (s *Store) DropEvent(event string) error {
	s.mu.RLock()
	ev, closed := s.events[event], s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if ev == nil {
		return fmt.Errorf("%w: event %q", ErrNotFound, event)
	}
	ev.io.Lock()
	defer ev.io.Unlock()
	if ev.state.Load() != evOpen {
		return fmt.Errorf("%w: event %q", ErrNotFound, event)
	}
	// Rename first: the event's directory name is free for a new event at
	// once, and a crash before RemoveAll leaves a .drop- directory that
	// the next Open removes.
	trash := filepath.Join(s.cfg.Dir, fmt.Sprintf(".drop-%d-%d", time.Now().UnixNano(), s.dropSeq.Add(1)))
	if err := os.Rename(ev.dir, trash); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dvr: drop event %q: %w", event, err)
	}
	if err := s.syncDir(s.cfg.Dir); err != nil {
		s.log.Warn("dvr directory fsync failed after dropping an event", "event", event, "err", err)
	}
	ev.logMu.Lock()
	ev.closeFiles()
	ev.logMu.Unlock()
	s.mu.Lock()
	ev.state.Store(evDropped)
	if s.events[event] == ev {
		delete(s.events, event)
	}
	s.total -= ev.bytes
	ev.dels = nil
	s.mu.Unlock()
	if err := os.RemoveAll(trash); err != nil {
		s.log.Warn("removing a dropped event's files failed; the next Open retries", "event", event, "err", err)
	}
	return nil
}

// Close writes pending evictions to the logs and closes them. Calls after
// Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	evs := make([]*event, 0, len(s.events))
	for _, ev := range s.events {
		evs = append(evs, ev)
	}
	s.mu.Unlock()
	var errs []error
	for _, ev := range evs {
		ev.io.Lock()
		if ev.state.Load() == evOpen {
			ev.logMu.Lock()
			if ev.log != nil {
				if err := s.appendLocked(ev, nil, nil); err != nil {
					errs = append(errs, err)
				}
			}
			ev.closeFiles()
			ev.state.Store(evClosed)
			ev.logMu.Unlock()
		}
		ev.io.Unlock()
	}
	return errors.Join(errs...)
}

func (ev *event) closeFiles() {
	if ev.log != nil {
		ev.log.Close()
		ev.log = nil
	}
	if ev.segDir != nil {
		ev.segDir.Close()
		ev.segDir = nil
	}
	ev.ready.Store(false)
}
