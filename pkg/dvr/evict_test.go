package dvr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const r0, r1 = "r0/index.m3u8", "r1/index.m3u8"

func all(s *Store, ev, rend string) []uint64 {
	return msns(s.Entries(ev, rend, time.Time{}, time.Time{}))
}

func TestEvictByWindow(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 3
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putInit(t, s, "ev", "r1")
	putSegs(t, s, "ev", "r0", 0, 99, 100)
	putSegs(t, s, "ev", "r1", 0, 99, 100)
	// 60 s behind MSN 99 (198 s) is 138 s: MSN 69.
	if err := s.SetPolicy("ev", time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{r0, r1} {
		if got := all(s, "ev", r); !equalU64(got, span(69, 99)) {
			t.Fatalf("%s after SetPolicy: %v", r, got)
		}
	}
	// Each new segment pushes one out.
	putSegs(t, s, "ev", "r0", 100, 109, 100)
	if got := all(s, "ev", r0); !equalU64(got, span(79, 109)) {
		t.Fatalf("r0 after puts: %v", got)
	}
	// r1 stalled: the window follows the event's newest PDT, so it loses
	// its old segments too.
	if got := all(s, "ev", r1); !equalU64(got, span(79, 99)) {
		t.Fatalf("r1 (stalled) after puts: %v", got)
	}
	// Far behind, it keeps its newest LiveKeep.
	putSegs(t, s, "ev", "r0", 110, 200, 100)
	if got := all(s, "ev", r1); !equalU64(got, span(97, 99)) {
		t.Fatalf("r1 (stalled) after more puts: %v", got)
	}
	if _, per := s.Usage(); per["ev"] != 200+31*100+3*100 {
		t.Fatalf("usage %d", per["ev"])
	}
}

func TestEvictByEventBytes(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 2
	cfg.EventBytes = 100 + 10*1000
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 25, 1000)
	if got := all(s, "ev", r0); !equalU64(got, span(16, 25)) {
		t.Fatalf("MSNs %v", got)
	}
	// SetPolicy lowers this event's cap and evicts at once.
	if err := s.SetPolicy("ev", 0, 100+4*1000); err != nil {
		t.Fatal(err)
	}
	if got := all(s, "ev", r0); !equalU64(got, span(22, 25)) {
		t.Fatalf("MSNs after SetPolicy %v", got)
	}
	// Other events keep the default cap.
	putInit(t, s, "other", "r0")
	putSegs(t, s, "other", "r0", 1, 8, 1000)
	if got := all(s, "other", r0); !equalU64(got, span(1, 8)) {
		t.Fatalf("other %v", got)
	}
}

func TestEvictByTotalBytesOldestEventFirst(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 2
	cfg.MaxBytes = 2*100 + 20*1000
	s, _ := openStore(t, cfg)
	// "early" started an hour before "late".
	putInit(t, s, "early", "r0")
	putInit(t, s, "late", "r0")
	putSegs(t, s, "early", "r0", 1, 10, 1000)
	for m := uint64(1); m <= 15; m++ {
		e := seg("late", "r0", m, 1000)
		e.PDT = e.PDT.Add(time.Hour)
		if err := s.Put(e, body(e.Path, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	// 25 segments in room for 20: five go, all from the older event.
	if got := all(s, "early", r0); !equalU64(got, span(6, 10)) {
		t.Fatalf("early %v", got)
	}
	if got := all(s, "late", r0); !equalU64(got, span(1, 15)) {
		t.Fatalf("late %v", got)
	}
	// Once only its live window is left, the newer event pays.
	for m := uint64(16); m <= 20; m++ {
		e := seg("late", "r0", m, 1000)
		e.PDT = e.PDT.Add(time.Hour)
		if err := s.Put(e, body(e.Path, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if got := all(s, "early", r0); !equalU64(got, span(9, 10)) {
		t.Fatalf("early %v", got)
	}
	if got := all(s, "late", r0); !equalU64(got, span(3, 20)) {
		t.Fatalf("late %v", got)
	}
	if total, _ := s.Usage(); total > cfg.MaxBytes {
		t.Fatalf("usage %d over %d", total, cfg.MaxBytes)
	}
}

func TestLiveKeepNeverEvicted(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 4
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 10, 10)
	if err := s.SetPolicy("ev", time.Nanosecond, 100+4*10); err != nil {
		t.Fatal(err)
	}
	if got := all(s, "ev", r0); !equalU64(got, span(7, 10)) {
		t.Fatalf("MSNs %v", got)
	}
	// A Put that needs the live window's bytes fails.
	e := seg("ev", "r0", 11, 10)
	if err := s.Put(e, body(e.Path, 10)); !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "live-window and pinned") {
		t.Fatalf("Put over a cap held by live segments: %v", err)
	}
	if got := all(s, "ev", r0); !equalU64(got, span(7, 10)) {
		t.Fatalf("MSNs after ErrFull %v", got)
	}
}

func TestPinsSurviveEvictionAndRestart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 2
	cfg.EventBytes = 100 + 10*1000
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 10, 1000)
	// The clip covers the middle of MSN 3 to the start of MSN 5.
	if err := s.Pin("ev", "goal", t0.Add(3*segDur+time.Second), t0.Add(5*segDur)); err != nil {
		t.Fatal(err)
	}
	putSegs(t, s, "ev", "r0", 11, 30, 1000)
	want := append(span(3, 5), span(24, 30)...)
	if got := all(s, "ev", r0); !equalU64(got, want) {
		t.Fatalf("MSNs %v, want %v", got, want)
	}
	s.Close()
	s2, _ := openStore(t, cfg)
	if got := all(s2, "ev", r0); !equalU64(got, want) {
		t.Fatalf("after restart %v", got)
	}
	ps := s2.Pins("ev")
	if len(ps) != 1 || ps[0].Name != "goal" || !ps[0].From.Equal(t0.Add(3*segDur+time.Second)) {
		t.Fatalf("Pins %+v", ps)
	}
	checkBodies(t, s2, s2.Entries("ev", r0, time.Time{}, time.Time{}))
	putSegs(t, s2, "ev", "r0", 31, 40, 1000)
	if got := all(s2, "ev", r0); !equalU64(got, append(span(3, 5), span(34, 40)...)) {
		t.Fatalf("after more puts %v", got)
	}
	// Unpinned, the clip goes first.
	if err := s2.Unpin("ev", "goal"); err != nil {
		t.Fatal(err)
	}
	putSegs(t, s2, "ev", "r0", 41, 43, 1000)
	if got := all(s2, "ev", r0); !equalU64(got, span(34, 43)) {
		t.Fatalf("after Unpin %v", got)
	}
	if err := s2.Unpin("ev", "goal"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Unpin: %v", err)
	}
}

func TestErrFullChangesNothing(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 3
	cfg.MaxBytes = 100 + 6*1000
	cfg.EventBytes = 1 << 20 // the store's limit binds, not the event's
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 6, 1000)
	if err := s.Pin("ev", "all-old", t0, t0.Add(4*segDur-time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	before := snapshotOf(s)
	e := seg("ev", "r0", 7, 1000)
	err := s.Put(e, body(e.Path, 1000))
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "max_bytes") || !strings.Contains(err.Error(), "live-window and pinned") {
		t.Fatalf("Put with only pinned and live data: %v", err)
	}
	if after := snapshotOf(s); !equalState(before, after) {
		t.Fatalf("ErrFull changed the store:\n%+v\n%+v", after, before)
	}
	checkBodies(t, s, s.Entries("ev", r0, time.Time{}, time.Time{}))
	// Too big for any budget.
	e = seg("ev", "r0", 7, 0)
	if err := s.Put(e, make([]byte, cfg.MaxBytes+1)); !errors.Is(err, ErrFull) {
		t.Fatalf("huge Put: %v", err)
	}
	// The failed MSN is free for a retry once there is room.
	if err := s.Unpin("ev", "all-old"); err != nil {
		t.Fatal(err)
	}
	putSegs(t, s, "ev", "r0", 7, 7, 1000)
	if got := all(s, "ev", r0); !equalU64(got, span(2, 7)) {
		t.Fatalf("MSNs %v", got)
	}
}

func TestManySegmentsPerRendition(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _ := openStore(t, cfg)
	s.compactMin = 64
	rends := []string{"r0", "r1", "r2"}
	for _, r := range rends {
		putInit(t, s, "ev", r)
	}
	for m := uint64(0); m < 600; m++ {
		for _, r := range rends {
			putSegs(t, s, "ev", r, m, m, 200+int(m%7))
		}
	}
	if err := s.SetPolicy("ev", 500*segDur, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, _ := openStore(t, cfg)
	for _, r := range rends {
		es := s2.Entries("ev", r+"/index.m3u8", time.Time{}, time.Time{})
		if !equalU64(msns(es), span(99, 599)) {
			t.Fatalf("%s: %d entries, %v...", r, len(es), msns(es)[:3])
		}
		checkBodies(t, s2, es)
		// Seek 10 minutes (300 segments) back from the newest.
		back := s2.Entries("ev", r+"/index.m3u8", t0.Add(299*segDur), t0.Add(301*segDur))
		if !equalU64(msns(back), span(299, 301)) {
			t.Fatalf("%s seek: %v", r, msns(back))
		}
	}
}

func TestBadInput(t *testing.T) {
	s, _ := openStore(t, testConfig(t.TempDir()))
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 5, 100)
	before := snapshotOf(s)
	mod := func(f func(*Entry)) Entry {
		e := seg("ev", "r0", 6, 100)
		f(&e)
		return e
	}
	tests := []struct {
		name string
		e    Entry
		body []byte
		want error
		msg  string
	}{
		{"dot-dot", mod(func(e *Entry) { e.Path = "r0/../../etc/passwd" }), nil, ErrInvalid, `".."`},
		{"absolute", mod(func(e *Entry) { e.Path = "/etc/passwd" }), nil, ErrInvalid, "absolute"},
		{"backslash", mod(func(e *Entry) { e.Path = `r0\..\x` }), nil, ErrInvalid, "backslash"},
		{"empty element", mod(func(e *Entry) { e.Path = "r0//x.ts" }), nil, ErrInvalid, "empty elements"},
		{"control char", mod(func(e *Entry) { e.Path = "r0/x\n.ts" }), nil, ErrInvalid, "printable"},
		{"empty path", mod(func(e *Entry) { e.Path = "" }), nil, ErrInvalid, "empty"},
		{"traversing rendition", mod(func(e *Entry) { e.Rendition = "../x.m3u8" }), nil, ErrInvalid, "rendition"},
		{"traversing map", mod(func(e *Entry) { e.Map = "../init.mp4" }), nil, ErrInvalid, "map"},
		{"unknown map", mod(func(e *Entry) { e.Map = "r9/init.mp4" }), nil, ErrInvalid, "PutInit it first"},
		{"map is a segment", mod(func(e *Entry) { e.Map = "r0/dvr/1.m4s" }), nil, ErrInvalid, "not a stored init"},
		{"empty event", mod(func(e *Entry) { e.Event = "" }), nil, ErrInvalid, "event"},
		{"long event", mod(func(e *Entry) { e.Event = strings.Repeat("x", 65) }), nil, ErrInvalid, "longer than"},
		{"no PDT", mod(func(e *Entry) { e.PDT = time.Time{} }), nil, ErrInvalid, "program date time"},
		{"size mismatch", mod(func(e *Entry) { e.Size = 5 }), []byte("abc"), ErrInvalid, "size 5"},
		{"negative duration", mod(func(e *Entry) { e.Duration = -1 }), nil, ErrInvalid, "negative"},
		{"same MSN", mod(func(e *Entry) { e.MSN = 5 }), nil, ErrSequence, "MSN 5 after 5"},
		{"older MSN", mod(func(e *Entry) { e.MSN = 2 }), nil, ErrSequence, "MSN 2 after 5"},
		{"other bytes", seg("ev", "r0", 3, 100), []byte(strings.Repeat("z", 100)), ErrConflict, "other bytes"},
		{"other size", seg("ev", "r0", 3, 0), []byte("z"), ErrConflict, "100 bytes, now 1"},
		{"other MSN", mod(func(e *Entry) { e.Path = "r0/dvr/3.m4s" }), body("r0/dvr/3.m4s", 100), ErrConflict, "MSN 3"},
		{"segment over init", mod(func(e *Entry) { e.Path = "r0/init.mp4"; e.Map = "" }), body("r0/init.mp4", 100), ErrConflict, "init segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.body
			if b == nil {
				b = body(tt.e.Path, 100)
			}
			if tt.e.Size == 0 {
				tt.e.Size = int64(len(b))
			}
			err := s.Put(tt.e, b)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "dvr: ") {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
	// Identical repeats are no-ops.
	e := seg("ev", "r0", 3, 100)
	if err := s.Put(e, body(e.Path, 100)); err != nil {
		t.Fatalf("identical Put: %v", err)
	}
	if err := s.PutInit("ev", "r0/init.mp4", "video/mp4", body("r0/init.mp4", 100)); err != nil {
		t.Fatalf("identical PutInit: %v", err)
	}
	if err := s.PutInit("ev", "r0/init.mp4", "video/mp4", []byte("other")); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting PutInit: %v", err)
	}
	if err := s.PutInit("ev", "/init.mp4", "video/mp4", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("absolute PutInit: %v", err)
	}
	if after := snapshotOf(s); !equalState(before, after) {
		t.Fatalf("bad input changed the store")
	}
	checkBodies(t, s, s.Entries("ev", r0, time.Time{}, time.Time{}))
}

func TestPinErrors(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxPins = 3
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	if err := s.Pin("nope", "x", t0, t0.Add(time.Second)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pin on unknown event: %v", err)
	}
	if err := s.Pin("ev", "x", t0.Add(time.Second), t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reversed pin: %v", err)
	}
	if err := s.Pin("ev", "", t0, t0.Add(time.Second)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unnamed pin: %v", err)
	}
	for i := range 3 {
		if err := s.Pin("ev", fmt.Sprint("clip", i), t0, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Pin("ev", "clip3", t0, t0.Add(time.Second))
	if !errors.Is(err, ErrTooManyPins) || !strings.Contains(err.Error(), "unpin one first") {
		t.Fatalf("fourth pin: %v", err)
	}
	// Replacing an existing pin is not a new one.
	if err := s.Pin("ev", "clip0", t0, t0.Add(time.Minute)); err != nil {
		t.Fatalf("replacing a pin: %v", err)
	}
	if ps := s.Pins("ev"); len(ps) != 3 || !ps[0].To.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Pins %+v", ps)
	}
}
