package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/ingest/llhls"
	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// A low-latency event's CMAF push (ffmpeg -f dash -ldash 1 -streaming 1:
// one chunked PUT per segment lasting the whole segment) is packaged as
// LL-HLS while it arrives. Beside the MPD, in its directory, Ringside
// writes:
//
//	ll.m3u8                    the master playlist (from the MPD and the init segments)
//	ll-{rep}.m3u8              one media playlist per Representation
//	ll-{rep}/{msn}.{part}.m4s  the parts
//
// Segments and init segments are the pushed DASH files, so HLS and DASH
// players share one cache entry per segment. A part is one CMAF fragment
// (moof+mdat and the boxes before it), found by pkg/bmff as the segment's
// bytes arrive; it is listed the moment its last byte is in, and it is
// readable, and streamed to players that asked for it from the preload
// hint, from its first byte. Parts are copies (a few hundred kilobytes per
// rendition, reserved from the event's budget) kept for llPartSegments
// segments. These names are reserved in a low-latency event: an encoder
// cannot upload them.

const (
	llMaster = "ll.m3u8"
	// llWindow is how many segments an LL-HLS media playlist lists: twice
	// CAN-SKIP-UNTIL (6 target durations), so delta updates skip half.
	llWindow = 12
	// llPartSegments is how many of the newest segments keep their parts
	// (they are listed for the last 3 target durations).
	llPartSegments = 5
)

// llTrack is the LL-HLS rendition of one Representation. Its fields are
// guarded by the dash mutex, except tl (its own lock) and the render
// cache (renderMu).
type llTrack struct {
	id   string
	tl   atomic.Pointer[llhls.Rendition] // nil until its first part; set once
	next uint64                          // msn of the next segment when tl is nil

	initPath string
	initObj  *object.Object
	init     *bmff.Init

	lastNumber uint64 // DASH number of the last segment packaged
	hasLast    bool
	skipped    bool          // a segment was not packaged: the next one is discontinuous
	tail       chan struct{} // closed when the previous segment's packaging is done

	parts     map[partID]*llPart
	segs      []llSeg  // completed segments still listed, oldest first
	lastParts msnParts // the last completed segment and its part count

	lastChange atomic.Int64 // when the last part was listed (unix ns)
	// sliverWarned: the short last part warning was logged.
	sliverWarned atomic.Bool

	renderMu sync.Mutex
	render   [2]cachedObject // full, delta
}

type partID struct {
	msn uint64
	i   int
}

type llPart struct {
	obj  *object.Object
	size int64 // bytes reserved for it
}

type msnParts struct {
	msn uint64
	n   int
}

type llSeg struct {
	msn  uint64
	path string // the DASH file, listed while the segment is
}

func partPath(id string, msn uint64, i int) string {
	return "ll-" + id + "/" + strconv.FormatUint(msn, 10) + "." + strconv.Itoa(i) + ".m4s"
}

// llKind is what a path of a low-latency event names.
type llKind int

const (
	llNone llKind = iota
	llMasterFile
	llMediaFile
	llPartFile
)

// llName classifies p (inside the event); it does not allocate.
func (d *dash) llName(p string) (kind llKind, id string, msn uint64, part int) {
	rel := p
	if d.dir != "" {
		if !strings.HasPrefix(p, d.dir) || len(p) <= len(d.dir) || p[len(d.dir)] != '/' {
			return llNone, "", 0, 0
		}
		rel = p[len(d.dir)+1:]
	}
	if !strings.HasPrefix(rel, "ll") {
		return llNone, "", 0, 0
	}
	if rel == llMaster {
		return llMasterFile, "", 0, 0
	}
	if !strings.HasPrefix(rel, "ll-") {
		return llNone, "", 0, 0
	}
	rest := rel[3:]
	if slash := strings.IndexByte(rest, '/'); slash >= 0 {
		id, file := rest[:slash], rest[slash+1:]
		num, ok := strings.CutSuffix(file, ".m4s")
		ms, ps, ok2 := strings.Cut(num, ".")
		if !ok || !ok2 {
			return llNone, "", 0, 0
		}
		m, err1 := strconv.ParseUint(ms, 10, 64)
		n, err2 := strconv.Atoi(ps)
		if err1 != nil || err2 != nil || n < 0 {
			return llNone, "", 0, 0
		}
		return llPartFile, id, m, n
	}
	if id, ok := strings.CutSuffix(rest, ".m3u8"); ok {
		return llMediaFile, id, 0, 0
	}
	return llNone, "", 0, 0
}

// reservedLL reports whether an encoder's upload to p would take a name
// Ringside writes in a low-latency event.
func (d *dash) reservedLL(p string) bool {
	if d == nil || d.partTarget <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mpd == nil { // no MPD yet: the names are relative to where it will be
		base := p[strings.LastIndexByte(p, '/')+1:]
		return base == llMaster || strings.HasPrefix(base, "ll-") || strings.Contains(p, "/ll-") || strings.HasPrefix(p, "ll-")
	}
	k, _, _, _ := d.llName(p)
	return k != llNone
}

// llGet returns a low-latency file: the master, a media playlist as it is
// now, or a part (complete or arriving). ok is false when p is not an
// LL-HLS name.
func (d *dash) llGet(p string) (*object.Object, bool, error) {
	d.mu.Lock()
	kind, id, msn, part := d.llName(p)
	if kind == llNone {
		d.mu.Unlock()
		return nil, false, nil
	}
	if kind == llMasterFile {
		obj, err := d.masterLocked()
		d.mu.Unlock()
		return obj, true, err
	}
	dt := d.tracks[id]
	if dt == nil || dt.ll == nil || dt.ll.tl.Load() == nil {
		d.mu.Unlock()
		return nil, true, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	lt := dt.ll
	if kind == llPartFile {
		pt := lt.parts[partID{msn, part}]
		d.mu.Unlock()
		if pt == nil {
			return nil, true, fmt.Errorf("%w: %s", ErrNotFound, p)
		}
		return pt.obj, true, nil
	}
	d.mu.Unlock()
	return d.mediaPlaylist(lt, false), true, nil
}

// versionKey changes whenever any rendition of the event moves, so a
// cached playlist (whose rendition reports name every sibling) is current
// while it is the same.
func (d *dash) versionKey() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var k uint64
	for _, dt := range d.tracks {
		if dt.ll != nil && dt.ll.tl.Load() != nil {
			k += dt.ll.tl.Load().Version()
		}
	}
	return k
}

// reports are the rendition reports of lt's siblings.
func (d *dash) reports(lt *llTrack) []llhls.Report {
	d.mu.Lock()
	var tls []*llTrack
	for _, dt := range d.tracks {
		if dt.ll != nil && dt.ll != lt && dt.ll.tl.Load() != nil {
			tls = append(tls, dt.ll)
		}
	}
	d.mu.Unlock()
	sort.Slice(tls, func(i, j int) bool { return tls[i].id < tls[j].id })
	out := make([]llhls.Report, 0, len(tls))
	for _, s := range tls {
		if r, ok := s.tl.Load().Report("ll-" + s.id + ".m3u8"); ok {
			out = append(out, r)
		}
	}
	return out
}

// mediaPlaylist renders lt's playlist (a delta update with skip), or
// returns the one rendered since nothing moved.
func (d *dash) mediaPlaylist(lt *llTrack, skip bool) *object.Object {
	key := d.versionKey()
	i := 0
	if skip {
		i = 1
	}
	lt.renderMu.Lock()
	defer lt.renderMu.Unlock()
	if c := lt.render[i]; c.obj != nil && c.key == key {
		return c.obj
	}
	body := lt.tl.Load().Playlist(skip, d.reports(lt))
	obj := object.NewComplete(object.Meta{Status: 200, Kind: segment.KindPlaylist,
		ContentType: "application/vnd.apple.mpegurl", CacheControl: llPlaylistCC,
		Gzip: object.Compress(body), Source: "ingest"}, body)
	lt.render[i] = cachedObject{key: key, obj: obj}
	return obj
}

// llPlaylistCC: an LL-HLS playlist changes with every part.
const llPlaylistCC = "public, max-age=0"

// Errors of blocking playlist requests.
var (
	// ErrTooFarAhead: _HLS_msn/_HLS_part beyond what the spec lets a
	// client wait for (400).
	ErrTooFarAhead = errors.New("ingest: blocking request too far ahead of the live edge")
	// ErrBlockTimeout: the part did not appear within three target
	// durations (503, as RFC 8216bis asks).
	ErrBlockTimeout = errors.New("ingest: the requested part did not appear within three target durations")
	// ErrNotLowLatency: the path is not an LL-HLS media playlist Ringside
	// writes.
	ErrNotLowLatency = errors.New("ingest: not a low-latency media playlist")
)

// Blocking answers a request with LL-HLS directives for a media playlist
// Ringside writes: it waits until the part _HLS_msn/_HLS_part exists (at
// most three target durations: ErrBlockTimeout), then returns the
// playlist, a delta update when _HLS_skip asks for one.
func (o *Origin) Blocking(ctx context.Context, id, p string, dir segment.Directives) (*object.Object, error) {
	ev := o.event(id)
	if ev == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoEvent, id)
	}
	d := ev.dashState()
	if d == nil || d.partTarget <= 0 {
		return nil, ErrNotLowLatency
	}
	d.mu.Lock()
	kind, rep, _, _ := d.llName(p)
	var lt *llTrack
	if dt := d.tracks[rep]; kind == llMediaFile && dt != nil {
		lt = dt.ll
	}
	d.mu.Unlock()
	if kind != llMediaFile {
		return nil, ErrNotLowLatency
	}
	if lt == nil || lt.tl.Load() == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	if dir.MSN >= 0 {
		part := -1
		if dir.Part >= 0 {
			part = int(dir.Part)
		}
		wctx, cancel := context.WithTimeout(ctx, 3*lt.tl.Load().TargetDuration())
		o.m.parked.Inc()
		waited := time.Now()
		err := lt.tl.Load().Wait(wctx, uint64(dir.MSN), part)
		o.m.parked.Dec()
		timedOut := wctx.Err() == context.DeadlineExceeded
		cancel()
		switch {
		case errors.Is(err, llhls.ErrTooFarAhead):
			return nil, fmt.Errorf("%w: %w", ErrTooFarAhead, err)
		case err != nil && timedOut:
			return nil, fmt.Errorf("%w: %s _HLS_msn=%d _HLS_part=%d", ErrBlockTimeout, p, dir.MSN, dir.Part)
		case err != nil:
			return nil, err
		}
		obj := d.mediaPlaylist(lt, dir.Skip != "")
		if changed := time.Unix(0, lt.lastChange.Load()); changed.After(waited) {
			o.m.wake.Observe(time.Since(changed).Seconds())
		}
		return obj, nil
	}
	return d.mediaPlaylist(lt, dir.Skip != ""), nil
}

// Await is Get for a file that is about to exist: a part named by a
// preload hint (held until its first byte arrives, then streamed), or a
// DASH media segment requested just before its upload starts (held until
// its availability time, see dash.holdUntil). Anything else is Get. The
// wait is bounded by the origin, whatever ctx.
func (o *Origin) Await(ctx context.Context, id, p string) (*object.Object, error) {
	obj, err := o.Get(id, p)
	if !errors.Is(err, ErrNotFound) {
		return obj, err
	}
	ev := o.event(id)
	if ev == nil { // a redundant event's output holds nothing back
		return nil, err
	}
	d := ev.dashState()
	if d == nil {
		return nil, err
	}
	if d.partTarget > 0 {
		d.mu.Lock()
		kind, rep, msn, part := d.llName(p)
		var lt *llTrack
		if dt := d.tracks[rep]; dt != nil {
			lt = dt.ll
		}
		d.mu.Unlock()
		if kind == llPartFile {
			if lt == nil || lt.tl.Load() == nil {
				return nil, err
			}
			return o.awaitPart(ctx, d, lt, p, msn, part)
		}
		if kind != llNone {
			return nil, err
		}
	}
	if until, ok := d.holdUntil(p, o.now()); ok {
		return o.awaitFile(ctx, ev, d, p, until)
	}
	return nil, err
}

// awaitPart holds a request for part (msn, i) until the part's first byte
// is in, for the part the preload hint names or one just past it; at most
// three target durations.
func (o *Origin) awaitPart(ctx context.Context, d *dash, lt *llTrack, p string, msn uint64, i int) (*object.Object, error) {
	nextMSN, nextPart := lt.tl.Load().Next()
	if msn > nextMSN+1 || (msn == nextMSN && i > nextPart+1) || (msn == nextMSN+1 && i > 1) || msn < nextMSN {
		return nil, fmt.Errorf("%w: %s (the next part is %d.%d)", ErrNotFound, p, nextMSN, nextPart)
	}
	t := time.NewTimer(3 * lt.tl.Load().TargetDuration())
	defer t.Stop()
	o.m.held.Inc()
	defer o.m.held.Dec()
	for {
		d.mu.Lock()
		pt := lt.parts[partID{msn, i}]
		ch := d.changed
		d.mu.Unlock()
		if pt != nil {
			return pt.obj, nil
		}
		if n, complete, ok := lt.tl.Load().Parts(msn); ok && complete && i >= n {
			return nil, fmt.Errorf("%w: %s (segment %d ended with %d parts)", ErrNotFound, p, msn, n)
		}
		select {
		case <-ch:
		case <-t.C:
			return nil, fmt.Errorf("%w: %s did not start within three target durations", ErrNotFound, p)
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, p, ctx.Err())
		}
	}
}

// listPaths counts one more listing of each path: a listed file stays
// until it is unlisted.
func (o *Origin) listPaths(ev *event, paths []string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, p := range paths {
		if f := ev.files[p]; f != nil {
			f.listed++
			f.ever = true
		}
	}
}

// releaseAll gives back what the packager holds (the event was removed).
func (d *dash) releaseAll() {
	var n int64
	d.mu.Lock()
	for _, dt := range d.tracks {
		if dt.ll == nil {
			continue
		}
		for id, pt := range dt.ll.parts {
			n += pt.size
			delete(dt.ll.parts, id)
		}
	}
	d.gone = true
	d.wakeLocked()
	d.mu.Unlock()
	d.o.release(d.ev, n)
}
