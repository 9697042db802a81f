package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/dvr"
	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/pkg/segment"
)

// dvrRig is one origin with a DVR store in dir and a plain push event "ev"
// of 2-s segments with program date times from t0.
type dvrRig struct {
	t     *testing.T
	o     *Origin
	st    *dvr.Store
	clock *clock
	t0    time.Time
	n     int // segments pushed
}

func newDVRRig(t *testing.T, dir string, maxBytes int64, window time.Duration) *dvrRig {
	t0 := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	cfg := dvr.DefaultConfig()
	cfg.Dir, cfg.MaxBytes, cfg.NoSync = dir, maxBytes, true
	st, err := dvr.Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(DefaultConfig(), Deps{Now: c.now, DVR: st})
	if err != nil {
		t.Fatal(err)
	}
	o.SetEvents([]EventConfig{{ID: "ev", StreamKeys: []string{key}, DVRWindow: window}})
	r := &dvrRig{t: t, o: o, st: st, clock: c, t0: t0}
	t.Cleanup(r.close)
	return r
}

func (r *dvrRig) close() {
	if r.o != nil {
		r.o.Close()
		r.st.Close()
		r.o = nil
	}
}

func segBody(i int) string { return fmt.Sprintf("segment-%06d-", i) + strings.Repeat("x", 1000) }

// push uploads the next segment and a playlist of the last 6.
func (r *dvrRig) push() {
	r.t.Helper()
	i := r.n
	r.n++
	if err := put(r.o, fmt.Sprintf("0/index%d.ts", i), segBody(i)); err != nil {
		r.t.Fatal(err)
	}
	first := max(0, i-5)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for j := first; j <= i; j++ {
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:2.000000,\nindex%d.ts\n",
			r.t0.Add(time.Duration(j)*2*time.Second).Format("2006-01-02T15:04:05.000Z"), j)
	}
	if err := put(r.o, "0/index.m3u8", b.String()); err != nil {
		r.t.Fatal(err)
	}
	r.clock.add(2 * time.Second)
}

// dvrPlaylist waits until the DVR playlist lists segment msn and returns it.
func (r *dvrRig) dvrPlaylist(p string, msn uint64) (*segment.MediaPlaylist, string) {
	r.t.Helper()
	var pl *segment.MediaPlaylist
	var text string
	poll.Until(r.t, fmt.Sprintf("%s lists %d", p, msn), 10*time.Second, func() bool {
		obj, err := r.o.Get("ev", p)
		if err != nil {
			return false
		}
		b, _ := obj.Complete()
		text = string(b)
		pl, err = segment.ParseMedia(b)
		if err != nil {
			r.t.Fatalf("%s: %v\n%s", p, err, b)
		}
		return pl.MediaSequence+uint64(len(pl.Segments)) > msn
	})
	return pl, text
}

func TestDVRWindowRestartAndSeek(t *testing.T) {
	dir := t.TempDir()
	r := newDVRRig(t, dir, 1<<30, time.Hour)
	const n = 400 // 800 s of media
	for range n {
		r.push()
	}
	pl, text := r.dvrPlaylist("0/index.dvr.m3u8", n-1)
	if pl.MediaSequence != 0 || len(pl.Segments) != n || !strings.Contains(text, "#EXT-X-PLAYLIST-TYPE:EVENT") {
		t.Fatalf("DVR playlist: seq %d, %d segments\n%.300s", pl.MediaSequence, len(pl.Segments), text)
	}
	for i, s := range pl.Segments {
		if s.ProgramDateTime.IsZero() {
			t.Fatalf("segment %d has no program date time", i)
		}
	}
	// Seek 10 minutes back: the segment is byte-exact, long after it
	// left the live window.
	back := n - 1 - 300
	if got := body(t, r.o, "0/"+pl.Segments[back].URI); got != segBody(back) {
		t.Fatalf("segment %d: %.40q", back, got)
	}
	// A delta update leaves out what is older than CAN-SKIP-UNTIL (6 target
	// durations: 12 s, the last 6 segments stay).
	if !strings.Contains(text, "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12") {
		t.Fatalf("DVR playlist without CAN-SKIP-UNTIL:\n%.400s", text)
	}
	dobj, err := r.o.GetDVRDelta("ev", "0/index.dvr.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	db, _ := dobj.Complete()
	delta, err := segment.ParseMedia(db)
	if err != nil || !strings.Contains(string(db), "#EXT-X-SKIP:SKIPPED-SEGMENTS=") || len(delta.Segments) > 7 ||
		delta.MediaSequence != 0 {
		t.Fatalf("delta update: %v, %d segments\n%.400s", err, len(delta.Segments), db)
	}
	// Start over: the same list, starting at the first segment.
	if _, so := r.dvrPlaylist("0/index.startover.m3u8", n-1); !strings.Contains(so, "#EXT-X-START:TIME-OFFSET=0") {
		t.Fatalf("start-over playlist:\n%.300s", so)
	}
	// A restart of the node keeps the window.
	r.close()
	r2 := newDVRRig(t, dir, 1<<30, time.Hour)
	pl2, _ := r2.dvrPlaylist("0/index.dvr.m3u8", n-1)
	if len(pl2.Segments) != n {
		t.Fatalf("after the restart: %d segments", len(pl2.Segments))
	}
	if got := body(t, r2.o, "0/index17.ts"); got != segBody(17) {
		t.Fatalf("after the restart segment 17: %.40q", got)
	}
}

func TestDVREvictionByWindowAndBytes(t *testing.T) {
	r := newDVRRig(t, t.TempDir(), 1<<30, 2*time.Minute)
	for range 200 {
		r.push()
	}
	pl, text := r.dvrPlaylist("0/index.dvr.m3u8", 199)
	if d := time.Duration(len(pl.Segments)) * 2 * time.Second; d < 2*time.Minute || d > 2*time.Minute+4*time.Second {
		t.Fatalf("a 2-minute window lists %v", d)
	}
	if strings.Contains(text, "PLAYLIST-TYPE") {
		t.Fatalf("a sliding window is not an EVENT playlist:\n%.200s", text)
	}
	// Eviction by bytes: a store of 60 segments' bytes keeps the newest.
	rb := newDVRRig(t, t.TempDir(), 60*int64(len(segBody(0))), time.Hour)
	for range 100 {
		rb.push()
	}
	plb, _ := rb.dvrPlaylist("0/index.dvr.m3u8", 99)
	if len(plb.Segments) > 60 || plb.MediaSequence < 40 {
		t.Fatalf("bytes bound: seq %d, %d segments", plb.MediaSequence, len(plb.Segments))
	}
}

func TestDVRClipAndMaster(t *testing.T) {
	r := newDVRRig(t, t.TempDir(), 1<<30, time.Minute)
	if err := put(r.o, "master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n0/index.m3u8\n"); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		r.push()
	}
	r.dvrPlaylist("0/index.dvr.m3u8", 39)
	// A clip of segments 25..29, then the window moves past it: kept.
	from, to := r.t0.Add(50*time.Second), r.t0.Add(59*time.Second)
	if err := r.o.AddClip("ev", "knockout", from, to); err != nil {
		t.Fatal(err)
	}
	for range 60 {
		r.push()
	}
	pl, text := r.dvrPlaylist("0/index.clip-knockout.m3u8", 0)
	if len(pl.Segments) != 5 || pl.MediaSequence != 25 || !strings.Contains(text, "#EXT-X-PLAYLIST-TYPE:VOD") ||
		!strings.HasSuffix(text, "#EXT-X-ENDLIST\n") {
		t.Fatalf("clip:\n%s", text)
	}
	for i, s := range pl.Segments {
		if got := body(t, r.o, "0/"+s.URI); got != segBody(25+i) {
			t.Fatalf("clip segment %d: %.40q", i, got)
		}
	}
	obj, err := r.o.Get("ev", "master.clip-knockout.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := obj.Complete(); !strings.Contains(string(b), "0/index.clip-knockout.m3u8") {
		t.Fatalf("clip master:\n%s", b)
	}
	if cs := r.o.Clips("ev"); len(cs) != 1 || cs[0].Name != "knockout" {
		t.Fatalf("clips = %+v", cs)
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{
		{"Bad Name", from, to}, {"event", from, to}, {"backwards", to, from}, {"nothing-kept", r.t0.Add(-time.Hour), r.t0.Add(-time.Minute)},
	} {
		if err := r.o.AddClip("ev", tc.name, tc.from, tc.to); !errors.Is(err, ErrBadClip) {
			t.Errorf("clip %s: %v", tc.name, err)
		}
	}
	// An encoder may not write the names the DVR uses.
	if err := put(r.o, "0/index.dvr.m3u8", "#EXTM3U\n"); !errors.Is(err, ErrBadPath) {
		t.Errorf("upload of a DVR name: %v", err)
	}
	if err := r.o.DeleteClip("ev", "knockout"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.o.Get("ev", "0/index.clip-knockout.m3u8"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted clip: %v", err)
	}
}

// TestDVRVODOnEnd: an event that ends with vod_on_end keeps all of itself
// and its DVR playlist becomes VOD.
func TestDVRVODOnEnd(t *testing.T) {
	r := newDVRRig(t, t.TempDir(), 1<<30, time.Minute)
	for range 50 {
		r.push()
	}
	r.dvrPlaylist("0/index.dvr.m3u8", 49)
	r.o.SetEvents([]EventConfig{{ID: "ev", StreamKeys: []string{key}, DVRWindow: time.Minute, Ended: true, VODOnEnd: true}})
	obj, err := r.o.Get("ev", "0/index.dvr.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := obj.Complete()
	pl, err := segment.ParseMedia(b)
	if err != nil || pl.PlaylistType != "VOD" || !pl.EndList {
		t.Fatalf("ended event's DVR playlist: %v\n%.300s", err, b)
	}
	if pins := r.st.Pins("ev"); len(pins) != 1 || pins[0].Name != "event" {
		t.Fatalf("pins = %+v", pins)
	}
	if cs := r.o.Clips("ev"); len(cs) != 0 {
		t.Errorf("the whole-event pin is listed as a clip: %+v", cs)
	}
}
