package dvr

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recordOffsets returns where each framed record of a log starts.
func recordOffsets(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for off := len(logMagic); off+frameLen <= len(data); {
		offs = append(offs, off)
		off += frameLen + int(binary.LittleEndian.Uint32(data[off:]))
	}
	return offs
}

func TestCrashRecovery(t *testing.T) {
	const ev = "fight"
	// The log holds: init (record 0), MSN 1..10 (records 1..10).
	logPath := func(dir string) string { return filepath.Join(dir, eventDir(ev), logName) }
	bodyOf := func(t *testing.T, s *Store, path string) string {
		s.mu.RLock()
		defer s.mu.RUnlock()
		e := s.events[ev]
		return e.bodyPath(e.files[path].seq)
	}
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string, s *Store) // s is closed; use it only for paths
		want     []uint64                                 // MSNs left
		rec      Recovery                                 // besides Events and Entries
		log      string
		initGone bool
	}{
		{
			name: "torn last record",
			damage: func(t *testing.T, dir string, _ *Store) {
				fi, _ := os.Stat(logPath(dir))
				if err := os.Truncate(logPath(dir), fi.Size()-3); err != nil {
					t.Fatal(err)
				}
			},
			want: span(1, 9), rec: Recovery{OrphanFiles: 1}, log: "torn record",
		},
		{
			name: "torn frame header",
			damage: func(t *testing.T, dir string, _ *Store) {
				data, _ := os.ReadFile(logPath(dir))
				offs := recordOffsets(t, data)
				os.Truncate(logPath(dir), int64(offs[10]+5))
			},
			want: span(1, 9), rec: Recovery{OrphanFiles: 1}, log: "torn record frame",
		},
		{
			name: "corrupt checksum in the middle",
			damage: func(t *testing.T, dir string, _ *Store) {
				data, _ := os.ReadFile(logPath(dir))
				offs := recordOffsets(t, data)
				data[offs[6]+frameLen+3] ^= 0x40 // record 6: MSN 6
				os.WriteFile(logPath(dir), data, 0o644)
			},
			want: span(1, 5), rec: Recovery{OrphanFiles: 5}, log: "checksum mismatch",
		},
		{
			name: "absurd record length",
			damage: func(t *testing.T, dir string, _ *Store) {
				data, _ := os.ReadFile(logPath(dir))
				offs := recordOffsets(t, data)
				binary.LittleEndian.PutUint32(data[offs[9]:], 1<<30)
				os.WriteFile(logPath(dir), data, 0o644)
			},
			want: span(1, 8), rec: Recovery{OrphanFiles: 2}, log: "bad record length",
		},
		{
			name: "garbage after the last record",
			damage: func(t *testing.T, dir string, _ *Store) {
				f, _ := os.OpenFile(logPath(dir), os.O_WRONLY|os.O_APPEND, 0)
				f.Write([]byte{7, 0, 0, 0, 1, 2, 3, 4, 5})
				f.Close()
			},
			want: span(1, 10), log: "torn",
		},
		{
			name: "temp files left",
			damage: func(t *testing.T, dir string, _ *Store) {
				os.WriteFile(filepath.Join(dir, eventDir(ev), segDirName, "tmp-12345"), []byte("half"), 0o644)
				os.WriteFile(filepath.Join(dir, eventDir(ev), logTmpName), []byte("RSDV"), 0o644)
			},
			want: span(1, 10), rec: Recovery{TempFiles: 1},
		},
		{
			name: "body without record",
			damage: func(t *testing.T, dir string, _ *Store) {
				os.WriteFile(filepath.Join(dir, eventDir(ev), segDirName, "00000000000000ff"), []byte("x"), 0o644)
			},
			want: span(1, 10), rec: Recovery{OrphanFiles: 1}, log: "without a record",
		},
		{
			name: "body deleted",
			damage: func(t *testing.T, _ string, s *Store) {
				os.Remove(bodyOf(t, s, "r0/dvr/5.m4s"))
			},
			want: append(span(1, 4), span(6, 10)...), rec: Recovery{MissingFiles: 1}, log: "body file missing",
		},
		{
			name: "body of the wrong size",
			damage: func(t *testing.T, _ string, s *Store) {
				os.Truncate(bodyOf(t, s, "r0/dvr/3.m4s"), 10)
			},
			want: append(span(1, 2), span(4, 10)...), rec: Recovery{BadSizeFiles: 1}, log: "the record 1000",
		},
		{
			name: "init segment deleted",
			damage: func(t *testing.T, _ string, s *Store) {
				os.Remove(bodyOf(t, s, "r0/init.mp4"))
			},
			want: nil, rec: Recovery{MissingFiles: 1, OrphanSegments: 10}, log: "its init segment was dropped", initGone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			s, _ := openStore(t, cfg)
			putInit(t, s, ev, "r0")
			putSegs(t, s, ev, "r0", 1, 10, 1000)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, cfg.Dir, s)

			s2, lb := openStore(t, cfg)
			es := s2.Entries(ev, "r0/index.m3u8", time.Time{}, time.Time{})
			if !equalU64(msns(es), tt.want) {
				t.Fatalf("MSNs %v, want %v\nlog:\n%s", msns(es), tt.want, lb)
			}
			checkBodies(t, s2, es)
			rec := s2.Recovery()
			want := tt.rec
			want.Events, want.Entries = 1, len(tt.want)+1
			if tt.initGone {
				want.Entries = 0
			}
			got := rec
			got.TornBytes, got.Compacted = 0, 0
			if got != want {
				t.Fatalf("Recovery %+v, want %+v\nlog:\n%s", rec, want, lb)
			}
			if tt.log != "" {
				wantLog(t, lb, tt.log)
			}
			if tt.name != "temp files left" && !strings.Contains(tt.name, "body without") && rec.Compacted != 1 {
				t.Fatalf("log not rewritten after a repair: %+v", rec)
			}
			// The store goes on, and the repair is durable: a third Open
			// finds nothing to repair.
			if !tt.initGone {
				putSegs(t, s2, ev, "r0", 11, 11, 1000)
			}
			s2.Close()
			s3, lb3 := openStore(t, cfg)
			if r := s3.Recovery(); r.TornBytes+int64(r.BadRecords+r.TempFiles+r.OrphanFiles+r.MissingFiles+r.BadSizeFiles+r.OrphanSegments+r.Compacted) != 0 {
				t.Fatalf("third Open repaired again: %+v\n%s", r, lb3)
			}
			if _, err := os.Stat(filepath.Join(cfg.Dir, eventDir(ev), logTmpName)); !os.IsNotExist(err) {
				t.Fatalf("log.tmp left: %v", err)
			}
		})
	}
}

func TestRecoveryOfDirectories(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	putSegs(t, s, "ev", "r0", 1, 3, 10)
	s.Close()
	// A drop interrupted before RemoveAll, an event created up to its
	// directory, and something that is not ours.
	os.MkdirAll(filepath.Join(cfg.Dir, ".drop-1-1", segDirName), 0o755)
	os.MkdirAll(filepath.Join(cfg.Dir, eventDir("half"), segDirName), 0o755)
	os.WriteFile(filepath.Join(cfg.Dir, eventDir("half"), segDirName, "tmp-1"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(cfg.Dir, "lost+found"), 0o755)

	s2, lb := openStore(t, cfg)
	if ev := s2.Events(); len(ev) != 1 || ev[0] != "ev" {
		t.Fatalf("Events %v\n%s", ev, lb)
	}
	for _, gone := range []string{".drop-1-1", eventDir("half")} {
		if _, err := os.Stat(filepath.Join(cfg.Dir, gone)); !os.IsNotExist(err) {
			t.Fatalf("%s still there: %v", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "lost+found")); err != nil {
		t.Fatalf("a foreign directory was touched: %v", err)
	}
	wantLog(t, lb, "without a log")
}

func TestBadHeaderRefused(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, _ := openStore(t, cfg)
	putInit(t, s, "ev", "r0")
	s.Close()
	p := filepath.Join(cfg.Dir, eventDir("ev"), logName)
	data, _ := os.ReadFile(p)
	data[0] = 'X'
	os.WriteFile(p, data, 0o644)
	_, err := Open(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "not a dvr index log") || !strings.Contains(err.Error(), `"ev"`) {
		t.Fatalf("Open: %v", err)
	}
	if !errors.Is(err, errBadHeader) {
		t.Fatalf("Open: %v does not wrap errBadHeader", err)
	}
}

func TestCompaction(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 5
	cfg.EventBytes = 20 * 100
	s, _ := openStore(t, cfg)
	s.compactMin = 16
	putInit(t, s, "ev", "r0")
	if err := s.Pin("ev", "p", t0.Add(3*segDur), t0.Add(4*segDur)); err != nil {
		t.Fatal(err)
	}
	putSegs(t, s, "ev", "r0", 1, 300, 100)
	fi, err := os.Stat(filepath.Join(cfg.Dir, eventDir("ev"), logName))
	if err != nil {
		t.Fatal(err)
	}
	// 19 live records of ~50 bytes; without compaction it would hold 600.
	if fi.Size() > 4<<10 {
		t.Fatalf("log is %d bytes after 300 puts and 280 evictions", fi.Size())
	}
	before := snapshotOf(s)
	s.Close()
	s2, _ := openStore(t, cfg)
	if after := snapshotOf(s2); !equalState(before, after) {
		t.Fatalf("after restart:\n%+v\nbefore:\n%+v", after, before)
	}
	n := len(s2.Entries("ev", "r0/index.m3u8", time.Time{}, time.Time{}))
	des, _ := os.ReadDir(filepath.Join(cfg.Dir, eventDir("ev"), segDirName))
	if len(des) != n+1 {
		t.Fatalf("%d body files for %d entries and an init segment", len(des), n)
	}
}

func equalState(a, b storeState) bool {
	if a.Total != b.Total || len(a.Entries) != len(b.Entries) {
		return false
	}
	for k, es := range a.Entries {
		if len(es) != len(b.Entries[k]) {
			return false
		}
		for i := range es {
			if !entriesEqual(es[i], b.Entries[k][i]) {
				return false
			}
		}
	}
	for k, ps := range a.Pins {
		if len(ps) != len(b.Pins[k]) {
			return false
		}
		for i := range ps {
			if ps[i].Name != b.Pins[k][i].Name || !ps[i].From.Equal(b.Pins[k][i].From) || !ps[i].To.Equal(b.Pins[k][i].To) {
				return false
			}
		}
	}
	return true
}
