package dvr

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestPutGet(t *testing.T) {
	s, _ := openStore(t, testConfig(t.TempDir()))
	putInit(t, s, "fight", "r0")
	putSegs(t, s, "fight", "r0", 1, 5, 1000)
	e := seg("fight", "r0", 6, 0)
	e.Discontinuity = true
	e.Map = ""
	e.ContentType = "video/mp2t"
	if err := s.Put(e, body(e.Path, 777)); err != nil {
		t.Fatal(err)
	}
	es := s.Entries("fight", "r0/index.m3u8", time.Time{}, time.Time{})
	if !equalU64(msns(es), span(1, 6)) {
		t.Fatalf("Entries MSNs %v", msns(es))
	}
	checkBodies(t, s, es)
	if !es[5].Discontinuity || es[5].Map != "" || es[5].Size != 777 || es[0].Map != "r0/init.mp4" {
		t.Fatalf("entry fields: %+v / %+v", es[5], es[0])
	}

	f, ie, err := s.Open("fight", "r0/init.mp4")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, body("r0/init.mp4", 100)) || ie.ContentType != "video/mp4" || ie.Rendition != "" || ie.Size != 100 {
		t.Fatalf("init: %d bytes, entry %+v", len(got), ie)
	}

	if _, _, err := s.Get("fight", "r0/dvr/99.m4s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown path: %v", err)
	}
	if _, _, err := s.Get("nope", "r0/dvr/1.m4s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
	}
	if r := s.Renditions("fight"); !reflect.DeepEqual(r, []string{"r0/index.m3u8"}) {
		t.Fatalf("Renditions %v", r)
	}
	total, per := s.Usage()
	if want := int64(100 + 5*1000 + 777); total != want || per["fight"] != want {
		t.Fatalf("Usage %d %v, want %d", total, per, want)
	}
	if ev := s.Events(); !reflect.DeepEqual(ev, []string{"fight"}) {
		t.Fatalf("Events %v", ev)
	}
}

func TestEntriesRange(t *testing.T) {
	s, _ := openStore(t, testConfig(t.TempDir()))
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 0, 99, 10)
	tests := []struct {
		name     string
		from, to time.Time
		want     []uint64
	}{
		{"all", time.Time{}, time.Time{}, span(0, 99)},
		{"from on a boundary", t0.Add(20 * segDur), time.Time{}, span(20, 99)},
		{"from inside a segment", t0.Add(20*segDur + time.Second), time.Time{}, span(20, 99)},
		{"to on a boundary", time.Time{}, t0.Add(10 * segDur), span(0, 10)},
		{"window", t0.Add(50*segDur + time.Second), t0.Add(52*segDur + time.Second), span(50, 52)},
		{"before all", t0.Add(-time.Hour), t0.Add(-time.Minute), nil},
		{"after all", t0.Add(time.Hour), time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := msns(s.Entries("ev", "r0/index.m3u8", tt.from, tt.to))
			if !equalU64(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _ := openStore(t, cfg)
	for _, r := range []string{"r0", "r1"} {
		putInit(t, s, "ev", r)
		putSegs(t, s, "ev", r, 10, 60, 500)
	}
	putInit(t, s, "other", "r0")
	putSegs(t, s, "other", "r0", 1, 3, 50)
	if err := s.Pin("ev", "goal", t0.Add(20*segDur), t0.Add(25*segDur)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy("ev", time.Hour, 1<<28); err != nil {
		t.Fatal(err)
	}
	before := snapshotOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(seg("ev", "r0", 61, 1), []byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}

	s2, lb := openStore(t, cfg)
	if after := snapshotOf(s2); !reflect.DeepEqual(before, after) {
		t.Fatalf("after restart:\n%+v\nbefore:\n%+v", after, before)
	}
	checkBodies(t, s2, s2.Entries("ev", "r1/index.m3u8", time.Time{}, time.Time{}))
	if rec := s2.Recovery(); rec != (Recovery{Events: 2, Entries: 2*51 + 2 + 3 + 1}) {
		t.Fatalf("Recovery %+v\nlog:\n%s", rec, lb)
	}
	// It goes on where it stopped.
	putSegs(t, s2, "ev", "r0", 61, 61, 500)
	if err := s2.Put(seg("ev", "r0", 5, 1), []byte{1}); !errors.Is(err, ErrSequence) {
		t.Fatalf("old MSN after restart: %v", err)
	}
}

// storeState is everything observable about a Store, for comparisons.
type storeState struct {
	Entries map[string][]Entry
	Pins    map[string][]Pin
	Total   int64
	Per     map[string]int64
}

func snapshotOf(s *Store) storeState {
	st := storeState{Entries: map[string][]Entry{}, Pins: map[string][]Pin{}}
	for _, ev := range s.Events() {
		for _, r := range s.Renditions(ev) {
			st.Entries[ev+" "+r] = s.Entries(ev, r, time.Time{}, time.Time{})
		}
		st.Pins[ev] = s.Pins(ev)
	}
	st.Total, st.Per = s.Usage()
	return st
}

func TestSyncedRestart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.NoSync = false
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 20, 2000)
	s.Close()
	s2, _ := openStore(t, cfg)
	es := s2.Entries("ev", "r0/index.m3u8", time.Time{}, time.Time{})
	if !equalU64(msns(es), span(1, 20)) {
		t.Fatalf("MSNs %v", msns(es))
	}
	checkBodies(t, s2, es)
}

func TestDropEvent(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _ := openStore(t, cfg)
	for _, ev := range []string{"a", "b"} {
		putInit(t, s, ev, "r0")
		putSegs(t, s, ev, "r0", 1, 5, 100)
	}
	if err := s.Pin("a", "clip", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.DropEvent("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DropEvent("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second drop: %v", err)
	}
	if _, _, err := s.Get("a", "r0/dvr/1.m4s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after drop: %v", err)
	}
	if total, per := s.Usage(); total != 600 || per["a"] != 0 {
		t.Fatalf("Usage after drop %d %v", total, per)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, eventDir("a"))); !os.IsNotExist(err) {
		t.Fatalf("event directory still there: %v", err)
	}
	// The id starts afresh: low MSNs are fine again, old pins are gone.
	putInit(t, s, "a", "r0")
	putSegs(t, s, "a", "r0", 1, 2, 100)
	if p := s.Pins("a"); len(p) != 0 {
		t.Fatalf("pins survived the drop: %v", p)
	}
	s.Close()
	s2, _ := openStore(t, cfg)
	if got := msns(s2.Entries("a", "r0/index.m3u8", time.Time{}, time.Time{})); !equalU64(got, span(1, 2)) {
		t.Fatalf("after restart %v", got)
	}
}

func TestInitLeavesWithLastSegment(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 2
	s, _ := openStore(t, cfg)
	if err := s.PutInit("ev", "r0/init-a.mp4", "video/mp4", []byte("aaaa")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInit("ev", "r0/init-b.mp4", "video/mp4", []byte("bbbb")); err != nil {
		t.Fatal(err)
	}
	for m := uint64(1); m <= 6; m++ {
		e := seg("ev", "r0", m, 10)
		e.Map = "r0/init-a.mp4"
		if m > 3 {
			e.Map = "r0/init-b.mp4"
		}
		if err := s.Put(e, body(e.Path, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPolicy("ev", 3*segDur, 0); err != nil {
		t.Fatal(err)
	}
	// Window 6 s before MSN 6 keeps 3..6; MSN 3 still names init-a.
	if _, _, err := s.Get("ev", "r0/init-a.mp4"); err != nil {
		t.Fatalf("init-a with a segment left: %v", err)
	}
	if err := s.SetPolicy("ev", segDur, 0); err != nil {
		t.Fatal(err)
	}
	if got := msns(s.Entries("ev", "r0/index.m3u8", time.Time{}, time.Time{})); !equalU64(got, span(5, 6)) {
		t.Fatalf("MSNs %v", got)
	}
	if _, _, err := s.Get("ev", "r0/init-a.mp4"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("init-a after its last segment: %v", err)
	}
	if _, _, err := s.Get("ev", "r0/init-b.mp4"); err != nil {
		t.Fatalf("init-b: %v", err)
	}
	if total, _ := s.Usage(); total != 4+2*10 {
		t.Fatalf("Usage %d", total)
	}
}

func TestEventDirNames(t *testing.T) {
	for _, id := range []string{"fight", "a.b_c-d", "..", ".", "a/b", "ü", "x%41", "E-1"} {
		d := eventDir(id)
		if d == "." || d == ".." || filepath.Base(d) != d {
			t.Fatalf("%q → unsafe %q", id, d)
		}
		back, ok := eventFromDir(d)
		if !ok || back != id {
			t.Fatalf("%q → %q → %q %v", id, d, back, ok)
		}
	}
	for _, bad := range []string{"e-a%2", "e-a%zz", "e-%61", "x-a", "e-"} {
		if _, ok := eventFromDir(bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{EventBytes: -1, LiveKeep: -1}.Validate()
	for _, want := range []string{"dir is required", "max_bytes", "event_bytes", "live_keep"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Fatalf("Validate: %v lacks %q", err, want)
		}
	}
	if _, err := Open(Config{}, nil); err == nil {
		t.Fatal("Open accepted an empty config")
	}
}

// TestEntriesUnorderedPDT: when PDTs go back (an encoder's clock jumped at
// a discontinuity), Entries filters by time without assuming order.
func TestEntriesUnorderedPDT(t *testing.T) {
	s, _ := openStore(t, testConfig(t.TempDir()))
	putInit(t, s, "ev", "r0")
	for m := uint64(1); m <= 6; m++ {
		e := seg("ev", "r0", m, 10)
		if m >= 4 { // MSN 4..6 restart at t0
			e.PDT = t0.Add(time.Duration(m-4) * segDur)
			e.Discontinuity = m == 4
		}
		if err := s.Put(e, body(e.Path, 10)); err != nil {
			t.Fatal(err)
		}
	}
	// MSN 1..3 cover [2 s, 8 s), MSN 4..6 cover [0 s, 6 s).
	got := msns(s.Entries("ev", r0, t0.Add(time.Second), t0.Add(3*time.Second)))
	if !equalU64(got, []uint64{1, 4, 5}) {
		t.Fatalf("MSNs %v, want [1 4 5]", got)
	}
	got = msns(s.Entries("ev", r0, t0.Add(4*time.Second), t0.Add(5*time.Second)))
	if !equalU64(got, []uint64{2, 6}) {
		t.Fatalf("MSNs %v, want [2 6]", got)
	}
}
