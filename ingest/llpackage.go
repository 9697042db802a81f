package ingest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ringside-live/ringside/ingest/llhls"
	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// The packager of a low-latency event's segment uploads: one goroutine
// per upload in progress, after the previous segment of its rendition,
// scanning the upload with pkg/bmff as it grows and turning each fragment
// into a part (see lowlatency.go for the names and what is served).

// follow packages the segment upload p (just started) into parts, in a
// goroutine: after the previous segment of its rendition, once the MPD
// names it and its init segment is in.
func (o *Origin) follow(d *dash, p string, obj *object.Object) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		dt, n, ok := o.awaitMatch(d, p)
		if !ok {
			o.log.Debug("low latency: segment not in the MPD, not packaged", "event", d.ev.id, "path", p)
			return
		}
		d.mu.Lock()
		if dt.ll == nil {
			if !safeID(dt.id) {
				d.mu.Unlock()
				o.log.Warn("low latency: Representation id cannot name LL-HLS files, not packaged", "event", d.ev.id, "id", dt.id)
				return
			}
			dt.ll = &llTrack{id: dt.id, parts: map[partID]*llPart{}, tail: closedChan()}
		}
		lt := dt.ll
		prev, mine := lt.tail, make(chan struct{})
		lt.tail = mine
		d.mu.Unlock()
		defer close(mine)
		select {
		case <-prev:
		case <-o.ctx.Done():
			return
		}
		o.packageSegment(d, dt, lt, p, n, obj)
	}()
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// awaitMatch waits (up to ListedGrace, for an MPD arriving just after the
// segment's upload started) until the MPD names p.
func (o *Origin) awaitMatch(d *dash, p string) (*dashTrack, uint64, bool) {
	var timer <-chan time.Time
	for {
		d.mu.Lock()
		dt, n, ok := d.matchLocked(p)
		ch, gone := d.changed, d.gone
		d.mu.Unlock()
		if ok || gone {
			return dt, n, ok
		}
		if timer == nil {
			t := time.NewTimer(o.cfg.ListedGrace)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ch:
		case <-timer:
			return nil, 0, false
		case <-o.ctx.Done():
			return nil, 0, false
		}
	}
}

// initFor waits for the Representation's init segment and parses it (once
// per upload of it). changed is true when it differs from the one the
// previous segment had.
func (o *Origin) initFor(d *dash, dt *dashTrack, lt *llTrack, obj *object.Object) (in *bmff.Init, changed bool, err error) {
	d.mu.Lock()
	ip := dt.file.Init
	d.mu.Unlock()
	if ip == "" {
		return nil, false, errors.New("the MPD names no init segment")
	}
	ev := d.ev
	var iobj *object.Object
	for iobj == nil {
		ev.mu.Lock()
		if f := ev.files[ip]; f != nil {
			iobj = f.obj
		}
		ch := ev.changed
		ev.mu.Unlock()
		if iobj != nil {
			break
		}
		if obj.Done() {
			return nil, false, fmt.Errorf("no init segment %s by the end of the segment", ip)
		}
		select {
		case <-ch:
		case <-o.ctx.Done():
			return nil, false, o.ctx.Err()
		}
	}
	b, err := iobj.WaitDone(o.ctx)
	if err != nil {
		return nil, false, fmt.Errorf("init segment %s: %w", ip, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if lt.initObj == iobj {
		return lt.init, false, nil
	}
	in, err = bmff.ParseInit(b)
	if err != nil {
		return nil, false, fmt.Errorf("init segment %s: %w", ip, err)
	}
	changed = lt.init != nil
	lt.initObj, lt.init, lt.initPath = iobj, in, ip
	d.master = cachedObject{}
	return in, changed, nil
}

// segRun is the packaging of one segment.
type segRun struct {
	o           *Origin
	d           *dash
	dt          *dashTrack
	lt          *llTrack
	path        string
	dir         string // the playlists' directory
	contentType string
	msn         uint64
	disc        bool
	idx         int            // the next part's index
	cur         *object.Object // the part arriving, nil between parts
	curBW       *budgetWriter
	broken      bool // no more parts for this segment
	begun       bool
	total       time.Duration // every fragment's duration, parts or not
	lastPart    time.Duration // the duration of the last part listed
	received    time.Time     // when the chunk with the last fragment byte was read
}

// packageSegment turns the upload p (DASH number n) into parts as its
// bytes arrive, and completes the LL-HLS segment when the upload ends.
func (o *Origin) packageSegment(d *dash, dt *dashTrack, lt *llTrack, p string, n uint64, obj *object.Object) {
	in, initChanged, err := o.initFor(d, dt, lt, obj)
	if err != nil {
		o.log.Warn("low latency: segment not packaged", "event", d.ev.id, "path", p, "err", err)
		o.m.llErrors.Inc()
		d.mu.Lock()
		lt.skipped = true
		d.mu.Unlock()
		return
	}
	d.mu.Lock()
	r := &segRun{o: o, d: d, dt: dt, lt: lt, path: p, contentType: "video/mp4", dir: d.dir,
		disc: lt.hasLast && (n != lt.lastNumber+1 || initChanged || lt.skipped)}
	if strings.HasPrefix(mimeOf(dt), "audio/") {
		r.contentType = "audio/mp4"
	}
	if lt.tl.Load() != nil {
		r.msn, _ = lt.tl.Load().Next()
	} else {
		if !lt.hasLast {
			lt.next = n
		}
		r.msn = lt.next
	}
	lt.lastNumber, lt.hasLast, lt.skipped = n, true, false
	d.mu.Unlock()

	var frags []bmff.Fragment
	sc := bmff.NewScanner(in, func(f bmff.Fragment) { frags = append(frags, f) })
	off := 0
	var failed error
	for {
		b, err := obj.Wait(o.ctx, off)
		if err == io.EOF {
			break
		}
		if err != nil {
			failed = err
			break
		}
		r.received = time.Now()
		frags = frags[:0]
		if !r.broken {
			if _, err := sc.Write(b); err != nil {
				r.fail("the segment is not CMAF as expected", err)
			}
		}
		pos := int64(off)
		for _, f := range frags {
			end := f.Offset + f.Size
			r.write(b[pos-int64(off) : end-int64(off)])
			r.total += fragDuration(&f)
			r.publish(&f)
			pos = end
		}
		if pos < int64(off+len(b)) {
			r.write(b[pos-int64(off):])
		}
		off += len(b)
	}
	if failed == nil && !r.broken {
		if err := sc.Close(); err != nil {
			r.fail("the segment ends inside a box", err)
		}
	}
	r.dropCur()
	r.end(failed)
}

func fragDuration(f *bmff.Fragment) time.Duration {
	return time.Duration(math.Round(f.Seconds() * float64(time.Second)))
}

// fail stops making parts of this segment.
func (r *segRun) fail(why string, err error) {
	if !r.broken {
		r.o.log.Warn("low latency: no more parts for this segment: "+why, "event", r.d.ev.id, "path", r.path, "err", err)
		r.o.m.llErrors.Inc()
	}
	r.broken = true
	r.dropCur()
}

// write appends bytes to the part arriving, starting it (readable from
// its first byte) when there is none.
func (r *segRun) write(b []byte) {
	if r.broken || len(b) == 0 {
		return
	}
	if r.cur == nil {
		r.cur = object.New(object.Meta{Status: 200, Kind: segment.KindSegment, ContentType: r.contentType,
			CacheControl: object.CacheControl(segment.KindSegment, 0), Source: "ingest"}, 0)
		r.curBW = r.o.newBudgetWriter(r.d.ev, r.cur, r.inDir(partPath(r.lt.id, r.msn, r.idx)), r.o.cfg.MaxBodyBytes, -1)
		r.d.mu.Lock()
		r.lt.parts[partID{r.msn, r.idx}] = &llPart{obj: r.cur}
		r.d.wakeLocked()
		r.d.mu.Unlock()
	}
	if _, err := r.curBW.Write(b); err != nil {
		r.fail("no room for the part", err)
	}
}

// mimeOf is the Representation's (else its AdaptationSet's) mimeType;
// d.mu held.
func mimeOf(dt *dashTrack) string {
	if m := dt.track.Representation.MimeType; m != "" || dt.track.AdaptationSet == nil {
		return m
	}
	return dt.track.AdaptationSet.MimeType
}

// dropCur abandons the part arriving (the segment ended or broke before
// it was a whole fragment).
func (r *segRun) dropCur() {
	if r.cur == nil {
		return
	}
	r.cur.Fail(errors.New("the fragment did not complete"))
	r.curBW.abandon()
	r.d.mu.Lock()
	delete(r.lt.parts, partID{r.msn, r.idx})
	r.d.wakeLocked()
	r.d.mu.Unlock()
	r.cur, r.curBW = nil, nil
}

// publish completes the part arriving with fragment f and lists it.
func (r *segRun) publish(f *bmff.Fragment) {
	if r.broken || r.cur == nil {
		return
	}
	obj, bw := r.cur, r.curBW
	r.cur, r.curBW = nil, nil
	bw.trim()
	size := bw.handOver()
	obj.Close()
	d, lt := r.d, r.lt
	dur := fragDuration(f)
	r.lastPart = dur
	if lt.tl.Load() == nil {
		if err := r.newTimeline(f, dur); err != nil {
			r.o.release(d.ev, size)
			d.mu.Lock()
			delete(lt.parts, partID{r.msn, r.idx})
			d.mu.Unlock()
			r.fail("cannot start the LL-HLS rendition", err)
			return
		}
	}
	if !r.begun {
		msn, err := lt.tl.Load().Begin(llhls.Segment{URI: r.relative(r.path), Discontinuity: r.disc})
		if err == nil && msn != r.msn {
			err = fmt.Errorf("%w: segment %d, expected %d", llhls.ErrOrder, msn, r.msn)
		}
		if err != nil {
			r.o.release(d.ev, size)
			r.fail("out of order", err)
			return
		}
		r.begun = true
	}
	var start time.Time
	if r.idx == 0 && len(f.Tracks) > 0 {
		start = d.wallClock(r.dt, f.Tracks[0])
	}
	d.mu.Lock()
	if d.gone { // the event was removed: its reservations went with it
		d.mu.Unlock()
		r.o.release(d.ev, size)
		r.broken = true
		return
	}
	if pt := lt.parts[partID{r.msn, r.idx}]; pt != nil && pt.obj == obj {
		pt.size = size
	}
	d.mu.Unlock()
	if _, _, err := lt.tl.Load().AddPart(llhls.Part{Duration: dur, Independent: f.Independent(), Start: start}); err != nil {
		d.mu.Lock()
		delete(lt.parts, partID{r.msn, r.idx})
		d.mu.Unlock()
		r.o.release(d.ev, size)
		r.fail("the fragment cannot be a part", err)
		return
	}
	lt.lastChange.Store(time.Now().UnixNano())
	r.o.m.parts.Inc()
	r.o.m.partDelay.Observe(time.Since(r.received).Seconds())
	r.pushPart(obj)
	r.pushPlaylist(r.msn, r.idx)
	if r.idx == 0 {
		// A request for the part after the previous segment's last one
		// means this one (RFC 8216bis 6.2.5.2): its key is answered now.
		d.mu.Lock()
		prev := lt.lastParts
		d.mu.Unlock()
		if prev.n > 0 && prev.msn+1 == r.msn {
			r.pushPlaylist(prev.msn, prev.n)
		}
	}
	r.idx++
	d.mu.Lock()
	d.wakeLocked()
	d.mu.Unlock()
}

// pushPart hands the part just listed to the push filler (the node puts
// it in its shield owners' caches), so the players reading the playlist
// that lists it find it there instead of asking this node. It does not
// delay the listing.
func (r *segRun) pushPart(obj *object.Object) {
	if r.o.filler == nil {
		return
	}
	r.push(r.inDir(partPath(r.lt.id, r.msn, r.idx)), obj)
}

// push hands obj to the push filler under p (inside the event), in the
// background: pushing never delays listing.
func (r *segRun) push(p string, obj *object.Object) {
	r.o.wg.Add(1)
	go func() {
		defer r.o.wg.Done()
		if err := r.o.filler.Fill(r.o.ctx, r.d.ev.id, p, obj); err != nil {
			r.o.log.Debug("low latency: push failed", "event", r.d.ev.id, "key", p, "err", err)
		}
	}()
}

// inDir is name (relative to the playlists) as a path inside the event.
func (r *segRun) inDir(name string) string {
	if r.dir == "" {
		return name
	}
	return r.dir + "/" + name
}

// pushPlaylist hands the playlist that now answers blocking requests for
// (msn, part) (part < 0: the whole segment) to the push filler, full and
// as a delta update, each under its blocking key: the key's shield owners
// answer the requests they hold for it without asking this node.
func (r *segRun) pushPlaylist(msn uint64, part int) {
	if r.o.filler == nil {
		return
	}
	name := r.inDir("ll-" + r.lt.id + ".m3u8")
	for _, skip := range [...]string{"", "YES"} {
		d := segment.Directives{MSN: int64(msn), Part: int64(part), Skip: skip}
		if part < 0 {
			d.Part = -1
		}
		r.push(string(d.AppendKey(nil, name)), r.d.mediaPlaylist(r.lt, skip != ""))
	}
}

// newTimeline starts the rendition's LL-HLS timeline at the first part.
// PART-TARGET is the event's part target, unless the encoder's first
// fragment is longer: then one sample more (ffmpeg ends a fragment at the
// first sample past -frag_duration, so with -frag_duration equal to the
// part target its fragments run up to one sample over).
func (r *segRun) newTimeline(f *bmff.Fragment, dur time.Duration) error {
	d, lt := r.d, r.lt
	pt := d.partTarget
	if dur > pt && len(f.Tracks) > 0 && f.Tracks[0].Samples > 0 {
		sample := dur / time.Duration(f.Tracks[0].Samples)
		pt = (pt + sample + time.Millisecond - 1).Truncate(time.Millisecond)
	}
	d.mu.Lock()
	td := d.targetDurationLocked(r.dt)
	var sd time.Duration
	if tm := r.dt.track.Template; tm != nil && tm.Timeline == nil {
		sd, _ = unitsDuration(tm.Duration, tm.Timescale)
	}
	mapURI := r.relative(lt.initPath)
	first := r.msn
	d.mu.Unlock()
	id := lt.id
	tl, err := llhls.New(llhls.Config{PartTarget: pt, TargetDuration: td, Window: llWindow, Map: mapURI, SegmentDuration: sd,
		SegmentURI: func(msn uint64) string { return "" },
		PartURI:    func(msn uint64, i int) string { return partPath(id, msn, i) }}, first)
	if err != nil {
		return err
	}
	d.mu.Lock()
	lt.tl.Store(tl)
	d.master = cachedObject{}
	initPath := lt.initPath
	d.mu.Unlock()
	r.o.listPaths(d.ev, []string{initPath})
	return nil
}

// relative is p (inside the event) relative to the playlists' directory.
func (r *segRun) relative(p string) string {
	if r.dir == "" {
		return p
	}
	return strings.TrimPrefix(p, r.dir+"/")
}

// end completes the LL-HLS segment: listed with EXT-X-GAP when its upload
// failed, its DASH file listed (kept while the playlist lists it), parts of
// old segments dropped.
func (r *segRun) end(failed error) {
	d, lt := r.d, r.lt
	if !r.begun {
		d.mu.Lock()
		lt.skipped = true
		d.mu.Unlock()
		return
	}
	if _, err := lt.tl.Load().End(r.total, failed != nil); err != nil {
		r.o.log.Warn("low latency: segment", "event", d.ev.id, "path", r.path, "err", err)
	}
	if failed == nil && !r.broken && r.idx > 1 && r.lastPart*5 < d.partTarget {
		// A sliver of a part (one or two AAC frames) is valid LL-HLS, but
		// Chromium buffers nothing of it and hls.js can stall there.
		r.o.m.llSlivers.Inc()
		if lt.sliverWarned.CompareAndSwap(false, true) {
			r.o.log.Warn("low latency: the encoder's fragments leave a short last part in each segment; players (hls.js) can stall on it: "+
				"choose -frag_duration so that a segment's frames split into fragments with a longer rest (README: the low-latency push)",
				"event", d.ev.id, "path", r.path, "last_part", r.lastPart, "part_target", d.partTarget)
		}
	}
	if failed == nil {
		r.o.listPaths(d.ev, []string{r.path})
	}
	r.pushPlaylist(r.msn, -1)
	var unlist []string
	var release int64
	d.mu.Lock()
	lt.lastParts = msnParts{r.msn, r.idx}
	if failed == nil {
		lt.segs = append(lt.segs, llSeg{msn: r.msn, path: r.path})
	}
	for len(lt.segs) > llWindow {
		unlist = append(unlist, lt.segs[0].path)
		lt.segs = lt.segs[1:]
	}
	for id, pt := range lt.parts {
		if id.msn+llPartSegments <= r.msn && pt.obj.Done() {
			delete(lt.parts, id)
			release += pt.size
		}
	}
	d.wakeLocked()
	d.mu.Unlock()
	r.o.release(d.ev, release)
	if len(unlist) > 0 {
		d.ev.mu.Lock()
		retired := r.o.unlist(d.ev, unlist, nil)
		d.ev.mu.Unlock()
		r.o.retireAll(retired)
	}
}
