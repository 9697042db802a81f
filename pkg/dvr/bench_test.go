package dvr

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{100 << 10, 1 << 20} {
		for _, sync := range []bool{false, true} {
			name := fmt.Sprintf("%dKB/nosync", size>>10)
			if sync {
				name = fmt.Sprintf("%dKB/fsync", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				cfg := testConfig(b.TempDir())
				cfg.NoSync = !sync
				cfg.MaxBytes = 64 << 20 // steady state: every Put evicts
				s, _ := openStore(b, cfg)
				putInit(b, s, "ev", "r0")
				data := body("x", size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				m := uint64(0)
				for b.Loop() {
					m++
					if err := s.Put(seg("ev", "r0", m, size), data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPutParallel: one writer per rendition, as ingest runs them.
func BenchmarkPutParallel(b *testing.B) {
	cfg := testConfig(b.TempDir())
	cfg.NoSync = false
	cfg.MaxBytes = 64 << 20
	s, _ := openStore(b, cfg)
	const size = 100 << 10
	data := body("x", size)
	b.SetBytes(size)
	b.ReportAllocs()
	var n int
	b.SetParallelism(2) // 2 cores: 4 writers
	b.RunParallel(func(pb *testing.PB) {
		s.mu.Lock()
		n++
		r := fmt.Sprint("r", n)
		s.mu.Unlock()
		putInit(b, s, "ev", r)
		m := uint64(0)
		for pb.Next() {
			m++
			if err := s.Put(seg("ev", r, m, size), data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGet(b *testing.B) {
	s, _ := openStore(b, testConfig(b.TempDir()))
	putInit(b, s, "ev", "r0")
	const size = 100 << 10
	putSegs(b, s, "ev", "r0", 1, 100, size)
	paths := make([]string, 100)
	for i := range paths {
		paths[i] = seg("ev", "r0", uint64(i+1), size).Path
	}
	b.Run("Get100KB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, _, err := s.Get("ev", paths[i%100]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f, _, err := s.Open("ev", paths[i%100])
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			i++
		}
	})
}

func BenchmarkEntries(b *testing.B) {
	s, _ := openStore(b, testConfig(b.TempDir()))
	putInit(b, s, "ev", "r0")
	putSegs(b, s, "ev", "r0", 1, 1000, 1)
	b.Run("all1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n := len(s.Entries("ev", r0, time.Time{}, time.Time{})); n != 1000 {
				b.Fatal(n)
			}
		}
	})
	b.Run("range10of1000", func(b *testing.B) {
		from, to := t0.Add(500*segDur), t0.Add(509*segDur)
		b.ReportAllocs()
		for b.Loop() {
			if n := len(s.Entries("ev", r0, from, to)); n != 10 {
				b.Fatal(n)
			}
		}
	})
}

// BenchmarkIndexMemory reports the heap bytes the index holds per segment
// (paths like "r0/dvr/123456.m4s"), measured on 100,000 entries.
func BenchmarkIndexMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ev := newEvent("ev", "")
		init := record{kind: kindInit, seq: 0, path: "r0/init.mp4", ctype: "video/mp4", size: 100}
		ev.apply(&init)
		for i := range n {
			e := seg("ev", fmt.Sprint("r", i%5), uint64(i/5), 1000)
			r := record{kind: kindPut, seq: uint64(i + 1), path: e.Path, rendition: e.Rendition, msn: e.MSN,
				dur: int64(e.Duration), pdt: e.PDT.UnixNano(), mapPath: "r0/init.mp4", ctype: e.ContentType, size: 1000}
			if err := ev.apply(&r); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/entry")
		runtime.KeepAlive(ev)
	}
}
