package dvr

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/syncbuf"
)

// t0 is the PDT of MSN 0 in the tests; segments are 2 s apart.
var t0 = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)

const segDur = 2 * time.Second

// logger writes a Store's log lines into lb, for assertions.
func logger(lb *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func testConfig(dir string) Config {
	c := DefaultConfig()
	c.Dir = dir
	c.MaxBytes = 1 << 30
	c.NoSync = true
	return c
}

func openStore(t testing.TB, cfg Config) (*Store, *syncbuf.Buffer) {
	t.Helper()
	lb := &syncbuf.Buffer{}
	s, err := Open(cfg, logger(lb))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, lb
}

// seg is the entry of MSN msn of rendition rend ("r0" → "r0/index.m3u8").
func seg(event, rend string, msn uint64, size int) Entry {
	return Entry{
		Event: event, Rendition: rend + "/index.m3u8", MSN: msn,
		Path:     fmt.Sprintf("%s/dvr/%d.m4s", rend, msn),
		Duration: segDur, PDT: t0.Add(time.Duration(msn) * segDur),
		Map: rend + "/init.mp4", ContentType: "video/iso.segment", Size: int64(size),
	}
}

// body is a deterministic body for path: its bytes depend on path and size.
func body(path string, size int) []byte {
	b := make([]byte, size)
	h := uint32(2166136261)
	for i := range len(path) {
		h = (h ^ uint32(path[i])) * 16777619
	}
	for i := range b {
		h ^= h << 13
		h ^= h >> 17
		h ^= h << 5
		b[i] = byte(h)
	}
	return b
}

func putInit(t testing.TB, s *Store, event, rend string) {
	t.Helper()
	p := rend + "/init.mp4"
	if err := s.PutInit(event, p, "video/mp4", body(p, 100)); err != nil {
		t.Fatalf("PutInit %s: %v", p, err)
	}
}

// putSegs stores MSNs from..to (inclusive) of rend with size-byte bodies.
func putSegs(t testing.TB, s *Store, event, rend string, from, to uint64, size int) {
	t.Helper()
	for m := from; m <= to; m++ {
		e := seg(event, rend, m, size)
		if err := s.Put(e, body(e.Path, size)); err != nil {
			t.Fatalf("Put %s: %v", e.Path, err)
		}
	}
}

func msns(es []Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.MSN
	}
	return out
}

func span(from, to uint64) []uint64 {
	var out []uint64
	for m := from; m <= to; m++ {
		out = append(out, m)
	}
	return out
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkBodies reads every listed entry back and compares it byte for byte.
func checkBodies(t testing.TB, s *Store, es []Entry) {
	t.Helper()
	for _, e := range es {
		got, ge, err := s.Get(e.Event, e.Path)
		if err != nil {
			t.Fatalf("Get %s: %v", e.Path, err)
		}
		if !bytes.Equal(got, body(e.Path, int(e.Size))) {
			t.Fatalf("Get %s: body differs", e.Path)
		}
		if !entriesEqual(ge, e) {
			t.Fatalf("Get %s: entry %+v, want %+v", e.Path, ge, e)
		}
	}
}

func entriesEqual(a, b Entry) bool {
	return a.Event == b.Event && a.Rendition == b.Rendition && a.MSN == b.MSN && a.Path == b.Path &&
		a.Duration == b.Duration && a.PDT.Equal(b.PDT) && a.Discontinuity == b.Discontinuity &&
		a.Map == b.Map && a.ContentType == b.ContentType && a.Size == b.Size
}

func wantLog(t testing.TB, lb *syncbuf.Buffer, sub string) {
	t.Helper()
	if !strings.Contains(lb.String(), sub) {
		t.Fatalf("log lacks %q:\n%s", sub, lb.String())
	}
}
