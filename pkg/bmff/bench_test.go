package bmff

import (
	"os"
	"slices"
	"testing"
)

// benchSegment is a 2-s segment shaped like ffmpeg's: styp, then four
// 0.5-s fragments of 15 video samples with per-sample duration, size,
// flags and composition offset, each mdat about 50 KB (1.6 Mbit/s).
func benchSegment() []byte {
	seg := box("styp", []byte("msdh"), u32(0), []byte("msdhmsix"))
	for i := range 4 {
		tr := testTrun{durations: make([]uint32, 15), sizes: make([]uint32, 15), flags: make([]uint32, 15)}
		for j := range 15 {
			tr.durations[j], tr.sizes[j], tr.flags[j] = 512, 3400, 0x01010000
		}
		if i == 0 {
			tr.flags[0] = 0x02000000
		}
		seg = slices.Concat(seg, moof(uint32(i+1), testTraf{id: 1, decodeTime: uint64(i) * 7680, truns: []testTrun{tr}}), box("mdat", zeros(15*3400)))
	}
	return seg
}

// BenchmarkScanner feeds one segment per iteration in 16 KiB writes, as an
// HTTP body arrives, and reports allocations per fragment.
func BenchmarkScanner(b *testing.B) {
	in, err := ParseInit(avcInit())
	if err != nil {
		b.Fatal(err)
	}
	tinyInit, err := os.ReadFile("testdata/init-video.mp4")
	if err != nil {
		b.Fatal(err)
	}
	tiny, err := ParseInit(tinyInit)
	if err != nil {
		b.Fatal(err)
	}
	tinySeg, err := os.ReadFile("testdata/seg-video.m4s")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		init *Init
		seg  []byte
	}{
		{"synthetic-2s-200KB", in, benchSegment()},
		{"ffmpeg-testdata-4KB", tiny, tinySeg},
	} {
		b.Run(bc.name, func(b *testing.B) {
			frags := 0
			s := NewScanner(bc.init, func(Fragment) { frags++ })
			feed := func() {
				s.Reset()
				for p := bc.seg; len(p) > 0; {
					n := min(16<<10, len(p))
					if _, err := s.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			feed()
			perSegment := frags
			allocs := testing.AllocsPerRun(10, feed)
			b.SetBytes(int64(len(bc.seg)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				feed()
			}
			b.ReportMetric(allocs/float64(perSegment), "allocs/fragment")
		})
	}
}
