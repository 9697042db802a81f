package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/dvr"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// Timeline is the control plane as the output needs it; the node adapts
// its Raft store, or the control voters' internal API on a node without
// one.
type Timeline interface {
	// AppendTimeline commits one output segment (control.Store's).
	AppendTimeline(ctx context.Context, op control.TimelineOp) (control.TimelineResult, error)
	// TimelineAge is how long ago the event's output last grew, by the
	// control plane's clock; empty reports a timeline with no entry.
	TimelineAge(ctx context.Context, event string) (age time.Duration, empty bool, err error)
	// SwitchFeed makes to the event's active feed, if from still is
	// (control.CmdSetActiveFeed).
	SwitchFeed(ctx context.Context, event, to, from, reason string) error
}

// outputConfig is a redundant event as the output needs it.
type outputConfig struct {
	ID              string
	Feeds           []FeedConfig
	Active          string
	SwitchBack      string
	HealthySegments int
	UnhealthyAfter  time.Duration
}

// Output timing.
const (
	outputTick      = 250 * time.Millisecond // the worker's pace when nothing kicks it
	appendTimeout   = 3 * time.Second        // one timeline append
	outputMinWindow = 3                      // segments in an output playlist, at least
)

// output publishes a redundant event's output timeline from the feeds this
// node receives: one worker goroutine per event appends the active feed's
// new segments to the control plane's timeline, in order, and publishes
// each rendition's playlist rendered from the committed window. A node
// whose appends fail for longer than the stall limit stops publishing (it
// is cut off from the quorum); a node whose feed is not active publishes
// nothing and serves only the segments it output before.
type output struct {
	o      *Origin
	id     string
	cfg    atomic.Pointer[outputConfig]
	kick   chan struct{}
	cancel context.CancelFunc

	mu       sync.Mutex
	feeds    map[string]*event      // feed name -> its event here
	health   map[string]*feedHealth // feed name -> what this node sees of it
	tracks   map[string]*outTrack   // rendition (media playlist path) -> its output
	lastGood time.Time              // the last append that committed
	lastTry  time.Time              // the last append that was tried
	switched time.Time              // the last switch this node made
	ageCache struct {               // the control plane's view, read at most every outputTick
		at    time.Time
		age   time.Duration
		empty bool
		err   error
	}
}

// outTrack is the output of one rendition.
type outTrack struct {
	path, dir string
	// window is the committed timeline as of the last append this node
	// made (every append answers the rendition's window).
	window []control.TimelineEntry
	// objs are the output files (segments and init segments) this node
	// published, by event-relative path.
	objs     map[string]*object.Object
	playlist *object.Object
	// last is the feed segment each feed last handled (appended or
	// skipped as stale) in this rendition.
	last     map[string]handled
	listSize int
	version  int
	indep    bool
}

// handled names a feed segment: its URI and program date time.
type handled struct {
	uri string
	pdt time.Time
}

func newOutput(o *Origin, cfg outputConfig) *output {
	out := &output{o: o, id: cfg.ID, kick: make(chan struct{}, 1), feeds: map[string]*event{},
		health: map[string]*feedHealth{}, tracks: map[string]*outTrack{}}
	out.cfg.Store(&cfg)
	return out
}

// start runs the worker, and the pullers of pulled feeds, under the
// origin's context.
func (out *output) start() {
	ctx, cancel := context.WithCancel(out.o.ctx)
	out.cancel = cancel
	out.o.wg.Go(func() { out.run(ctx) })
	out.o.startPullers(ctx, out, *out.cfg.Load())
}

// configure takes a new configuration (a switch the control plane
// committed, new keys) and wakes the worker.
func (out *output) configure(cfg outputConfig) {
	out.cfg.Store(&cfg)
	out.wake()
}

func (out *output) wake() {
	select {
	case out.kick <- struct{}{}:
	default:
	}
}

func (out *output) feedEvents() []*event {
	out.mu.Lock()
	defer out.mu.Unlock()
	evs := make([]*event, 0, len(out.feeds))
	for _, ev := range out.feeds {
		evs = append(evs, ev)
	}
	return evs
}

func (out *output) feedHealth(feed string) *feedHealth {
	out.mu.Lock()
	defer out.mu.Unlock()
	h := out.health[feed]
	if h == nil {
		h = &feedHealth{}
		out.health[feed] = h
	}
	return h
}

// feedPublished is called when feed's media playlist at p was published
// (prev is the one it replaced, nil for the first): the health of the feed
// takes its new segments and the worker wakes.
func (out *output) feedPublished(ev *event, prev *playlist, next *playlist) {
	cfg := out.cfg.Load()
	h := out.feedHealth(ev.feed)
	old := map[string]bool{}
	if prev != nil && prev.media != nil {
		for _, s := range prev.media.Segments {
			old[s.URI] = true
		}
	}
	td := time.Duration(next.media.TargetDuration) * time.Second
	now := out.o.now()
	for i, s := range next.media.Segments {
		if old[s.URI] || (prev == nil && i < len(next.media.Segments)-1) {
			continue
		}
		var b int64
		if len(next.listed) > 0 {
			ev.mu.Lock()
			for _, lp := range next.listed {
				if path.Base(lp) == path.Base(s.URI) {
					if f := ev.files[lp]; f != nil {
						b = int64(f.obj.Len())
					}
					break
				}
			}
			ev.mu.Unlock()
		}
		if gap := h.noteSegment(now, time.Duration(s.Duration*float64(time.Second)), b, td, cfg.stallLimit(td)); gap > 0 {
			out.o.log.Warn("feed resumed after a stall", "event", out.id, "feed", ev.feed, "gap", gap.Round(time.Millisecond))
		}
	}
	out.wake()
}

func (out *output) run(ctx context.Context) {
	t := time.NewTicker(outputTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-out.kick:
		case <-t.C:
		}
		out.step(ctx)
		out.watch(ctx)
	}
}

// step appends the active feed's new segments, if this node receives it.
func (out *output) step(ctx context.Context) {
	cfg := out.cfg.Load()
	out.mu.Lock()
	fev := out.feeds[cfg.Active]
	out.mu.Unlock()
	if fev == nil || !fev.active.Load() || out.o.timeline == nil {
		return
	}
	fev.mu.Lock()
	pls := make(map[string]*playlist)
	for p, pl := range fev.playlists {
		if pl.media != nil {
			pls[p] = pl
		}
	}
	fev.mu.Unlock()
	paths := make([]string, 0, len(pls))
	for p := range pls {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := out.advance(ctx, fev, cfg.Active, p, pls[p].media); err != nil {
			if !errors.Is(err, control.ErrNotActive) && ctx.Err() == nil {
				out.o.log.Warn("output: appending to the timeline", "event", out.id, "rendition", p, "err", err)
			}
			return
		}
	}
}

func (out *output) track(p string) *outTrack {
	out.mu.Lock()
	defer out.mu.Unlock()
	tr := out.tracks[p]
	if tr == nil {
		dir := path.Dir(p)
		if dir == "." {
			dir = ""
		}
		tr = &outTrack{path: p, dir: dir, objs: map[string]*object.Object{}, last: map[string]handled{}}
		out.tracks[p] = tr
	}
	return tr
}

// advance appends the segments of feed's playlist pl (at p) that follow
// the last one handled, in order, publishing the output after each.
func (out *output) advance(ctx context.Context, fev *event, feed, p string, pl *segment.MediaPlaylist) error {
	if len(pl.Segments) == 0 {
		return nil
	}
	tr := out.track(p)
	out.mu.Lock()
	last := tr.last[feed]
	// The output's window never shrinks with a feed's playlist (a
	// restarted encoder lists one segment): a burst of appends after a
	// failover must stay in view of players a reload behind.
	tr.listSize = min(max(tr.listSize, len(pl.Segments), outputMinWindow), control.TimelineWindow)
	tr.version, tr.indep = max(pl.Version, 3), hasTag(pl, "EXT-X-INDEPENDENT-SEGMENTS")
	known := len(tr.window) > 0
	out.mu.Unlock()
	start := 0
	if last.uri != "" {
		// After the one handled last: the same name at the same time (a
		// restarted encoder reuses names).
		start = -1
		for i, s := range pl.Segments {
			if s.URI == last.uri && s.ProgramDateTime.Equal(last.pdt) {
				start = i + 1
				break
			}
		}
		if start < 0 {
			start = 0 // it left the window: take what is there (the timeline refuses what it has)
		}
	} else if !known && len(pl.Segments) > 0 && pl.Segments[0].ProgramDateTime.IsZero() {
		// Taking over without program date times, the timeline cannot
		// tell which segments it has already: only the newest, unless
		// the output is empty.
		if _, empty, err := out.timelineAge(ctx); err != nil || !empty {
			start = len(pl.Segments) - 1
		}
	}
	for i := start; i < len(pl.Segments); i++ {
		if err := out.appendSegment(ctx, fev, feed, tr, pl, i); err != nil {
			return err
		}
	}
	return nil
}

// appendSegment commits segment i of the feed's playlist pl and publishes
// the output with it.
func (out *output) appendSegment(ctx context.Context, fev *event, feed string, tr *outTrack, pl *segment.MediaPlaylist, i int) error {
	s := &pl.Segments[i]
	src, err := segment.ResolveURI(tr.dir, s.URI)
	if err != nil {
		return err
	}
	obj := fev.fileObj(src)
	if obj == nil {
		return fmt.Errorf("%s: listed but not held", src)
	}
	wctx, cancel := context.WithTimeout(ctx, appendTimeout)
	body, err := obj.WaitDone(wctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	op := control.TimelineOp{Event: out.id, Feed: feed, Rendition: tr.path, Source: src,
		Duration: control.Duration(s.Duration * float64(time.Second)), PDT: s.ProgramDateTime,
		Discontinuity: s.Discontinuity, Bytes: int64(len(body))}
	var mapObj *object.Object
	var init []byte
	if m := pl.MapFor(i); m != nil {
		mp, err := segment.ResolveURI(tr.dir, m.URI)
		if err != nil {
			return err
		}
		if mapObj = fev.fileObj(mp); mapObj == nil {
			return fmt.Errorf("%s: its init segment %s is not held", src, mp)
		}
		wctx, cancel := context.WithTimeout(ctx, appendTimeout)
		init, err = mapObj.WaitDone(wctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", mp, err)
		}
		op.Map = path.Join(tr.dir, fmt.Sprintf("init-%s-%08x%s", feed, crc32.ChecksumIEEE(init), path.Ext(mp)))
	}
	if pts, ok := firstPTS(body, init); ok {
		op.PTS = &pts
	}
	actx, cancel := context.WithTimeout(ctx, appendTimeout)
	out.mu.Lock()
	out.lastTry = out.o.now()
	out.mu.Unlock()
	res, err := out.o.timeline.AppendTimeline(actx, op)
	cancel()
	switch {
	case errors.Is(err, control.ErrStale):
		out.mu.Lock()
		tr.last[feed] = handled{s.URI, s.ProgramDateTime}
		out.mu.Unlock()
		return nil
	case err != nil:
		return err
	}
	e := res.Entry
	segPath := outputSegmentPath(tr.dir, e)
	if e.Feed == feed && e.Source == src {
		if out.o.filler != nil {
			fctx, cancel := context.WithTimeout(ctx, appendTimeout)
			if mapObj != nil && tr.objs[op.Map] == nil {
				_ = out.o.filler.Fill(fctx, out.id, op.Map, mapObj)
			}
			if err := out.o.filler.Fill(fctx, out.id, segPath, obj); err != nil {
				out.o.log.Debug("output: push fill failed", "event", out.id, "path", segPath, "err", err)
			}
			cancel()
		}
	}
	out.publish(tr, res.Window, func() {
		tr.last[feed] = handled{s.URI, s.ProgramDateTime}
		if e.Feed == feed && e.Source == src {
			tr.objs[segPath] = obj
			if mapObj != nil {
				tr.objs[op.Map] = mapObj
			}
		}
	})
	out.o.m.outputSegments.Inc()
	if e.Feed == feed && e.Source == src && out.o.dvr != nil {
		if _, ok := out.o.dvrSettings(out.id); ok {
			pdt := e.PDT
			if pdt.IsZero() {
				pdt = e.At.Add(-time.Duration(e.Duration))
			}
			out.o.record(dvrJob{obj: obj, mapObj: mapObj, mapPath: op.Map, entry: dvr.Entry{Event: out.id,
				Rendition: tr.path, MSN: e.MSN, Path: segPath, Duration: time.Duration(e.Duration), PDT: pdt,
				Discontinuity: e.Discontinuity, DSN: e.DSN, Map: op.Map}})
		}
	}
	return nil
}

// fileObj is the object of the feed file at p (nil: none).
func (ev *event) fileObj(p string) *object.Object {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if f := ev.files[p]; f != nil {
		return f.obj
	}
	return nil
}

// publish installs window as tr's committed timeline (with the changes of
// note, under out.mu), renders the output playlist and retires the files
// that left the timeline's window.
func (out *output) publish(tr *outTrack, window []control.TimelineEntry, note func()) {
	out.mu.Lock()
	note()
	tr.window = window
	data := renderOutput(tr, window)
	tr.playlist = object.NewComplete(object.Meta{Status: 200, Kind: segment.KindPlaylist,
		ContentType: "application/vnd.apple.mpegurl", CacheControl: object.CacheControl(segment.KindPlaylist, targetOf(window)),
		Gzip: object.Compress(data), Source: "ingest"}, data)
	keep := map[string]bool{}
	for _, e := range window {
		keep[outputSegmentPath(tr.dir, e)] = true
		if e.Map != "" {
			keep[e.Map] = true
		}
	}
	var retired []retiree
	for p, obj := range tr.objs {
		if !keep[p] {
			delete(tr.objs, p)
			retired = append(retired, retiree{out.id + "/" + p, obj})
		}
	}
	out.lastGood = out.o.now()
	out.mu.Unlock()
	out.o.retireAll(retired)
}

// publishing reports whether this node publishes the output: it receives
// the active feed and its last append committed within the stall limit
// (a node cut off from the quorum stops).
func (out *output) publishing() bool {
	cfg := out.cfg.Load()
	out.mu.Lock()
	defer out.mu.Unlock()
	fev := out.feeds[cfg.Active]
	if fev == nil || !fev.active.Load() || out.lastGood.IsZero() {
		return false
	}
	h := out.health[cfg.Active]
	var td time.Duration
	if h != nil {
		h.mu.Lock()
		td = h.target
		h.mu.Unlock()
	}
	// Appends happen once per segment: measured from the last try, a
	// feed that is merely between segments is not a cut-off node.
	return out.lastTry.Sub(out.lastGood) <= cfg.stallLimit(td)
}

// get serves the output: playlists while publishing, the master from a
// feed, segments this node output (or retired).
func (out *output) get(p string) (*object.Object, error) {
	publishing := out.publishing()
	out.mu.Lock()
	if tr := out.tracks[p]; tr != nil {
		pl := tr.playlist
		out.mu.Unlock()
		if !publishing || pl == nil {
			return nil, ErrInactive
		}
		return pl, nil
	}
	inWindow := false
	for _, tr := range out.tracks {
		if obj := tr.objs[p]; obj != nil {
			out.mu.Unlock()
			return obj, nil
		}
		if strings.HasPrefix(p, tr.dir) {
			for _, e := range tr.window {
				if outputSegmentPath(tr.dir, e) == p || e.Map == p {
					inWindow = true
				}
			}
		}
	}
	feeds := make([]*event, 0, 2)
	cfg := out.cfg.Load()
	if fev := out.feeds[cfg.Active]; fev != nil {
		feeds = append(feeds, fev)
	}
	for name, fev := range out.feeds {
		if name != cfg.Active {
			feeds = append(feeds, fev)
		}
	}
	out.mu.Unlock()
	for _, fev := range feeds { // a master playlist comes from a feed
		fev.mu.Lock()
		pl := fev.playlists[p]
		fev.mu.Unlock()
		if pl != nil && pl.media == nil {
			return pl.obj, nil
		}
	}
	if r := out.o.store.getRetired(out.id + "/" + p); r != nil {
		return r, nil
	}
	if publishing && !inWindow {
		return nil, ErrNotFound
	}
	return nil, ErrInactive // another node has it (or will)
}

// feedStatus reports both feeds as this node sees them.
func (out *output) feedStatus() []FeedStatus {
	cfg := out.cfg.Load()
	now := out.o.now()
	publishing := out.publishing()
	var sts []FeedStatus
	for _, f := range cfg.Feeds {
		h := out.feedHealth(f.Name)
		h.mu.Lock()
		td := h.target
		h.mu.Unlock()
		st := h.status(now, cfg.stallLimit(td))
		st.Event, st.Feed = out.id, f.Name
		st.Publishing = publishing && f.Name == cfg.Active
		sts = append(sts, st)
	}
	return sts
}
