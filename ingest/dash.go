package ingest

import (
	"context"
	"fmt"
	"math"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// dash is what an event knows of its DASH push: the last MPD that
// validated and, per Representation, the segment numbers whose uploads
// started. It holds requests for a segment whose upload has not started
// yet until the segment's availability time, and, for a low-latency event,
// it is the LL-HLS packager (lowlatency.go). Its mutex is never held
// while taking ev.mu.
type dash struct {
	o          *Origin
	ev         *event
	partTarget time.Duration // > 0: package the push as LL-HLS

	mu      sync.Mutex
	dir     string // the MPD's directory in the event ("" at the root)
	mpd     *segment.MPD
	tracks  map[string]*dashTrack // by Representation id
	changed chan struct{}         // closed and replaced when an upload starts, a part appears or the MPD changes
	gone    bool                  // the event was removed

	master cachedObject // the LL-HLS master playlist
}

// dashTrack is one Representation of the push.
type dashTrack struct {
	id    string
	file  segment.MPDFile
	track segment.Track // from the current MPD
	// started is the highest segment number whose upload started, and
	// has says whether any did.
	started uint64
	has     bool

	ll *llTrack // the LL-HLS rendition; nil unless the event is low latency
}

type cachedObject struct {
	key uint64
	obj *object.Object
}

func newDash(o *Origin, ev *event, partTarget time.Duration) *dash {
	return &dash{o: o, ev: ev, partTarget: partTarget, tracks: map[string]*dashTrack{}, changed: make(chan struct{})}
}

// wakeLocked tells waiters something changed; d.mu held.
func (d *dash) wakeLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// setMPD makes m, validated and published at p, the event's MPD.
func (d *dash) setMPD(p string, m *segment.MPD, files []segment.MPDFile) {
	dir := path.Dir(p)
	if dir == "." {
		dir = ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dir, d.mpd = dir, m
	byRep := map[string]segment.Track{}
	for _, t := range m.Tracks() {
		if t.Template != nil && t.PeriodIndex == len(m.Periods)-1 {
			byRep[t.Representation.ID] = t
		}
	}
	seen := map[string]bool{}
	for _, f := range files {
		t, ok := byRep[f.Representation]
		if !ok || f.Media == "" || seen[f.Representation] {
			continue
		}
		seen[f.Representation] = true
		dt := d.tracks[f.Representation]
		if dt == nil {
			dt = &dashTrack{id: f.Representation}
			d.tracks[f.Representation] = dt
		}
		dt.file, dt.track = f, t
	}
	for id := range d.tracks {
		if !seen[id] {
			delete(d.tracks, id) // left the MPD; its LL rendition goes with it
		}
	}
	d.master = cachedObject{}
	d.wakeLocked()
}

// match finds the Representation a media segment path belongs to; d.mu
// held.
func (d *dash) matchLocked(p string) (*dashTrack, uint64, bool) {
	for _, dt := range d.tracks {
		if n, byTime, ok := dt.file.Match(p); ok && !byTime {
			return dt, n, true
		}
	}
	return nil, 0, false
}

// segmentStarted is called when the upload of a new media segment starts
// (it is readable, pending, from now on). For a low-latency event it
// starts packaging the segment into parts.
func (d *dash) segmentStarted(p string, obj *object.Object) {
	d.mu.Lock()
	dt, n, ok := d.matchLocked(p)
	if ok && (!dt.has || n > dt.started) {
		dt.started, dt.has = n, true
	}
	d.wakeLocked()
	d.mu.Unlock()
	if d.partTarget > 0 {
		d.o.follow(d, p, obj)
	}
}

// maxHoldAhead is how many segments beyond the last upload that started a
// request may be held for.
const maxHoldAhead = 2

// holdUntil says how long a request for p, which does not exist, may be
// held: a media segment of a dynamic MPD at most maxHoldAhead beyond the
// last upload that started is held until its availability time plus one
// segment duration (an encoder a little late still makes it), at most
// three segment durations from now. ok is false for anything else, which
// is answered 404 at once.
func (d *dash) holdUntil(p string, now time.Time) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mpd == nil || !d.mpd.Dynamic() {
		return time.Time{}, false
	}
	dt, n, ok := d.matchLocked(p)
	if !ok || (dt.has && (n <= dt.started || n > dt.started+maxHoldAhead)) {
		return time.Time{}, false
	}
	seg, err := dt.track.Segment(n)
	if err != nil || seg.Duration == 0 {
		return time.Time{}, false
	}
	segDur, ok := unitsDuration(seg.Duration, dt.track.Template.Timescale)
	if !ok {
		return time.Time{}, false
	}
	avail, err := dt.track.AvailabilityTime(n)
	if err != nil {
		return time.Time{}, false
	}
	if !dt.has && avail.After(now.Add(maxHoldAhead*segDur)) {
		return time.Time{}, false // no upload yet, and this one is far off
	}
	until := later(avail, now).Add(segDur)
	return earlier(until, now.Add(3*segDur)), true
}

// unitsDuration is a DASH timeline's duration: positive and at most an
// hour, or false.
func unitsDuration(units, timescale uint64) (time.Duration, bool) {
	d, ok := segment.UnitsDuration(units, timescale)
	if !ok || d <= 0 || d > time.Hour {
		return 0, false
	}
	return d, true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// targetDuration is EXT-X-TARGETDURATION for a Representation: its
// segment duration (the MPD's maxSegmentDuration when longer), rounded
// up to whole seconds; d.mu held.
func (d *dash) targetDurationLocked(dt *dashTrack) int {
	secs := 0.0
	if tm := dt.track.Template; tm != nil && tm.Duration > 0 && tm.Timescale > 0 {
		secs = float64(tm.Duration) / float64(tm.Timescale)
	}
	if tm := dt.track.Template; tm != nil && tm.Timeline != nil && tm.Timescale > 0 {
		for _, s := range tm.Timeline.S {
			secs = max(secs, float64(s.D)/float64(tm.Timescale))
		}
	}
	if v, err := segment.ParseXSDuration(d.mpd.MaxSegmentDuration); err == nil {
		secs = max(secs, v.Seconds())
	}
	return max(1, int(math.Ceil(secs-1e-3)))
}

// wallClock maps a decode time of a track to the wall clock of the MPD's
// timeline (availabilityStartTime + Period start + media time less
// presentationTimeOffset), as DASH players see it; zero when the MPD has
// no such mapping.
func (d *dash) wallClock(dt *dashTrack, tf bmff.TrackFragment) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mpd == nil || !d.mpd.Dynamic() {
		return time.Time{}
	}
	ast, err := segment.ParseXSDateTime(d.mpd.AvailabilityStartTime)
	if err != nil {
		return time.Time{}
	}
	start, err := dt.track.PeriodStart()
	tm := dt.track.Template
	if err != nil || tm == nil || tm.Timescale == 0 || tf.Timescale == 0 || !tf.HasDecodeTime {
		return time.Time{}
	}
	media := float64(tf.DecodeTime)/float64(tf.Timescale) - float64(tm.PresentationTimeOffset)/float64(tm.Timescale)
	return ast.Add(start).Add(time.Duration(media * float64(time.Second)))
}

// awaitFile waits until p has a file entry or until, or ctx ends.
func (o *Origin) awaitFile(ctx context.Context, ev *event, d *dash, p string, until time.Time) (*object.Object, error) {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	o.m.held.Inc()
	defer o.m.held.Dec()
	for {
		d.mu.Lock()
		ch := d.changed
		d.mu.Unlock()
		ev.mu.Lock()
		f := ev.files[p]
		ev.mu.Unlock()
		if f != nil {
			return f.obj, nil
		}
		select {
		case <-ch:
		case <-t.C:
			return nil, fmt.Errorf("%w: %s (its upload did not start by its availability time)", ErrNotFound, p)
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, p, ctx.Err())
		}
	}
}

// dashOf returns the event's DASH state, nil before its first MPD (and
// for an event that is not low latency and has none).
func (ev *event) dashState() *dash {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.dash
}

// safeID reports whether a Representation id can name LL-HLS files.
func safeID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '.' {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0
}

// putMPD validates a DASH MPD (segment.ParseMPD and Validate: what would
// break players or send them out of the event, every segment URL inside
// the event) and publishes it as pushed; an invalid one is rejected (422)
// and the previous one stays served. The event's DASH state follows the
// new MPD.
func (o *Origin) putMPD(ev *event, u Upload) (Result, error) {
	data, held, err := o.readBody(ev, u, o.cfg.MaxPlaylistBytes)
	if err != nil {
		return Result{}, err
	}
	m, err := segment.ParseMPD(data)
	if err == nil {
		err = m.Validate()
	}
	dir := path.Dir(u.Path)
	if dir == "." {
		dir = ""
	}
	var files []segment.MPDFile
	if err == nil {
		files, err = m.Files(dir)
	}
	if err != nil {
		o.release(ev, held)
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, u.Path, err)
	}
	obj := object.NewComplete(object.Meta{Status: 200, Kind: segment.KindManifest, ContentType: "application/dash+xml",
		CacheControl: object.CacheControl(segment.KindManifest, 2), Source: "ingest"}, data)
	nf := &file{obj: obj, kind: segment.KindManifest, size: held, done: o.now()}
	ev.mu.Lock()
	cur := ev.files[u.Path]
	err = o.admit(ev)
	if err == nil && cur == nil {
		err = o.roomForFile(ev)
	}
	if err == nil && cur != nil && !cur.obj.Done() {
		err = fmt.Errorf("%w: %s", ErrConflict, u.Path)
	}
	if err != nil {
		ev.mu.Unlock()
		o.release(ev, held)
		return Result{}, err
	}
	if cur != nil {
		nf.listed, nf.ever = cur.listed, cur.ever
		o.release(ev, cur.size)
	}
	ev.files[u.Path] = nf
	ev.notify()
	if ev.dash == nil {
		ev.dash = newDash(o, ev, ev.partTarget)
	}
	d := ev.dash
	ev.mu.Unlock()
	o.markActive(ev)
	d.setMPD(u.Path, m, files)
	o.m.published.WithLabelValues("mpd").Inc()
	return Result{Kind: segment.KindManifest, Bytes: int64(len(data)), Created: cur == nil}, nil
}
