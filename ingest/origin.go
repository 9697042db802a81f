package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/pkg/dvr"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// Filler pushes a freshly uploaded segment to the tiers that will be asked
// for it (the shield owners) before the playlist that lists it goes live.
// The node provides it; nil disables push fill.
type Filler interface {
	Fill(ctx context.Context, event, path string, o *object.Object) error
}

// Deps are the collaborators of an Origin.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
	Now        func() time.Time      // nil: time.Now
	Filler     Filler
	// OnActive is called (from the upload's goroutine; it must not block)
	// when an event receives its first accepted upload, so the node can
	// advertise that it now originates the event.
	OnActive func(event string)
	// Timeline is the control plane's output timeline, which redundant
	// events (EventConfig.Feeds) publish through; nil: their feeds are
	// received but no output is published.
	Timeline Timeline
	// DVR is the node's DVR store (opened and closed by the caller); nil:
	// no DVR on this node.
	DVR *dvr.Store
	// Mirror copies every segment the DVR keeps to other nodes; nil: none.
	Mirror Mirror
	// PullClient fetches pulled feeds (FeedConfig.PullURL); nil: they are
	// not pulled here.
	PullClient *http.Client
}

// Origin holds every push event of one node.
type Origin struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	m      *metrics
	store  *store
	filler Filler
	active func(string)

	timeline Timeline

	mu     sync.RWMutex
	events map[string]*event // by id; a redundant event's feeds by feedEventID
	// outputs are the redundant events, by id.
	outputs map[string]*output
	budget  budget
	// dvr writes published segments to the DVR store (nil: none);
	// dvrCfg are the events that keep a DVR window, by id.
	dvr    *dvrRecorder
	dvrCfg map[string]dvrConfig
	mirror Mirror
	// pullClient fetches pulled feeds (nil: none are pulled here).
	pullClient *http.Client

	// ctx ends at Close; the packagers of low-latency segments (wg) run
	// under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// event is the state of one push event. Its mutex guards maps only; no
// I/O happens under it.
type event struct {
	id     string
	keys   [][]byte
	active atomic.Bool // has accepted at least one upload
	// used is what the event holds of the live budget: its files and
	// playlists and the reservations of its uploads in progress.
	used atomic.Int64

	mu        sync.Mutex
	files     map[string]*file     // segments, init segments, manifests; complete or pending
	playlists map[string]*playlist // published (validated) playlists by path
	changed   chan struct{}        // closed and replaced when a file entry appears
	// removed is set when SetEvents dropped the event: uploads still in
	// progress give their reservations back instead of handing them over.
	removed bool
	swept   time.Time // last sweep of unlisted files
	// dash is the state of its DASH push (its MPD, the LL-HLS packager of
	// a low-latency event): made with the event when it is low latency,
	// else with its first MPD.
	dash       *dash
	partTarget time.Duration // > 0: low latency
	// dvrWindow and vodOnEnd: the event keeps a DVR (dvr.go).
	dvrWindow time.Duration
	vodOnEnd  bool
	// feed and out are set on the event of a redundant event's feed: its
	// name and the output it feeds.
	feed string
	out  *output
}

// publicID is the event id players and encoders know the event by.
func (ev *event) publicID() string {
	if ev.out != nil {
		return ev.out.id
	}
	return ev.id
}

type file struct {
	obj    *object.Object
	kind   segment.FileKind
	size   int64     // live bytes the event holds for it; 0 while pending (the upload holds them)
	listed int       // how many published playlists list it now
	ever   bool      // ever listed: an unlisted file that was listed left the window
	done   time.Time // when the upload completed; zero while pending
}

type playlist struct {
	media  *segment.MediaPlaylist // nil for a master playlist
	obj    *object.Object
	listed []string // event-relative paths of the segments and maps it lists
	cost   int64    // live bytes the event holds for it (see playlistCost)
}

// New returns an Origin with no events. It does no I/O.
func New(cfg Config, deps Deps) (*Origin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := newStore(cfg.LiveBytes, cfg.RetiredBytes)
	if err != nil {
		return nil, err
	}
	o := &Origin{cfg: cfg, log: deps.Logger, now: deps.Now, store: st, filler: deps.Filler,
		active: deps.OnActive, timeline: deps.Timeline, pullClient: deps.PullClient, events: make(map[string]*event), outputs: map[string]*output{}, dvrCfg: map[string]dvrConfig{}}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.m = newMetrics(deps.Registerer, o)
	if deps.DVR != nil {
		o.dvr, o.mirror = newDVRRecorder(deps.DVR), deps.Mirror
		o.wg.Go(o.runDVR)
	}
	return o, nil
}

// Close stops the low-latency packagers and releases the retired cache.
func (o *Origin) Close() {
	o.cancel()
	o.wg.Wait()
	o.store.close()
}

// SetEvents replaces the set of push events: new ones start empty, existing
// ones keep their content (and take a changed stream key), removed ones are
// dropped with everything they held.
func (o *Origin) SetEvents(evs []EventConfig) {
	o.mu.Lock()
	defer o.mu.Unlock()
	clear(o.dvrCfg)
	for _, ec := range evs {
		if ec.DVRWindow > 0 || ec.VODOnEnd {
			o.dvrCfg[ec.ID] = dvrConfig{window: ec.DVRWindow, ended: ec.Ended}
			o.dvrPolicy(ec)
		}
	}
	evs = o.setOutputs(evs)
	keep := make(map[string]bool, len(evs))
	for _, ec := range evs {
		keep[ec.ID] = true
		if ev, ok := o.events[ec.ID]; ok {
			ev.mu.Lock()
			ev.keys = keyBytes(ec.StreamKeys)
			ev.dvrWindow, ev.vodOnEnd = ec.DVRWindow, ec.VODOnEnd
			var old *dash
			if ev.partTarget != ec.PartTarget { // a new packager; files stay
				old, ev.partTarget, ev.dash = ev.dash, ec.PartTarget, nil
				if ec.PartTarget > 0 {
					ev.dash = newDash(o, ev, ec.PartTarget)
				}
			}
			ev.mu.Unlock()
			if old != nil {
				old.releaseAll()
			}
			continue
		}
		ev := &event{id: ec.ID, keys: keyBytes(ec.StreamKeys), files: make(map[string]*file),
			playlists: make(map[string]*playlist), changed: make(chan struct{}), partTarget: ec.PartTarget,
			dvrWindow: ec.DVRWindow, vodOnEnd: ec.VODOnEnd}
		if ec.PartTarget > 0 {
			ev.dash = newDash(o, ev, ec.PartTarget)
		}
		if id, feed, ok := strings.Cut(ec.ID, feedSep); ok {
			out := o.outputs[id]
			ev.feed, ev.out = feed, out
			out.mu.Lock()
			out.feeds[feed] = ev
			out.mu.Unlock()
		}
		o.events[ec.ID] = ev
	}
	for id, ev := range o.events {
		if keep[id] {
			continue
		}
		delete(o.events, id)
		if ev.out != nil {
			ev.out.mu.Lock()
			if ev.out.feeds[ev.feed] == ev {
				delete(ev.out.feeds, ev.feed)
			}
			ev.out.mu.Unlock()
		}
		ev.mu.Lock()
		ev.removed = true
		for _, f := range ev.files {
			o.release(ev, f.size)
		}
		for _, p := range ev.playlists {
			o.release(ev, p.cost)
		}
		ev.files, ev.playlists = map[string]*file{}, map[string]*playlist{}
		d := ev.dash
		ev.dash = nil
		ev.mu.Unlock()
		if d != nil {
			d.releaseAll()
		}
		o.store.dropRetiredPrefix(id + "/")
	}
	evl := make([]*event, 0, len(o.events))
	for _, ev := range o.events {
		evl = append(evl, ev)
	}
	o.setBudgetEvents(evl)
}

// setOutputs makes the outputs of the redundant events of evs (o.mu
// held) and returns evs with each redundant event replaced by its feeds'
// events.
func (o *Origin) setOutputs(evs []EventConfig) []EventConfig {
	plain := make([]EventConfig, 0, len(evs)+2)
	keep := map[string]bool{}
	for _, ec := range evs {
		if len(ec.Feeds) == 0 {
			plain = append(plain, ec)
			continue
		}
		keep[ec.ID] = true
		if out := o.outputs[ec.ID]; out != nil {
			out.configure(ec.outputConfig())
		} else {
			out := newOutput(o, ec.outputConfig())
			o.outputs[ec.ID] = out
			out.start()
		}
		for _, f := range ec.Feeds {
			plain = append(plain, EventConfig{ID: feedEventID(ec.ID, f.Name), StreamKeys: f.StreamKeys})
		}
	}
	for id, out := range o.outputs {
		if !keep[id] {
			out.cancel()
			delete(o.outputs, id)
			o.store.dropRetiredPrefix(id + "/")
		}
	}
	return plain
}

// Events lists the push events this origin takes, sorted.
func (o *Origin) Events() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	ids := make([]string, 0, len(o.events))
	for id := range o.events {
		if !strings.Contains(id, feedSep) {
			ids = append(ids, id)
		}
	}
	for id := range o.outputs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Active reports whether event id has received content here, i.e. whether
// this node is its origin (an encoder pushes into one ingest node; for a
// redundant event, one of its feeds).
func (o *Origin) Active(id string) bool {
	if ev := o.event(id); ev != nil {
		return ev.active.Load()
	}
	if out := o.output(id); out != nil {
		for _, ev := range out.feedEvents() {
			if ev.active.Load() {
				return true
			}
		}
	}
	return false
}

// ActiveEvents lists the events that have received content here, sorted.
func (o *Origin) ActiveEvents() []string {
	var ids []string
	for _, id := range o.Events() {
		if o.Active(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// markActive records the first accepted upload of ev.
func (o *Origin) markActive(ev *event) {
	if !ev.active.Swap(true) && o.active != nil {
		o.active(ev.publicID())
	}
}

// event is the plain push event id; the events of feeds have internal
// ids no request can name.
func (o *Origin) event(id string) *event {
	if strings.Contains(id, feedSep) {
		return nil
	}
	o.mu.RLock()
	ev := o.events[id]
	o.mu.RUnlock()
	return ev
}

// authorize returns the event when token is its stream key.
func (o *Origin) authorize(id, token string) (*event, error) {
	ev := o.event(id)
	if ev == nil {
		if out := o.output(id); out != nil {
			if fev := out.authorizeFeed(token); fev != nil {
				return fev, nil
			}
			return nil, fmt.Errorf("%w for event %q", ErrUnauthorized, id)
		}
		return nil, fmt.Errorf("%w: %q", ErrNoEvent, id)
	}
	ev.mu.Lock()
	keys := ev.keys
	ev.mu.Unlock()
	ok := 0
	for _, k := range keys {
		ok |= subtle.ConstantTimeCompare(k, []byte(token))
	}
	if ok != 1 || token == "" {
		return nil, fmt.Errorf("%w for event %q", ErrUnauthorized, id)
	}
	return ev, nil
}

func keyBytes(keys []string) [][]byte {
	out := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			out = append(out, []byte(k))
		}
	}
	return out
}

// Get returns the published playlist or the file at path of event id; the
// object may still be arriving (pending), in which case readers follow it.
// ErrInactive says no encoder pushed into this event here: another node
// may be its origin. It does not allocate for live files, so the node
// calls it per request.
func (o *Origin) Get(id, path string) (*object.Object, error) {
	obj, err := o.get(id, path)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInactive) {
		// DVR playlists, and segments that left the live window.
		if dobj, ok, derr := o.getDVR(id, path, func(base string) (*object.Object, error) { return o.get(id, base) }); ok {
			return dobj, derr
		}
	}
	return obj, err
}

func (o *Origin) get(id, path string) (*object.Object, error) {
	ev := o.event(id)
	if ev == nil {
		if out := o.output(id); out != nil {
			return out.get(path)
		}
		return nil, fmt.Errorf("%w: %q", ErrNoEvent, id)
	}
	if !ev.active.Load() {
		return nil, ErrInactive
	}
	ev.mu.Lock()
	if p, ok := ev.playlists[path]; ok {
		ev.mu.Unlock()
		return p.obj, nil
	}
	if f, ok := ev.files[path]; ok {
		ev.mu.Unlock()
		return f.obj, nil
	}
	d := ev.dash
	ev.mu.Unlock()
	if d != nil && d.partTarget > 0 {
		if obj, ok, err := d.llGet(path); ok {
			return obj, err
		}
	}
	if r := o.store.getRetired(id + "/" + path); r != nil {
		return r, nil
	}
	return nil, ErrNotFound
}

// notify wakes playlists waiting for a listed file to appear; ev.mu held.
func (ev *event) notify() {
	close(ev.changed)
	ev.changed = make(chan struct{})
}
