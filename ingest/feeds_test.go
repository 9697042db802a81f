package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/pkg/segment"
)

const (
	primaryKey = "primary-0123456789abcdef"
	backupKey  = "backup-0123456789abcdef"
)

// clock is a settable clock shared by an origin and its timeline.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tsSegment is a transport stream segment whose first PES has pts, with
// a marker so segments of both feeds can be told apart.
func tsSegment(pts int64, marker string) []byte {
	p := make([]byte, 188)
	p[0], p[1], p[2], p[3] = 0x47, 0x41, 0x00, 0x10
	copy(p[4:], []byte{0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5})
	t := p[13:]
	t[0] = 0x21 | byte(pts>>29&0x0e)
	t[1] = byte(pts >> 22)
	t[2] = byte(pts>>14) | 1
	t[3] = byte(pts >> 7)
	t[4] = byte(pts<<1) | 1
	copy(p[20:], marker)
	return p
}

// feedRig is one origin receiving both feeds of event "ev", its output
// committed to a local timeline.
type feedRig struct {
	t     *testing.T
	since map[string]int // the first segment of each key's current run
	o     *Origin
	tl    *control.LocalTimeline
	clock *clock
	t0    time.Time
}

func newFeedRig(t *testing.T, policy string) *feedRig {
	t0 := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	tl := control.NewLocalTimeline(c.now)
	cev := control.Event{ID: "ev", Feeds: &control.Feeds{
		Primary:    control.Feed{StreamKeys: []string{primaryKey}},
		Backup:     control.Feed{StreamKeys: []string{backupKey}},
		SwitchBack: policy, HealthySegments: 3,
	}}
	if err := tl.PutEvent(cev); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ListedGrace = 200 * time.Millisecond
	o, err := New(cfg, Deps{Now: c.now, Timeline: tl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	r := &feedRig{t: t, o: o, tl: tl, clock: c, t0: t0, since: map[string]int{}}
	r.apply()
	return r
}

// apply gives the origin the event as the timeline's document has it (the
// node does this on every document change).
func (r *feedRig) apply() {
	ev, _ := r.tl.Event("ev")
	r.o.SetEvents([]EventConfig{{ID: "ev", Feeds: []FeedConfig{
		{Name: control.FeedPrimary, StreamKeys: []string{primaryKey}},
		{Name: control.FeedBackup, StreamKeys: []string{backupKey}}},
		Active: ev.Feeds.ActiveFeed(), SwitchBack: ev.Feeds.SwitchBack, HealthySegments: ev.Feeds.HealthySegments}})
}

// push uploads segment i of a feed (PDT t0 + 2i s) and its playlist
// listing the last three it pushed. offset shifts the feed's PTS (another
// encoder).
func (r *feedRig) push(key string, i int, offset int64) {
	r.t.Helper()
	if s, ok := r.since[key]; !ok || i < s {
		r.since[key] = i
	}
	up := func(p string, b []byte) {
		r.t.Helper()
		if _, err := r.o.Put(context.Background(), Upload{Event: "ev", Path: p, Token: key,
			Body: strings.NewReader(string(b)), ContentLength: -1}); err != nil {
			r.t.Fatalf("%s: %v", p, err)
		}
	}
	up(fmt.Sprintf("0/index%d.ts", i), tsSegment(offset+int64(i)*180000, fmt.Sprintf("%s-%d", key[:7], i)))
	var b strings.Builder
	first := max(r.since[key], i-2)
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", first)
	for j := first; j <= i; j++ {
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:2.000000,\nindex%d.ts\n",
			r.t0.Add(time.Duration(j)*2*time.Second).Format("2006-01-02T15:04:05.000Z"), j)
	}
	up("0/index.m3u8", []byte(b.String()))
}

// output is the output playlist, parsed, once it lists msn.
func (r *feedRig) output(msn uint64) *segment.MediaPlaylist {
	r.t.Helper()
	var pl *segment.MediaPlaylist
	poll.Until(r.t, fmt.Sprintf("the output lists msn %d", msn), 10*time.Second, func() bool {
		obj, err := r.o.Get("ev", "0/index.m3u8")
		if err != nil {
			return false
		}
		b, _ := obj.Complete()
		p, err := segment.ParseMedia(b)
		if err != nil {
			r.t.Fatalf("output playlist: %v\n%s", err, b)
		}
		pl = p
		return p.MediaSequence+uint64(len(p.Segments)) > msn
	})
	return pl
}

func (r *feedRig) segmentBody(p string) string {
	r.t.Helper()
	obj, err := r.o.Get("ev", p)
	if err != nil {
		r.t.Fatalf("get %s: %v", p, err)
	}
	b, _ := obj.Complete()
	return string(b)
}

func TestOutputFailover(t *testing.T) {
	r := newFeedRig(t, control.SwitchBackManual)
	const backupOffset = 123456 // the backup encoder's clock started elsewhere
	for i := range 3 {
		r.push(primaryKey, i, 0)
		r.push(backupKey, i, backupOffset)
		r.output(uint64(i)) // out before the (test's) clock moves on
		r.clock.add(2 * time.Second)
	}
	pl := r.output(2)
	if pl.MediaSequence != 0 || len(pl.Segments) != 3 || pl.Segments[2].URI != "2.ts" {
		t.Fatalf("output before the failure: seq %d, %+v", pl.MediaSequence, pl.Segments)
	}
	if b := r.segmentBody("0/1.ts"); !strings.Contains(b, "primary-1") {
		t.Fatalf("output segment 1 is not the primary's: %q", b)
	}
	// The primary's encoder dies; the backup keeps delivering. The
	// output switches once the backup has been on time twice (segment 4)
	// and takes it from segment 3, the first the output does not have.
	for i := 3; i < 7; i++ {
		r.clock.add(2 * time.Second)
		r.push(backupKey, i, backupOffset)
		if i >= 4 {
			r.output(uint64(i)) // the switch is made before the next segment
		}
	}
	pl = r.output(5)
	ev, _ := r.tl.Event("ev")
	if ev.Feeds.ActiveFeed() != control.FeedBackup || ev.Feeds.LastSwitch == nil ||
		!strings.Contains(ev.Feeds.LastSwitch.Reason, "no output segment") {
		t.Fatalf("the switch: %+v", ev.Feeds.LastSwitch)
	}
	r.apply()
	// One timeline: numbers go on, time never repeats, a discontinuity
	// where the encoders' timestamps differ.
	var prevEnd time.Time
	dsn := pl.DiscontinuitySequence
	for i, s := range pl.Segments {
		msn := pl.MediaSequence + uint64(i)
		if s.URI != fmt.Sprintf("%d.ts", msn) {
			t.Errorf("segment %d is %s", msn, s.URI)
		}
		if !prevEnd.IsZero() && s.ProgramDateTime.Before(prevEnd) {
			t.Errorf("segment %d starts at %v, before the previous end %v", msn, s.ProgramDateTime, prevEnd)
		}
		prevEnd = s.ProgramDateTime.Add(2 * time.Second)
		if s.Discontinuity && i > 0 {
			dsn++
		}
		body := r.segmentBody("0/" + s.URI)
		want, wantDSN := fmt.Sprintf("backup--%d", msn), uint64(1)
		if msn <= 2 {
			want, wantDSN = fmt.Sprintf("primary-%d", msn), 0
		}
		if !strings.Contains(body, want) {
			t.Errorf("segment %d: %q, want %s", msn, body, want)
		}
		if dsn != wantDSN {
			t.Errorf("segment %d has discontinuity sequence %d, want %d", msn, dsn, wantDSN)
		}
	}
	// Manual switch back: the primary returning changes nothing.
	r.since[primaryKey] = 7 // a restarted encoder
	for i := 7; i < 12; i++ {
		r.clock.add(2 * time.Second)
		r.push(primaryKey, i, 0)
		r.push(backupKey, i, backupOffset)
		// The backup's segment is in the output before the clock moves
		// on: one still waiting for the output's worker when it does
		// would make the backup look stale (two segments' time without
		// one) and fail it over to the primary.
		r.output(uint64(i))
	}
	if ev, _ := r.tl.Event("ev"); ev.Feeds.ActiveFeed() != control.FeedBackup {
		t.Fatalf("a manual event switched back on its own: %+v", ev.Feeds.LastSwitch)
	}
}

// TestOutputActiveEncoderRestarts: the active feed's encoder restarts (the
// only encoder of the event: its backup never pushes). The new run
// numbers from 0 again, reuses the old run's segment names with other
// bytes, and its timestamps start over while its program date-times go on
// with the wall clock (ffmpeg's -hls_flags program_date_time). The output
// carries on: its numbers continue without a gap or a repeat, a
// discontinuity marks the restart, the new segments are the new run's,
// and the old output segments keep the old run's bytes under their own
// names (caches may hold them for good).
func TestOutputActiveEncoderRestarts(t *testing.T) {
	r := newFeedRig(t, control.SwitchBackManual)
	push := func(name, at int, pts int64, marker string, first int) {
		t.Helper()
		up := func(p string, b []byte) {
			t.Helper()
			if _, err := r.o.Put(context.Background(), Upload{Event: "ev", Path: p, Token: primaryKey,
				Body: strings.NewReader(string(b)), ContentLength: -1}); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		up(fmt.Sprintf("0/index%d.ts", name), tsSegment(pts, marker))
		var b strings.Builder
		from := max(first, name-2)
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", from)
		for j := from; j <= name; j++ {
			fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:2.000000,\nindex%d.ts\n",
				r.t0.Add(time.Duration(at-name+j)*2*time.Second).Format("2006-01-02T15:04:05.000Z"), j)
		}
		up("0/index.m3u8", []byte(b.String()))
	}
	// Every output playlist seen, merged by media sequence number: a
	// number must always name the same segment in the same discontinuity
	// sequence (a playlist that starts at the restart drops its tag and
	// counts it in EXT-X-DISCONTINUITY-SEQUENCE).
	type outSeg struct {
		uri string
		dsn uint64
	}
	out := map[uint64]outSeg{}
	var lastDSN uint64
	observe := func(msn uint64) {
		t.Helper()
		pl := r.output(msn)
		dsn := pl.DiscontinuitySequence
		if dsn < lastDSN {
			t.Fatalf("the discontinuity sequence went back from %d to %d", lastDSN, dsn)
		}
		lastDSN = dsn
		for i, s := range pl.Segments {
			n := pl.MediaSequence + uint64(i)
			if s.Discontinuity && i > 0 {
				dsn++
			}
			if prev, ok := out[n]; ok && prev != (outSeg{s.URI, dsn}) {
				t.Fatalf("output segment %d was %+v, now %s in discontinuity sequence %d", n, prev, s.URI, dsn)
			}
			out[n] = outSeg{s.URI, dsn}
		}
	}
	for i := range 5 {
		push(i, i, int64(i)*180000, fmt.Sprintf("run1-%d", i), 0)
		observe(uint64(i))
		r.clock.add(2 * time.Second)
	}
	for j := range 5 { // the restart: index0.ts again, PTS from 0, the wall clock going on
		push(j, 5+j, int64(j)*180000, fmt.Sprintf("run2-%d", j), 0)
		observe(uint64(5 + j))
		r.clock.add(2 * time.Second)
	}
	if ev, _ := r.tl.Event("ev"); ev.Feeds.ActiveFeed() != control.FeedPrimary {
		t.Fatalf("the output switched feeds on a restart: %+v", ev.Feeds.LastSwitch)
	}
	uris := map[string]uint64{}
	for msn := uint64(0); msn < 10; msn++ {
		s, ok := out[msn]
		if !ok {
			t.Fatalf("output segment %d never listed (a gap); seen %+v", msn, out)
		}
		if other, dup := uris[s.uri]; dup {
			t.Fatalf("output segments %d and %d are both %s", other, msn, s.uri)
		}
		uris[s.uri] = msn
		want := fmt.Sprintf("run1-%d", msn)
		if msn >= 5 {
			want = fmt.Sprintf("run2-%d", msn-5)
		}
		if b := r.segmentBody("0/" + s.uri); !strings.Contains(b, want) {
			t.Errorf("output segment %d (%s): %q, want %s", msn, s.uri, b, want)
		}
		if want := uint64(min(msn/5, 1)); s.dsn != want {
			t.Errorf("output segment %d: discontinuity sequence %d, want %d (the restart's first segment, 5, starts the next)", msn, s.dsn, want)
		}
	}
	if _, ok := out[10]; ok {
		t.Fatalf("the output has more segments than were pushed: %+v", out)
	}
	// The old run's output segments keep their bytes.
	if b := r.segmentBody("0/4.ts"); !strings.Contains(b, "run1-4") {
		t.Fatalf("output segment 4 after the restart: %q, want the first run's", b)
	}
}

func TestOutputAutoSwitchBack(t *testing.T) {
	r := newFeedRig(t, control.SwitchBackAuto)
	if err := r.tl.SwitchFeed(context.Background(), "ev", control.FeedBackup, "", "operator"); err != nil {
		t.Fatal(err)
	}
	r.apply()
	for i := range 3 {
		r.push(backupKey, i, 0)
		r.output(uint64(i))
		r.clock.add(2 * time.Second)
	}
	// The primary comes (back) and is on time for 3 segments: the output
	// returns to it, at a segment boundary, without repeating.
	i := 3
	for ; i < 9; i++ {
		r.push(primaryKey, i, 0)
		r.push(backupKey, i, 0)
		r.clock.add(2 * time.Second)
		r.output(uint64(i)) // the backup's segment is out before the next
		if i == 5 {         // the primary's third on-time segment
			poll.Until(t, "the switch back", 10*time.Second, func() bool {
				ev, _ := r.tl.Event("ev")
				return ev.Feeds.ActiveFeed() == control.FeedPrimary
			})
			break
		}
	}
	r.apply()
	for i++; i < 9; i++ {
		r.push(primaryKey, i, 0)
		r.output(uint64(i))
		r.clock.add(2 * time.Second)
	}
	pl := r.output(8)
	last := pl.MediaSequence + uint64(len(pl.Segments)) - 1
	if b := r.segmentBody(fmt.Sprintf("0/%d.ts", last)); !strings.Contains(b, "primary") {
		t.Fatalf("after the switch back the output is not the primary's: %q", b)
	}
}

func TestFeedPushRules(t *testing.T) {
	r := newFeedRig(t, "")
	r.push(primaryKey, 0, 0)
	for _, tc := range []struct {
		name, event, key, path string
		want                   error
	}{
		{"a third key", "ev", "other-0123456789abcdef", "0/index1.ts", ErrUnauthorized},
		{"the feed's internal id", "ev@primary", primaryKey, "0/index1.ts", ErrNoEvent},
		{"a DASH manifest", "ev", primaryKey, "manifest.mpd", ErrBadPath},
	} {
		_, err := r.o.Put(context.Background(), Upload{Event: tc.event, Path: tc.path, Token: tc.key,
			Body: strings.NewReader("x"), ContentLength: -1})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A feed's own files are not served under the event.
	if _, err := r.o.Get("ev", "0/index0.ts"); err == nil {
		t.Error("a feed's segment is served as it was pushed")
	}
	// Nothing of the output yet: not found, and Await (a node asks it
	// for what is not there) does not hold it either.
	if _, err := r.o.Await(context.Background(), "ev", "0/99.ts"); err == nil {
		t.Error("Await of a missing output segment answered")
	}
	if _, err := r.o.Get("ev@primary", "0/index0.ts"); !errors.Is(err, ErrNoEvent) {
		t.Errorf("the feed's internal id answers: %v", err)
	}
	sts := r.o.Feeds("ev")
	if len(sts) != 2 || sts[0].Feed != control.FeedPrimary || !sts[0].Receiving || sts[1].Receiving {
		t.Fatalf("feeds = %+v", sts)
	}
	if sts[0].Rejected != 1 { // the manifest
		t.Errorf("primary rejected = %d", sts[0].Rejected)
	}
}
