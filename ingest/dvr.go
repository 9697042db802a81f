package ingest

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ringside-live/ringside/pkg/dvr"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// DVR: every segment an event publishes (its output timeline's, or the
// encoder's own playlist's for a single-feed push) is also written to the
// node's DVR store (pkg/dvr: on disk, crash-safe, evicting oldest first,
// never the live window) and kept for the event's DVR window. Players
// rewind with playlists Ringside renders from it, beside each live one:
//
//	X.m3u8            the live playlist (the master or a media playlist)
//	X.dvr.m3u8        the DVR window: EXT-X-PLAYLIST-TYPE:EVENT while it
//	                  still starts at the event's first segment, a sliding
//	                  window of dvr_window after; VOD with EXT-X-ENDLIST
//	                  once the event ended
//	X.startover.m3u8  the same, starting playback at its first segment
//	                  (EXT-X-START:TIME-OFFSET=0): the start-over URL
//	X.clip-NAME.m3u8  a clip (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST) over
//	                  the segments a pin keeps
//
// A master's variant URIs are rewritten with the same suffix. Segments
// keep their live names (immutable), served from the store once they left
// the live window. Every segment carries EXT-X-PROGRAM-DATE-TIME.

// DVR playlist suffixes.
const (
	dvrSuffix       = ".dvr.m3u8"
	startOverSuffix = ".startover.m3u8"
	clipInfix       = ".clip-"
	liveSuffix      = ".m3u8"
	// vodClip is the pin that keeps a whole ended event (VODOnEnd).
	vodClip = "event"
)

// clipNameRE is what a clip may be called (it becomes a path element).
var clipNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Errors of clips.
var (
	// ErrNoDVR: the node keeps no DVR, or the event has no DVR window.
	ErrNoDVR = errors.New("ingest: no DVR for this event on this node")
	// ErrBadClip: a clip request that cannot be served (bad name, range).
	ErrBadClip = errors.New("ingest: bad clip")
)

// dvrJob is one segment to write to the DVR store.
type dvrJob struct {
	entry   dvr.Entry
	obj     *object.Object
	mapPath string
	mapObj  *object.Object
}

// dvrRecorder writes published segments to the store in the background,
// so the live path never waits for a disk.
type dvrRecorder struct {
	store *dvr.Store
	jobs  chan dvrJob
	mu    sync.Mutex
	inits map[string]bool // event/path of init segments stored this run
	dsn   map[string]dsnState
}

// dsnState numbers the discontinuities of an encoder's own playlist.
type dsnState struct {
	msn, dsn uint64
	ok       bool
}

// dvrQueue bounds the segments waiting for the disk; past it new ones are
// dropped (and counted), never the live path slowed.
const dvrQueue = 512

func newDVRRecorder(st *dvr.Store) *dvrRecorder {
	return &dvrRecorder{store: st, jobs: make(chan dvrJob, dvrQueue), inits: map[string]bool{}, dsn: map[string]dsnState{}}
}

func (o *Origin) runDVR() {
	r := o.dvr
	for {
		select {
		case <-o.ctx.Done():
			return
		case j := <-r.jobs:
			o.writeDVR(j)
		}
	}
}

func (o *Origin) writeDVR(j dvrJob) {
	r := o.dvr
	ctx, cancel := context.WithTimeout(o.ctx, 30*time.Second)
	defer cancel()
	body, err := j.obj.WaitDone(ctx)
	if err != nil {
		o.m.dvrErrors.Inc()
		return
	}
	if j.mapPath != "" {
		key := j.entry.Event + "/" + j.mapPath
		r.mu.Lock()
		done := r.inits[key]
		r.mu.Unlock()
		if !done {
			init, err := j.mapObj.WaitDone(ctx)
			if err == nil {
				err = r.store.PutInit(j.entry.Event, j.mapPath, j.mapObj.Meta.ContentType, init)
			}
			if err != nil {
				o.log.Warn("dvr: init segment", "event", j.entry.Event, "path", j.mapPath, "err", err)
				o.m.dvrErrors.Inc()
				return
			}
			r.mu.Lock()
			r.inits[key] = true
			r.mu.Unlock()
		}
	}
	if err := r.store.Put(j.entry, body); err != nil {
		if !errors.Is(err, dvr.ErrSequence) { // a retry after a restart: already there
			o.log.Warn("dvr: segment", "event", j.entry.Event, "path", j.entry.Path, "err", err)
			o.m.dvrErrors.Inc()
		}
		return
	}
	o.m.dvrSegments.Inc()
	if o.mirror != nil {
		var init []byte
		if j.mapObj != nil {
			init, _ = j.mapObj.Complete()
		}
		if err := o.mirror.MirrorDVR(ctx, j.entry, body, init); err != nil {
			o.log.Debug("dvr: mirror", "event", j.entry.Event, "path", j.entry.Path, "err", err)
			o.m.dvrMirrorErrors.Inc()
		}
	}
}

// Mirror copies what the DVR store keeps to other nodes (the node sends
// each segment to its shield owners), so losing one ingest node loses no
// DVR. init is the segment's init segment, nil for MPEG-TS.
type Mirror interface {
	MirrorDVR(ctx context.Context, e dvr.Entry, body, init []byte) error
}

// MasterContentType is the content type of a master playlist kept in a
// DVR store beside the segments (a mirror's copy, see ServeDVR).
const MasterContentType = "application/vnd.apple.mpegurl"

// Masters returns the master playlists event id publishes, by path: those
// its encoder pushed or, for an event with feeds, a feed's (the output
// serves them as they are). A DVR mirror keeps them so it can serve the
// masters' DVR forms when no ingest node answers.
func (o *Origin) Masters(id string) map[string][]byte {
	var evs []*event
	if ev := o.event(id); ev != nil {
		evs = append(evs, ev)
	} else if out := o.output(id); out != nil {
		out.mu.Lock()
		for _, f := range out.feeds {
			evs = append(evs, f)
		}
		out.mu.Unlock()
	}
	res := map[string][]byte{}
	for _, ev := range evs {
		ev.mu.Lock()
		for p, pl := range ev.playlists {
			if _, dup := res[p]; dup || pl.media != nil || pl.obj == nil {
				continue
			}
			if b, ok := pl.obj.Complete(); ok {
				if k, err := segment.Detect(b); err == nil && k == segment.PlaylistMaster {
					res[p] = b
				}
			}
		}
		ev.mu.Unlock()
	}
	return res
}

// record queues a published segment for the DVR store.
func (o *Origin) record(j dvrJob) {
	if o.dvr == nil {
		return
	}
	if j.entry.ContentType == "" {
		j.entry.ContentType = j.obj.Meta.ContentType
	}
	select {
	case o.dvr.jobs <- j:
	default:
		o.m.dvrDropped.Inc()
	}
}

// recordPlaylist queues the segments a plain push's media playlist pl (at
// p, replacing prev) adds, numbered as the encoder numbered them.
func (o *Origin) recordPlaylist(ev *event, p string, prev, pl *segment.MediaPlaylist) {
	if o.dvr == nil || !ev.dvrOn() {
		return
	}
	dir := path.Dir(p)
	if dir == "." {
		dir = ""
	}
	last, known := uint64(0), false
	if prev != nil && len(prev.Segments) > 0 {
		last, known = prev.MediaSequence+uint64(len(prev.Segments))-1, true
	}
	key := ev.id + "/" + p
	r := o.dvr
	r.mu.Lock()
	st := r.dsn[key]
	r.mu.Unlock()
	if !st.ok {
		st = dsnState{msn: pl.MediaSequence, dsn: pl.DiscontinuitySequence, ok: true}
	}
	var pdt time.Time
	for i := range pl.Segments {
		s := &pl.Segments[i]
		msn := pl.MediaSequence + uint64(i)
		if s.Discontinuity && msn > st.msn {
			st.dsn++
		}
		st.msn = max(st.msn, msn)
		if !s.ProgramDateTime.IsZero() {
			pdt = s.ProgramDateTime
		} else if pdt.IsZero() {
			pdt = o.now().Add(-time.Duration(float64(len(pl.Segments)-i) * s.Duration * float64(time.Second)))
		}
		segPDT := pdt
		pdt = pdt.Add(time.Duration(s.Duration * float64(time.Second)))
		if known && msn <= last {
			continue
		}
		src, err := segment.ResolveURI(dir, s.URI)
		if err != nil {
			continue
		}
		obj := ev.fileObj(src)
		if obj == nil {
			continue
		}
		j := dvrJob{obj: obj, entry: dvr.Entry{Event: ev.publicID(), Rendition: p, MSN: msn, Path: src,
			Duration: time.Duration(s.Duration * float64(time.Second)), PDT: segPDT, Discontinuity: s.Discontinuity, DSN: st.dsn}}
		if m := pl.MapFor(i); m != nil {
			if mp, err := segment.ResolveURI(dir, m.URI); err == nil {
				if j.mapObj = ev.fileObj(mp); j.mapObj != nil {
					j.mapPath, j.entry.Map = mp, mp
				}
			}
		}
		o.record(j)
	}
	r.mu.Lock()
	r.dsn[key] = st
	r.mu.Unlock()
}

// dvrOn reports whether ev keeps a DVR window.
func (ev *event) dvrOn() bool {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.dvrWindow > 0 || ev.vodOnEnd
}

// dvrPolicy applies an event's DVR settings to the store (o.mu held).
func (o *Origin) dvrPolicy(ec EventConfig) {
	if o.dvr == nil || (ec.DVRWindow <= 0 && !ec.VODOnEnd) {
		return
	}
	window := ec.DVRWindow
	if window <= 0 {
		window = 365 * 24 * time.Hour // the whole event, for its VOD
	}
	if err := o.dvr.store.SetPolicy(ec.ID, window, 0); err != nil {
		o.log.Warn("dvr: policy", "event", ec.ID, "err", err)
	}
	if ec.Ended && ec.VODOnEnd {
		if err := o.dvr.store.Pin(ec.ID, vodClip, time.Unix(0, 0), farFuture); err != nil && !errors.Is(err, dvr.ErrTooManyPins) {
			o.log.Warn("dvr: keeping the ended event as VOD", "event", ec.ID, "err", err)
		}
	}
}

// farFuture ends the pin of a whole event.
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) // within UnixNano

// dvrKind classifies a request path: a DVR, start-over or clip playlist of
// the live playlist base (X.m3u8), or none.
func dvrKind(p string) (kind, base, clip string) {
	switch {
	case strings.HasSuffix(p, startOverSuffix):
		return "startover", strings.TrimSuffix(p, startOverSuffix) + liveSuffix, ""
	case strings.HasSuffix(p, dvrSuffix):
		return "dvr", strings.TrimSuffix(p, dvrSuffix) + liveSuffix, ""
	}
	if i := strings.LastIndex(p, clipInfix); i >= 0 && strings.HasSuffix(p, liveSuffix) {
		name := strings.TrimSuffix(p[i+len(clipInfix):], liveSuffix)
		if clipNameRE.MatchString(name) {
			return "clip", p[:i] + liveSuffix, name
		}
	}
	return "", "", ""
}

// dvrConfig is what serving needs of an event's DVR settings.
type dvrConfig struct {
	window time.Duration
	ended  bool
}

func (o *Origin) dvrSettings(id string) (dvrConfig, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	c, ok := o.dvrCfg[id]
	return c, ok
}

// getDVR serves the DVR playlists of event id and the segments the store
// keeps; ok is false when p is none of them.
func (o *Origin) getDVR(id, p string, live func(string) (*object.Object, error)) (*object.Object, bool, error) {
	if o.dvr == nil {
		return nil, false, nil
	}
	cfg, ok := o.dvrSettings(id)
	if !ok {
		if k, _, _ := dvrKind(p); k != "" {
			return nil, true, ErrNoDVR
		}
	}
	return ServeDVR(o.dvr.store, id, p, cfg.window, cfg.ended, live)
}

// ServeDVR serves event id's DVR playlists (X.dvr.m3u8, X.startover.m3u8,
// X.clip-NAME.m3u8) and kept segments from st: the ingest node's own
// store, or a shield owner's mirror of it when no ingest node answers.
// window is the event's DVR window, ended whether it is over; live
// returns the live playlist a master's DVR form is rewritten from (nil:
// the master as st keeps it, MasterContentType, a mirror's copy). ok is
// false when p is none of them. A master kept in st is never served as
// it is: the live master comes from the live path.
func ServeDVR(st *dvr.Store, id, p string, window time.Duration, ended bool,
	live func(string) (*object.Object, error)) (*object.Object, bool, error) {
	return serveDVR(st, id, p, window, ended, false, live)
}

// ServeDVRDelta is ServeDVR for a delta update (_HLS_skip=YES): a DVR or
// start-over playlist with the segments older than CAN-SKIP-UNTIL from
// its end replaced by EXT-X-SKIP.
func ServeDVRDelta(st *dvr.Store, id, p string, window time.Duration, ended bool) (*object.Object, bool, error) {
	return serveDVR(st, id, p, window, ended, true, nil)
}

// GetDVRDelta serves a delta update of event id's DVR playlist at p.
func (o *Origin) GetDVRDelta(id, p string) (*object.Object, error) {
	if o.dvr == nil {
		return nil, ErrNoDVR
	}
	cfg, ok := o.dvrSettings(id)
	if !ok {
		return nil, ErrNoDVR
	}
	obj, found, err := ServeDVRDelta(o.dvr.store, id, p, cfg.window, cfg.ended)
	if !found {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	return obj, err
}

func serveDVR(st *dvr.Store, id, p string, window time.Duration, ended, skip bool,
	live func(string) (*object.Object, error)) (*object.Object, bool, error) {
	kind, base, clip := dvrKind(p)
	if kind == "" {
		if b, e, err := st.Get(id, p); err == nil && e.ContentType != MasterContentType {
			return object.NewComplete(object.Meta{Status: 200, Kind: segment.KindSegment, ContentType: e.ContentType,
				CacheControl: object.CacheControl(segment.KindSegment, 0), Source: "dvr"}, b), true, nil
		}
		return nil, false, nil
	}
	if st.Entries(id, base, time.Time{}, time.Time{}) == nil {
		// Not a media playlist the store has: a master, rewritten.
		if live == nil {
			live = func(base string) (*object.Object, error) { return keptMaster(st, id, base) }
		}
		obj, err := live(base)
		if err != nil {
			return nil, true, err
		}
		b, _ := obj.Complete()
		if k, _ := segment.Detect(b); k != segment.PlaylistMaster {
			return nil, true, fmt.Errorf("%w: %s has no DVR segments yet", ErrNotFound, base)
		}
		out, err := rewriteMaster(b, strings.TrimPrefix(p, strings.TrimSuffix(base, liveSuffix)))
		if err != nil {
			return nil, true, err
		}
		return playlistObject(out, 2), true, nil
	}
	var es []dvr.Entry
	var vod bool
	switch kind {
	case "clip":
		var pin *dvr.Pin
		for _, pn := range st.Pins(id) {
			if pn.Name == clip {
				pin = &pn
				break
			}
		}
		if pin == nil {
			return nil, true, fmt.Errorf("%w: no clip %q", ErrNotFound, clip)
		}
		es, vod = st.Entries(id, base, pin.From, pin.To), true
	default:
		from := time.Time{}
		if window > 0 && !ended {
			all := st.Entries(id, base, time.Time{}, time.Time{})
			newest := all[len(all)-1]
			from = newest.PDT.Add(newest.Duration).Add(-window)
		}
		es, vod = st.Entries(id, base, from, time.Time{}), ended
	}
	if len(es) == 0 {
		return nil, true, fmt.Errorf("%w: no DVR segments for %s", ErrNotFound, p)
	}
	opts := dvrRender{vod: vod, startOver: kind == "startover", dir: path.Dir(base), skip: skip && !vod && kind != "clip"}
	if opts.dir == "." {
		opts.dir = ""
	}
	// EVENT while the window still starts at the event's first segment
	// (output timelines and encoders number from 0).
	opts.event = !vod && es[0].MSN == 0
	return playlistObject(renderDVR(es, opts), targetOfEntries(es)), true, nil
}

// ClipBase is the live playlist of clip playlist p (0/index.m3u8 for
// 0/index.clip-ko.m3u8); ok is false when p names no clip.
func ClipBase(p string) (base string, ok bool) {
	kind, base, _ := dvrKind(p)
	return base, kind == "clip"
}

// IsDVRPath reports whether p names a DVR, start-over or clip playlist.
func IsDVRPath(p string) bool {
	k, _, _ := dvrKind(p)
	return k != ""
}

// keptMaster is the master playlist st keeps at p (a mirror's copy).
func keptMaster(st *dvr.Store, id, p string) (*object.Object, error) {
	b, e, err := st.Get(id, p)
	if err != nil || e.ContentType != MasterContentType {
		return nil, fmt.Errorf("%w: %s (no master kept)", ErrNotFound, p)
	}
	return playlistObject(b, 2), nil
}

func playlistObject(data []byte, td int) *object.Object {
	return object.NewComplete(object.Meta{Status: 200, Kind: segment.KindPlaylist,
		ContentType: "application/vnd.apple.mpegurl", CacheControl: object.CacheControl(segment.KindPlaylist, td),
		Gzip: object.Compress(data), Source: "dvr"}, data)
}

type dvrRender struct {
	vod, event, startOver bool
	skip                  bool // a delta update
	dir                   string
}

// canSkipTargets is CAN-SKIP-UNTIL in target durations (RFC 8216bis:
// at least six).
const canSkipTargets = 6

func targetOfEntries(es []dvr.Entry) int {
	td := 1
	for _, e := range es {
		td = max(td, int(e.Duration.Round(time.Second)/time.Second))
	}
	return td
}

// renderDVR writes a DVR, start-over or clip playlist over es.
func renderDVR(es []dvr.Entry, o dvrRender) []byte {
	first := es[0]
	td := targetOfEntries(es)
	// A live DVR playlist may be asked for as a delta update: segments
	// older than CAN-SKIP-UNTIL from its end are left out (EXT-X-SKIP).
	skipped := 0
	if o.skip {
		var tail time.Duration
		for i := len(es) - 1; i >= 0; i-- {
			tail += es[i].Duration
			if tail > time.Duration(canSkipTargets*td)*time.Second {
				skipped = i
				break
			}
		}
	}
	b := make([]byte, 0, 200+110*(len(es)-skipped))
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	if o.vod {
		b = append(b, '6')
	} else {
		b = append(b, '9')
	}
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(td), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, first.MSN, 10)
	b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendUint(b, first.DSN, 10)
	b = append(b, '\n')
	switch {
	case o.vod:
		b = append(b, "#EXT-X-PLAYLIST-TYPE:VOD\n"...)
	case o.event:
		b = append(b, "#EXT-X-PLAYLIST-TYPE:EVENT\n"...)
	}
	if !o.vod {
		b = append(b, "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL="...)
		b = strconv.AppendInt(b, int64(canSkipTargets*td), 10)
		b = append(b, '\n')
	}
	if o.startOver {
		b = append(b, "#EXT-X-START:TIME-OFFSET=0,PRECISE=YES\n"...)
	}
	b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	if skipped > 0 {
		b = append(b, "#EXT-X-SKIP:SKIPPED-SEGMENTS="...)
		b = strconv.AppendInt(b, int64(skipped), 10)
		b = append(b, '\n')
	}
	curMap := ""
	for i, e := range es {
		if i < skipped {
			continue
		}
		if i > 0 && (e.Discontinuity || e.DSN != es[i-1].DSN || e.MSN != es[i-1].MSN+1) {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if e.Map != "" && (e.Map != curMap || i == skipped) {
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(b, relURI(o.dir, e.Map)...)
			b = append(b, "\"\n"...)
			curMap = e.Map
		}
		b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
		b = e.PDT.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, "\n#EXTINF:"...)
		b = strconv.AppendFloat(b, e.Duration.Seconds(), 'f', 6, 64)
		b = append(b, ",\n"...)
		b = append(b, relURI(o.dir, e.Path)...)
		b = append(b, '\n')
	}
	if o.vod {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}

// rewriteMaster gives every variant and rendition URI of a master
// playlist the DVR suffix (".dvr.m3u8", ".startover.m3u8",
// ".clip-NAME.m3u8") in place of ".m3u8".
func rewriteMaster(data []byte, suffix string) ([]byte, error) {
	mp, err := segment.ParseMaster(data)
	if err != nil {
		return nil, err
	}
	fix := func(uri string) string {
		if u, ok := strings.CutSuffix(uri, liveSuffix); ok {
			return u + suffix
		}
		return uri
	}
	for i := range mp.Variants {
		mp.Variants[i].URI = fix(mp.Variants[i].URI)
	}
	for i := range mp.Media {
		mp.Media[i].URI = fix(mp.Media[i].URI)
	}
	return mp.AppendTo(nil), nil
}
