package control

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func feedEvent(id string) Event {
	return Event{ID: id, Feeds: &Feeds{
		Primary: Feed{StreamKeys: []string{"primary-0123456789abcdef"}},
		Backup:  Feed{StreamKeys: []string{"backup-0123456789abcdef"}},
	}}
}

func TestFeedsCommands(t *testing.T) {
	fight := cmd(t, CmdPutEvent, feedEvent("fight"))
	toBackup := cmd(t, CmdSetActiveFeed, ActiveFeedArgs{ID: "fight", Feed: FeedBackup, From: FeedPrimary,
		Reason: "primary: no segment for 3.1s", By: "ingest-1"})
	put := func(f func(*Event)) Command { return cmd(t, CmdPutEvent, patch(feedEvent("fight"), f)) }
	runCases(t, []cmdCase{
		{name: "create starts on the primary", cmd: fight, check: func(t *testing.T, d *Document) {
			if fs := d.Events["fight"].Feeds; fs.Active != FeedPrimary || fs.LastSwitch != nil {
				t.Errorf("feeds = %+v", fs)
			}
		}},
		{name: "switch", setup: []Command{fight}, cmd: toBackup, check: func(t *testing.T, d *Document) {
			fs := d.Events["fight"].Feeds
			if fs.Active != FeedBackup || fs.LastSwitch == nil || fs.LastSwitch.From != FeedPrimary ||
				fs.LastSwitch.By != "ingest-1" || !fs.LastSwitch.At.Equal(t0.Add(time.Minute)) {
				t.Errorf("feeds = %+v, switch %+v", fs, fs.LastSwitch)
			}
		}},
		{name: "a second node's switch from the same failure", setup: []Command{fight, toBackup}, cmd: toBackup,
			err: ErrConflict},
		{name: "switch to the active feed", setup: []Command{fight},
			cmd: cmd(t, CmdSetActiveFeed, ActiveFeedArgs{ID: "fight", Feed: FeedPrimary, Reason: "x"}), err: ErrConflict},
		{name: "replace keeps the active feed", setup: []Command{fight, toBackup},
			cmd: put(func(e *Event) { e.Title = "new"; e.Feeds.Active = FeedPrimary }),
			check: func(t *testing.T, d *Document) {
				if fs := d.Events["fight"].Feeds; fs.Active != FeedBackup || fs.LastSwitch == nil {
					t.Errorf("feeds = %+v", fs)
				}
			}},
		{name: "no such feed", setup: []Command{fight},
			cmd: cmd(t, CmdSetActiveFeed, ActiveFeedArgs{ID: "fight", Feed: "third", Reason: "x"}), err: ErrInvalid},
		{name: "event without feeds", setup: []Command{cmd(t, CmdPutEvent, pushEvent("solo"))},
			cmd: cmd(t, CmdSetActiveFeed, ActiveFeedArgs{ID: "solo", Feed: FeedBackup, Reason: "x"}), err: ErrInvalid},
		{name: "no such event", cmd: toBackup, err: ErrNotFound},
		{name: "bad feeds", cmd: put(func(e *Event) {
			e.StreamKeys = []string{"own-0123456789abcdef"}
			e.Feeds.Backup = Feed{PullURL: "https://backup.example/"}
			e.Feeds.SwitchBack = "sometimes"
			e.Feeds.HealthySegments = -1
			e.Feeds.UnhealthyAfter = Duration(time.Millisecond)
		}), err: ErrInvalid, fields: []string{"events[fight].feeds", "events[fight].feeds.backup",
			"events[fight].feeds.switch_back", "events[fight].feeds.healthy_segments", "events[fight].feeds.unhealthy_after"}},
		{name: "shared key", cmd: put(func(e *Event) { e.Feeds.Backup.StreamKeys = e.Feeds.Primary.StreamKeys }),
			err: ErrInvalid, fields: []string{"events[fight].feeds.backup.stream_keys[0]"}},
	})
}

func TestFeedKeysRedacted(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdPutEvent, feedEvent("fight")))
	for _, d := range []*Document{st.doc.Redacted(), st.doc.WithoutStreamKeys()} {
		fs := d.Events["fight"].Feeds
		for _, k := range append(fs.Primary.StreamKeys, fs.Backup.StreamKeys...) {
			if k == "primary-0123456789abcdef" || k == "backup-0123456789abcdef" {
				t.Errorf("key %q left in a redacted copy", k)
			}
		}
	}
	if k := st.doc.Events["fight"].Feeds.Primary.StreamKeys[0]; k != "primary-0123456789abcdef" {
		t.Errorf("redacting changed the document: %q", k)
	}
}

func seg(feed string, i int, pdt time.Time, pts int64) TimelineOp {
	return TimelineOp{Event: "fight", Feed: feed, Rendition: "r0/index.m3u8", Source: fmt.Sprintf("r0/seg%d.ts", i),
		Duration: Duration(2 * time.Second), PDT: pdt, PTS: &pts}
}

func TestTimelineAppend(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdPutEvent, feedEvent("fight")))
	at := t0
	appendOK := func(op TimelineOp) TimelineEntry {
		t.Helper()
		at = at.Add(2 * time.Second)
		res, err := st.appendTimeline(op, at)
		if err != nil {
			t.Fatalf("append %s/%s: %v", op.Feed, op.Source, err)
		}
		return res.Entry
	}
	// The primary: msn 0, 1, 2, no discontinuity.
	for i := range 3 {
		e := appendOK(seg(FeedPrimary, 10+i, t0.Add(time.Duration(i)*2*time.Second), int64(i)*180000))
		if e.MSN != uint64(i) || e.Discontinuity || e.DSN != 0 {
			t.Fatalf("entry %d = %+v", i, e)
		}
	}
	// A retry of the newest is a duplicate; of an older one, stale.
	if e := appendOK(seg(FeedPrimary, 12, t0.Add(4*time.Second), 360000)); e.MSN != 2 {
		t.Fatalf("duplicate = %+v", e)
	}
	if _, err := st.appendTimeline(seg(FeedPrimary, 11, t0.Add(2*time.Second), 180000), at); !errors.Is(err, ErrStale) {
		t.Fatalf("older source: %v", err)
	}
	// The backup may not append while the primary is active.
	if _, err := st.appendTimeline(seg(FeedBackup, 7, t0.Add(6*time.Second), 5), at); !errors.Is(err, ErrNotActive) {
		t.Fatalf("inactive feed: %v", err)
	}
	applyAll(t, st, cmd(t, CmdSetActiveFeed, ActiveFeedArgs{ID: "fight", Feed: FeedBackup, Reason: "test"}))
	// The primary is cut off at once.
	if _, err := st.appendTimeline(seg(FeedPrimary, 13, t0.Add(6*time.Second), 540000), at); !errors.Is(err, ErrNotActive) {
		t.Fatalf("primary after the switch: %v", err)
	}
	// A backup segment covering time already output is stale: the output
	// never repeats.
	if _, err := st.appendTimeline(seg(FeedBackup, 6, t0.Add(4*time.Second), 1), at); !errors.Is(err, ErrStale) {
		t.Fatalf("backup behind the output: %v", err)
	}
	// The next one continues at msn 3, with a discontinuity (another
	// encoder's timestamps).
	e := appendOK(seg(FeedBackup, 7, t0.Add(6*time.Second), 5))
	if e.MSN != 3 || !e.Discontinuity || e.DSN != 1 {
		t.Fatalf("switch entry = %+v", e)
	}
	e = appendOK(seg(FeedBackup, 8, t0.Add(8*time.Second), 5+180000))
	if e.MSN != 4 || e.Discontinuity || e.DSN != 1 {
		t.Fatalf("after the switch = %+v", e)
	}
	// Back to the primary whose timestamps continue the backup's: no
	// discontinuity.
	applyAll(t, st, cmd(t, CmdSetActiveFeed, ActiveFeedArgs{ID: "fight", Feed: FeedPrimary, Reason: "test"}))
	e = appendOK(seg(FeedPrimary, 15, t0.Add(10*time.Second), 5+2*180000+300))
	if e.MSN != 5 || e.Discontinuity || e.DSN != 1 {
		t.Fatalf("aligned switch = %+v", e)
	}
	// The primary's encoder restarts: the same names again, new times,
	// timestamps from near 0: a new entry, with a discontinuity.
	e = appendOK(seg(FeedPrimary, 0, t0.Add(12*time.Second), 126000))
	if e.MSN != 6 || !e.Discontinuity || e.DSN != 2 {
		t.Fatalf("restarted encoder = %+v", e)
	}
	tl := st.timelines["fight"]
	if n := len(tl.Renditions["r0/index.m3u8"]); n != 7 {
		t.Fatalf("window has %d entries", n)
	}
	// The window is bounded.
	for i := range TimelineWindow + 5 {
		appendOK(seg(FeedPrimary, 16+i, t0.Add(time.Duration(14+2*i)*time.Second), 0))
	}
	if n := len(st.timelines["fight"].Renditions["r0/index.m3u8"]); n != TimelineWindow {
		t.Fatalf("window has %d entries, want %d", n, TimelineWindow)
	}
	// Deleting the event (ended first) drops its timeline.
	applyAll(t, st, cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateEnded}),
		cmd(t, CmdDeleteEvent, EventRef{ID: "fight"}))
	if _, ok := st.timelines["fight"]; ok {
		t.Fatal("the timeline of a deleted event is kept")
	}
}

func TestTimelineRejectsBadOps(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdPutEvent, feedEvent("fight")), cmd(t, CmdPutEvent, pushEvent("solo")))
	ok := seg(FeedPrimary, 1, t0, 0)
	for _, tc := range []struct {
		name string
		op   TimelineOp
		err  error
	}{
		{"no event", func() TimelineOp { o := ok; o.Event = "nope"; return o }(), ErrNotFound},
		{"no feeds", func() TimelineOp { o := ok; o.Event = "solo"; return o }(), ErrInvalid},
		{"no source", func() TimelineOp { o := ok; o.Source = ""; return o }(), ErrInvalid},
		{"no duration", func() TimelineOp { o := ok; o.Duration = 0; return o }(), ErrInvalid},
		{"unknown feed", func() TimelineOp { o := ok; o.Feed = "third"; return o }(), ErrNotActive},
	} {
		if _, err := st.appendTimeline(tc.op, t0); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	if len(st.timelines) != 0 {
		t.Errorf("a refused append left a timeline: %+v", st.timelines)
	}
}

// TestTimelineThroughRaft: appends commit through the leader of a
// 3-voter cluster, survive a snapshot and restore, and a follower refuses
// them with the leader's name.
func TestTimelineThroughRaft(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := testCtx(t, 30*time.Second)
	l := c.Leader()
	if _, err := l.Apply(ctx, cmd(t, CmdPutEvent, feedEvent("fight"))); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		res, err := l.AppendTimeline(ctx, seg(FeedPrimary, i, t0.Add(time.Duration(i)*2*time.Second), 0))
		if err != nil || res.Entry.MSN != uint64(i) || len(res.Window) != i+1 {
			t.Fatalf("append %d: %+v, %v", i, res, err)
		}
	}
	for i := range 3 {
		s := c.Store(i)
		if s == l {
			continue
		}
		var nl *NotLeaderError
		if _, err := s.AppendTimeline(ctx, seg(FeedPrimary, 9, t0.Add(time.Minute), 0)); !errors.As(err, &nl) {
			t.Fatalf("follower append: %v", err)
		}
	}
	if err := l.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	l.fsm.mu.Lock()
	img := l.fsm.st.image()
	l.fsm.mu.Unlock()
	st, err := readImage(strings.NewReader(mustJSON(t, img)))
	if err != nil {
		t.Fatal(err)
	}
	if es := st.timelines["fight"].Renditions["r0/index.m3u8"]; len(es) != 5 || es[4].Source != "r0/seg4.ts" {
		t.Fatalf("restored timeline: %+v", es)
	}
	if tl, ok := l.Timeline("fight"); !ok || len(tl.Renditions["r0/index.m3u8"]) != 5 || tl.LastAppend().IsZero() {
		t.Fatalf("Timeline = %+v, %v", tl, ok)
	}
}

// TestTimelineAgeCountsFromTheSwitch: right after a switch the output has
// not grown for a while (that is why it switched); the new feed is given
// the stall limit from the switch, so no node bounces it back at once.
func TestTimelineAgeCountsFromTheSwitch(t *testing.T) {
	now := t0
	l := NewLocalTimeline(func() time.Time { return now })
	if err := l.PutEvent(feedEvent("fight")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendTimeline(t.Context(), seg(FeedPrimary, 0, t0, 0)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second)
	if age, empty, _ := l.TimelineAge(t.Context(), "fight"); empty || age != 5*time.Second {
		t.Fatalf("age %v, empty %v", age, empty)
	}
	if err := l.SwitchFeed(t.Context(), "fight", FeedBackup, FeedPrimary, "test"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(200 * time.Millisecond)
	if age, _, _ := l.TimelineAge(t.Context(), "fight"); age != 200*time.Millisecond {
		t.Fatalf("age after the switch = %v, want 200ms", age)
	}
}
