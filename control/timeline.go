package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// The output timeline of a redundant event (one with Feeds): which feed
// segment is output media sequence number N of each rendition. Every
// segment an ingest node publishes in the output is appended here first,
// through the leader, so there is one timeline for the mesh: two ingest
// nodes never publish different output playlists, a node cut off from the
// quorum cannot append and so stops publishing, and a node that takes
// over continues from the last committed entry. Appends are Raft entries
// of their own: they do not change the Document (its version, History and
// watchers see only the feed switches, which are commands).

// TimelineWindow is how many entries of each rendition the timeline keeps:
// the output playlists' live window and a margin. It is part of the state
// machine: every voter uses the same number.
const TimelineWindow = 32

// maxTimelineRenditions bounds the renditions of one event's timeline.
const maxTimelineRenditions = 64

// Errors of AppendTimeline besides the store's own.
var (
	// ErrNotActive: the feed is not the event's active feed; the node
	// must stop publishing the output.
	ErrNotActive = errors.New("control: feed is not active")
	// ErrStale: the segment covers time the output already has (or was
	// appended already under another number): the publisher skips it.
	ErrStale = errors.New("control: segment is older than the output")
)

// TimelineOp appends one feed segment to a rendition's output.
type TimelineOp struct {
	Event     string `json:"event"`
	Feed      string `json:"feed"`
	Rendition string `json:"rendition"` // the media playlist's event-relative path
	// Source is the feed segment's event-relative path, unique within the
	// feed; appending the newest entry's source again is a duplicate that
	// answers that entry.
	Source string `json:"source"`
	// Map is the feed's init segment of Source ("" for MPEG-TS).
	Map      string    `json:"map,omitempty"`
	Duration Duration  `json:"duration"`
	PDT      time.Time `json:"pdt,omitzero"` // program date time of its first sample; zero: unknown
	// PTS is the presentation time of its first sample in 90 kHz units
	// (nil: unknown); equal to the previous entry's end, the timelines of
	// two feeds align and a switch needs no discontinuity.
	PTS *int64 `json:"pts,omitempty"`
	// Discontinuity: the feed's own playlist has one before this segment.
	Discontinuity bool  `json:"discontinuity,omitempty"`
	Bytes         int64 `json:"bytes,omitempty"`
}

// TimelineEntry is one committed output segment.
type TimelineEntry struct {
	MSN uint64 `json:"msn"`
	// DSN is its discontinuity sequence number; Discontinuity says the
	// output has EXT-X-DISCONTINUITY before it.
	DSN           uint64    `json:"dsn"`
	Discontinuity bool      `json:"discontinuity,omitempty"`
	Feed          string    `json:"feed"`
	Source        string    `json:"source"`
	Map           string    `json:"map,omitempty"`
	Duration      Duration  `json:"duration"`
	PDT           time.Time `json:"pdt,omitzero"`
	PTS           *int64    `json:"pts,omitempty"`
	Bytes         int64     `json:"bytes,omitempty"`
	At            time.Time `json:"at"` // the leader's clock when it was appended
}

// End is the program date time at which the entry ends (zero when its
// PDT is unknown).
func (e TimelineEntry) End() time.Time {
	if e.PDT.IsZero() {
		return time.Time{}
	}
	return e.PDT.Add(time.Duration(e.Duration))
}

// Timeline is one event's output timeline: the last TimelineWindow entries
// of each rendition.
type Timeline struct {
	Renditions map[string][]TimelineEntry `json:"renditions"`
}

// LastAppend is when the output last grew: the oldest of its renditions'
// newest entries (a rendition that stalls stalls the output), zero for an
// empty timeline.
func (t *Timeline) LastAppend() time.Time {
	var last time.Time
	for _, es := range t.Renditions {
		if len(es) == 0 {
			continue
		}
		if at := es[len(es)-1].At; last.IsZero() || at.Before(last) {
			last = at
		}
	}
	return last
}

func (t *Timeline) clone() *Timeline {
	c := &Timeline{Renditions: make(map[string][]TimelineEntry, len(t.Renditions))}
	for r, es := range t.Renditions {
		c.Renditions[r] = slices.Clone(es)
	}
	return c
}

// TimelineResult is what an append committed: the entry (for a duplicate,
// the one appended first) and the rendition's window after it, which the
// publisher renders the output playlist from.
type TimelineResult struct {
	Entry  TimelineEntry   `json:"entry"`
	Window []TimelineEntry `json:"window"`
}

// ptsTolerance is how far (90 kHz) a feed's first PTS may be from the
// previous entry's end for the two to count as one timeline: half a frame
// at 50 fps.
const ptsTolerance = 900

// appendTimeline judges op, accepted by the leader at at, against the
// state and applies it; on error nothing changes. Deterministic.
func (s *state) appendTimeline(op TimelineOp, at time.Time) (TimelineResult, error) {
	ev, ok := s.doc.Events[op.Event]
	switch {
	case !ok:
		return TimelineResult{}, notFound("event", op.Event)
	case ev.Feeds == nil:
		return TimelineResult{}, invalid("event", "event %q has no feeds", op.Event)
	case op.Feed != ev.Feeds.ActiveFeed():
		return TimelineResult{}, fmt.Errorf("%w: event %s is on its %s feed, not %s", ErrNotActive, op.Event,
			ev.Feeds.ActiveFeed(), op.Feed)
	case op.Rendition == "" || op.Source == "" || len(op.Rendition) > maxTextLen || len(op.Source) > maxTextLen ||
		len(op.Map) > maxTextLen:
		return TimelineResult{}, invalid("timeline", "rendition and source are required, at most %d bytes each", maxTextLen)
	case op.Duration <= 0:
		return TimelineResult{}, invalid("timeline.duration", "must be positive")
	}
	tl := s.timelines[op.Event]
	if tl == nil {
		tl = &Timeline{Renditions: map[string][]TimelineEntry{}}
	}
	es := tl.Renditions[op.Rendition]
	if es == nil && len(tl.Renditions) >= maxTimelineRenditions {
		return TimelineResult{}, invalid("timeline.rendition", "event %s has %d renditions already", op.Event, maxTimelineRenditions)
	}
	next := TimelineEntry{Feed: op.Feed, Source: op.Source, Map: op.Map, Duration: op.Duration, PDT: op.PDT.UTC(),
		PTS: op.PTS, Bytes: op.Bytes, At: at, Discontinuity: op.Discontinuity}
	if n := len(es); n > 0 {
		last := es[n-1]
		for _, e := range es {
			// The same feed segment again (a retry): same source, same
			// time. A restarted encoder reuses names at other times.
			if e.Feed == op.Feed && e.Source == op.Source && e.PDT.Equal(next.PDT) {
				if e.MSN == last.MSN {
					return TimelineResult{Entry: e, Window: slices.Clone(es)}, nil
				}
				return TimelineResult{}, fmt.Errorf("%w: %s of the %s feed is output segment %d already", ErrStale,
					op.Source, op.Feed, e.MSN)
			}
		}
		if end := last.End(); !end.IsZero() && !next.PDT.IsZero() &&
			next.PDT.Add(time.Duration(next.Duration)/2).Before(end) {
			return TimelineResult{}, fmt.Errorf("%w: %s starts at %s, the output is at %s", ErrStale, op.Source,
				next.PDT.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
		}
		// Another feed continues the output only where its timestamps
		// continue it; within one feed, timestamps that jump (a restarted
		// encoder) break it too.
		if last.Feed != op.Feed && !aligned(last, op, ptsTolerance) ||
			last.Feed == op.Feed && last.PTS != nil && op.PTS != nil &&
				!aligned(last, op, time.Duration(last.Duration).Microseconds()*9/200) {
			next.Discontinuity = true
		}
		next.MSN, next.DSN = last.MSN+1, last.DSN
		if next.Discontinuity {
			next.DSN++
		}
	}
	es = append(es, next)
	if len(es) > TimelineWindow {
		es = slices.Clone(es[len(es)-TimelineWindow:])
	}
	tl.Renditions[op.Rendition] = es
	if s.timelines == nil {
		s.timelines = map[string]*Timeline{}
	}
	s.timelines[op.Event] = tl
	return TimelineResult{Entry: next, Window: slices.Clone(es)}, nil
}

// aligned reports whether op's first sample continues last's timeline
// within tol (90 kHz).
func aligned(last TimelineEntry, op TimelineOp, tol int64) bool {
	if last.PTS == nil || op.PTS == nil {
		return false
	}
	end := *last.PTS + time.Duration(last.Duration).Microseconds()*9/100
	d := *op.PTS - end
	return d >= -tol && d <= tol
}

// dropTimelines forgets the timelines of events that left the document.
func (s *state) dropTimelines() {
	for id := range s.timelines {
		if ev, ok := s.doc.Events[id]; !ok || ev.Feeds == nil {
			delete(s.timelines, id)
		}
	}
}

// applyTimeline applies the Raft entry of an append.
func (f *fsm) applyTimeline(op TimelineOp, at time.Time) applyResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, err := f.st.appendTimeline(op, at)
	return applyResponse{timeline: res, err: err}
}

// previewTimeline judges op without changing anything (see AppendTimeline).
func (f *fsm) previewTimeline(op TimelineOp) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	saved := f.st.timelines[op.Event]
	var copied *Timeline
	if saved != nil {
		copied = saved.clone()
		f.st.timelines[op.Event] = copied
	}
	_, err := f.st.appendTimeline(op, f.now().UTC())
	if saved != nil {
		f.st.timelines[op.Event] = saved
	} else {
		delete(f.st.timelines, op.Event)
	}
	return err
}

// AppendTimeline commits op through the leader and returns the entry it
// became and the rendition's window. Errors: ErrNotActive (stop
// publishing), ErrStale (skip the segment), ErrNotFound and ErrInvalid,
// a *NotLeaderError on a follower, ctx's error.
func (s *Store) AppendTimeline(ctx context.Context, op TimelineOp) (TimelineResult, error) {
	r, err := s.leaderRaft()
	if err != nil {
		return TimelineResult{}, err
	}
	if err := s.fsm.previewTimeline(op); err != nil && !errors.Is(err, ErrNotActive) {
		// A just-elected leader may lag: a refusal other than "not
		// active" (which the switch that made it commits first) is
		// judged again after a barrier, as Apply does.
		if berr := s.Barrier(ctx); berr != nil {
			return TimelineResult{}, berr
		}
		if err := s.fsm.previewTimeline(op); err != nil {
			return TimelineResult{}, err
		}
	}
	data, err := json.Marshal(entry{Timeline: &op, At: s.now().UTC()})
	if err != nil {
		return TimelineResult{}, fmt.Errorf("control: encode timeline entry: %w", err)
	}
	if len(data) > MaxCommandSize {
		return TimelineResult{}, tooLarge(len(data))
	}
	fut := r.Apply(data, enqueueTimeout(ctx))
	if err := wait(ctx, fut); err != nil {
		return TimelineResult{}, raftErr(r, err)
	}
	resp, ok := fut.Response().(applyResponse)
	if !ok {
		return TimelineResult{}, fmt.Errorf("control: unexpected apply response %T", fut.Response())
	}
	return resp.timeline, resp.err
}

// Timeline returns this voter's copy of event's output timeline (false:
// none yet). It may trail the leader's by what is not applied here yet.
func (s *Store) Timeline(event string) (*Timeline, bool) {
	s.fsm.mu.Lock()
	defer s.fsm.mu.Unlock()
	tl, ok := s.fsm.st.timelines[event]
	if !ok {
		return nil, false
	}
	return tl.clone(), true
}

// timelinesImage copies every timeline for a snapshot.
func (s *state) timelinesImage() map[string]*Timeline {
	if len(s.timelines) == 0 {
		return nil
	}
	out := make(map[string]*Timeline, len(s.timelines))
	for id, tl := range s.timelines {
		out[id] = tl.clone()
	}
	return out
}

// restoreTimelines installs a snapshot's timelines.
func (s *state) restoreTimelines(m map[string]*Timeline) {
	s.timelines = maps.Clone(m)
	if s.timelines == nil {
		s.timelines = map[string]*Timeline{}
	}
	s.dropTimelines()
}

// LocalTimeline is the output timeline of a node without a control plane
// (a single node configured by its file, or a test): the same rules as
// the replicated one, in memory. Safe for concurrent use.
type LocalTimeline struct {
	mu  sync.Mutex
	st  *state
	now func() time.Time
}

// NewLocalTimeline returns an empty local timeline; now nil is time.Now.
func NewLocalTimeline(now func() time.Time) *LocalTimeline {
	if now == nil {
		now = time.Now
	}
	return &LocalTimeline{st: newState(), now: now}
}

// PutEvent creates or replaces an event (put_event's rules: the active
// feed is kept).
func (l *LocalTimeline) PutEvent(ev Event) error {
	return l.apply(CmdPutEvent, ev)
}

func (l *LocalTimeline) apply(typ string, payload any) error {
	cmd, err := NewCommand(typ, payload)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.st.apply(entry{Cmd: cmd, At: l.now().UTC()})
	return err
}

// Event returns the event as the local timeline holds it.
func (l *LocalTimeline) Event(id string) (Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev, ok := l.st.doc.Events[id]
	return ev, ok
}

// AppendTimeline appends op (Store.AppendTimeline's rules).
func (l *LocalTimeline) AppendTimeline(_ context.Context, op TimelineOp) (TimelineResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.appendTimeline(op, l.now().UTC())
}

// TimelineAge is how long ago event's output last grew (empty: never).
func (l *LocalTimeline) TimelineAge(_ context.Context, event string) (time.Duration, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return timelineAge(l.st.timelines[event], l.st.doc.Events[event], l.now())
}

// SwitchFeed makes to the active feed of event if from is (set_active_feed).
func (l *LocalTimeline) SwitchFeed(_ context.Context, event, to, from, reason string) error {
	return l.apply(CmdSetActiveFeed, ActiveFeedArgs{ID: event, Feed: to, From: from, Reason: reason})
}

// timelineAge reads tl at now: how long since the output last grew or
// last switched feeds (the new feed is given the stall limit from the
// switch, not from the old feed's last segment, so two nodes never bounce
// the output between them), or empty.
func timelineAge(tl *Timeline, ev Event, now time.Time) (time.Duration, bool, error) {
	if tl == nil {
		return 0, true, nil
	}
	last := tl.LastAppend()
	if last.IsZero() {
		return 0, true, nil
	}
	if ev.Feeds != nil && ev.Feeds.LastSwitch != nil && ev.Feeds.LastSwitch.At.After(last) {
		last = ev.Feeds.LastSwitch.At
	}
	return max(now.Sub(last), 0), false, nil
}

// TimelineAge is how long ago event's output last grew or switched feeds,
// by this voter's copy and clock (empty: never grew).
func (s *Store) TimelineAge(event string) (time.Duration, bool) {
	s.fsm.mu.Lock()
	tl := s.fsm.st.timelines[event]
	ev := s.fsm.st.doc.Events[event]
	age, empty, _ := timelineAge(tl, ev, s.now())
	s.fsm.mu.Unlock()
	return age, empty
}
