package dvr

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// entry is one stored body: a media segment (rend != nil) or an init
// segment (rend == nil). Times are Unix nanoseconds to keep it small; see
// the memory note in doc.go.
type entry struct {
	path  string
	rend  *rendition // nil: init segment
	init  *entry     // the init segment this segment names, or nil
	ctype string     // interned per event
	msn   uint64
	pdt   int64
	dur   int64
	size  int64
	seq   uint64 // body file number, unique in the event
	refs  int32  // init segments: segments (stored or being put) naming it
	disc  bool
	dsn   uint64
	gone  bool // evicted: removed from the index, del record maybe pending
}

// end is where the entry's media ends, at least 1 ns after its start so
// that a zero-duration entry still overlaps the instant it starts at.
func (x *entry) end() int64 { return x.pdt + max(x.dur, 1) }

// overlaps reports whether x overlaps the closed interval [from, to].
func (x *entry) overlaps(from, to int64) bool { return x.pdt <= to && x.end() > from }

// rendition is one media playlist's stored segments, ordered by MSN.
type rendition struct {
	name    string
	ev      *event
	entries []*entry
	pending []uint64 // MSNs of Puts admitted but not yet committed
	// unordered: some entry's PDT is before its predecessor's, so Entries
	// cannot binary-search by time.
	unordered bool
}

// lastMSN is the highest MSN stored or being put.
func (r *rendition) lastMSN() (uint64, bool) {
	var last uint64
	ok := false
	if n := len(r.entries); n > 0 {
		last, ok = r.entries[n-1].msn, true
	}
	for _, m := range r.pending {
		if !ok || m > last {
			last, ok = m, true
		}
	}
	return last, ok
}

func (r *rendition) insert(x *entry) {
	i := len(r.entries)
	if i > 0 && r.entries[i-1].msn > x.msn {
		i, _ = slices.BinarySearchFunc(r.entries, x.msn, func(e *entry, m uint64) int { return cmpU64(e.msn, m) })
	}
	r.entries = slices.Insert(r.entries, i, x)
	if i > 0 && r.entries[i-1].pdt > x.pdt || i+1 < len(r.entries) && r.entries[i+1].pdt < x.pdt {
		r.unordered = true
	}
}

func (r *rendition) has(msn uint64) bool {
	_, ok := slices.BinarySearchFunc(r.entries, msn, func(e *entry, m uint64) int { return cmpU64(e.msn, m) })
	return ok
}

// sweep removes the entries marked gone.
func (r *rendition) sweep() {
	lead := 0
	for lead < len(r.entries) && r.entries[lead].gone {
		lead++
	}
	clear(r.entries[:lead])
	r.entries = r.entries[lead:]
	if slices.ContainsFunc(r.entries, func(x *entry) bool { return x.gone }) {
		r.entries = slices.DeleteFunc(r.entries, func(x *entry) bool { return x.gone })
	}
	if len(r.entries) == 0 {
		r.entries = nil // let the backing array go
	}
}

func (r *rendition) dropPending(msn uint64) {
	if i := slices.Index(r.pending, msn); i >= 0 {
		r.pending = slices.Delete(r.pending, i, i+1)
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Pin keeps the entries overlapping [From, To] from eviction.
type Pin struct {
	Name     string
	From, To time.Time
}

type pin struct {
	name     string
	from, to int64
}

// Event states.
const (
	evOpen int32 = iota
	evDropped
	evClosed
)

// event is one event's index and log. The index fields are guarded by
// Store.mu; the log fields by logMu.
type event struct {
	name string
	dir  string

	// Guarded by Store.mu.
	rends    map[string]*rendition
	files    map[string]*entry        // path → segment or init segment
	pending  map[string]chan struct{} // paths of Puts admitted but not committed; closed when done
	pins     []pin                    // by name
	window   int64                    // policy: ns, 0 none
	maxBytes int64                    // policy: 0 the store's default
	policy   bool                     // a policy record is live in the log
	bytes    int64                    // committed bodies
	reserved int64                    // admitted, not yet committed
	dels     []*entry                 // evicted; del record not yet in the log
	nextSeq  uint64
	strs     map[string]string // interned renditions and content types

	// io: Puts hold it shared for their file I/O; DropEvent and Close
	// hold it exclusively, so a directory is never renamed or closed
	// under a writer.
	io    sync.RWMutex
	state atomic.Int32

	ready  atomic.Bool // directory and log exist
	logMu  sync.Mutex
	log    *os.File // O_APPEND
	segDir *os.File // for fsync after renames
	nrec   int      // records in the log
	logErr error    // set when the log can no longer be trusted
}

func newEvent(name, dir string) *event {
	return &event{
		name: name, dir: dir,
		rends: make(map[string]*rendition), files: make(map[string]*entry),
		pending: make(map[string]chan struct{}), strs: make(map[string]string),
	}
}

func (ev *event) intern(s string) string {
	if v, ok := ev.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	ev.strs[s] = s
	return s
}

func (ev *event) rendition(name string) *rendition {
	r := ev.rends[name]
	if r == nil {
		r = &rendition{name: ev.intern(name), ev: ev}
		ev.rends[r.name] = r
	}
	return r
}

// newest is the latest PDT among the newest entries of the renditions.
func (ev *event) newest() int64 {
	n := int64(math.MinInt64)
	for _, r := range ev.rends {
		if k := len(r.entries); k > 0 {
			n = max(n, r.entries[k-1].pdt)
		}
	}
	return n
}

func (ev *event) pinned(x *entry) bool {
	for _, p := range ev.pins {
		if x.overlaps(p.from, p.to) {
			return true
		}
	}
	return false
}

// live counts the records a compacted log would hold.
func (ev *event) live() int {
	n := len(ev.files) + len(ev.pins)
	if ev.policy {
		n++
	}
	return n
}

// apply changes the index as r says. Replay uses it for every record and
// the Store for its own records once they are durable. It leaves init
// reference counts to recount (replay) or to admission (Put), and the
// store's byte total to the caller.
func (ev *event) apply(r *record) error {
	if r.seq >= ev.nextSeq && (r.kind == kindPut || r.kind == kindInit) {
		ev.nextSeq = r.seq + 1
	}
	switch r.kind {
	case kindPut:
		if err := checkPath("path", r.path); err != nil {
			return err
		}
		if _, ok := ev.files[r.path]; ok {
			return fmt.Errorf("path %q stored twice", r.path)
		}
		if r.size < 0 || r.dur < 0 {
			return fmt.Errorf("path %q: negative size or duration", r.path)
		}
		var init *entry
		if r.mapPath != "" {
			init = ev.files[r.mapPath]
			if init == nil || init.rend != nil {
				return fmt.Errorf("path %q: map %q is not a stored init segment", r.path, r.mapPath)
			}
		}
		if err := checkPath("rendition", r.rendition); err != nil {
			return err
		}
		rd := ev.rendition(r.rendition)
		if rd.has(r.msn) {
			return fmt.Errorf("path %q: rendition %q has MSN %d already", r.path, r.rendition, r.msn)
		}
		x := &entry{
			path: strings.Clone(r.path), rend: rd, init: init, ctype: ev.intern(r.ctype),
			msn: r.msn, pdt: r.pdt, dur: r.dur, size: r.size, seq: r.seq, disc: r.disc, dsn: r.dsn,
		}
		rd.insert(x)
		ev.files[x.path] = x
		ev.bytes += x.size
	case kindInit:
		if err := checkPath("path", r.path); err != nil {
			return err
		}
		if _, ok := ev.files[r.path]; ok {
			return fmt.Errorf("path %q stored twice", r.path)
		}
		if r.size < 0 {
			return fmt.Errorf("path %q: negative size", r.path)
		}
		x := &entry{path: strings.Clone(r.path), ctype: ev.intern(r.ctype), size: r.size, seq: r.seq}
		ev.files[x.path] = x
		ev.bytes += x.size
	case kindDel:
		x := ev.files[r.path]
		if x == nil || x.seq != r.seq {
			return fmt.Errorf("delete of %q (file %d), which is not stored", r.path, r.seq)
		}
		ev.remove(x)
		if x.rend != nil {
			x.rend.sweep()
		}
	case kindPin:
		if r.from > r.to {
			return fmt.Errorf("pin %q: from after to", r.name)
		}
		ev.setPin(pin{name: strings.Clone(r.name), from: r.from, to: r.to})
	case kindUnpin:
		if !ev.unpin(r.name) {
			return fmt.Errorf("unpin of %q, which is not pinned", r.name)
		}
	case kindPolicy:
		if r.window < 0 || r.maxBytes < 0 {
			return fmt.Errorf("negative policy")
		}
		ev.window, ev.maxBytes, ev.policy = r.window, r.maxBytes, true
	default:
		return fmt.Errorf("unknown record kind %d", r.kind)
	}
	return nil
}

// remove takes x out of the path index and the byte count and marks it
// gone; the caller sweeps its rendition.
func (ev *event) remove(x *entry) {
	delete(ev.files, x.path)
	ev.bytes -= x.size
	x.gone = true
	if x.init != nil {
		x.init.refs--
	}
}

func (ev *event) setPin(p pin) {
	i, ok := slices.BinarySearchFunc(ev.pins, p.name, func(q pin, n string) int { return strings.Compare(q.name, n) })
	if ok {
		ev.pins[i] = p
		return
	}
	ev.pins = slices.Insert(ev.pins, i, p)
}

func (ev *event) unpin(name string) bool {
	i, ok := slices.BinarySearchFunc(ev.pins, name, func(q pin, n string) int { return strings.Compare(q.name, n) })
	if ok {
		ev.pins = slices.Delete(ev.pins, i, i+1)
	}
	return ok
}

// recount sets every init segment's reference count from the segments.
func (ev *event) recount() {
	for _, x := range ev.files {
		if x.rend == nil {
			x.refs = 0
		}
	}
	for _, x := range ev.files {
		if x.init != nil {
			x.init.refs++
		}
	}
}

// export is x as the API shows it.
func (ev *event) export(x *entry) Entry {
	e := Entry{Event: ev.name, Path: x.path, ContentType: x.ctype, Size: x.size}
	if x.rend != nil {
		e.Rendition = x.rend.name
		e.MSN = x.msn
		e.Duration = time.Duration(x.dur)
		e.PDT = time.Unix(0, x.pdt).UTC()
		e.Discontinuity = x.disc
		e.DSN = x.dsn
		if x.init != nil {
			e.Map = x.init.path
		}
	}
	return e
}

// snapshot is the index as a minimal list of records: init segments first
// (segments name them), then segments by rendition and MSN, pins, policy.
func (ev *event) snapshot() []record {
	recs := make([]record, 0, ev.live())
	for _, x := range ev.files {
		if x.rend == nil {
			recs = append(recs, record{kind: kindInit, seq: x.seq, path: x.path, ctype: x.ctype, size: x.size})
		}
	}
	slices.SortFunc(recs, func(a, b record) int { return cmpU64(a.seq, b.seq) })
	names := make([]string, 0, len(ev.rends))
	for n := range ev.rends {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, x := range ev.rends[n].entries {
			recs = append(recs, putRecord(x))
		}
	}
	for _, p := range ev.pins {
		recs = append(recs, record{kind: kindPin, name: p.name, from: p.from, to: p.to})
	}
	if ev.policy {
		recs = append(recs, record{kind: kindPolicy, window: ev.window, maxBytes: ev.maxBytes})
	}
	return recs
}

func putRecord(x *entry) record {
	r := record{
		kind: kindPut, seq: x.seq, path: x.path, rendition: x.rend.name, msn: x.msn,
		dur: x.dur, pdt: x.pdt, disc: x.disc, dsn: x.dsn, ctype: x.ctype, size: x.size,
	}
	if x.init != nil {
		r.mapPath = x.init.path
	}
	return r
}

func delRecord(x *entry) record { return record{kind: kindDel, seq: x.seq, path: x.path} }
