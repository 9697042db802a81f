package bmff

import (
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
)

// scanAll feeds data to a new scanner in the given chunk sizes (whole
// when sizes is nil) and returns the fragments and Close's error.
func scanAll(t testing.TB, cfg Config, in *Init, data []byte, next func() int) ([]Fragment, error) {
	t.Helper()
	var frags []Fragment
	s, err := NewScannerConfig(cfg, in, func(f Fragment) { frags = append(frags, f) })
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		n := len(p)
		if next != nil {
			n = min(next(), len(p))
		}
		w, err := s.Write(p[:n])
		if err != nil {
			if w > n {
				t.Fatalf("Write consumed %d of %d bytes", w, n)
			}
			return frags, err
		}
		if w != n {
			t.Fatalf("Write = %d, want %d with no error", w, n)
		}
		p = p[n:]
	}
	if s.Offset() != int64(len(data)) {
		t.Fatalf("Offset = %d, want %d", s.Offset(), len(data))
	}
	return frags, s.Close()
}

// randomChunks returns chunk sizes from 1 byte to 64 KiB, log-uniform so
// that tiny writes (splitting headers) are common.
func randomChunks(seed uint64) func() int {
	r := rand.New(rand.NewPCG(seed, 1))
	return func() int { return 1 + r.IntN(1<<r.IntN(17)) }
}

func oneByte() int { return 1 }

// checkTiling checks that fragments are contiguous from 0 to the end.
func checkTiling(t *testing.T, frags []Fragment, size int) {
	t.Helper()
	var at int64
	for i, f := range frags {
		if f.Offset != at || f.Size <= 0 || f.MoofOffset < f.Offset || f.MoofOffset >= f.Offset+f.Size {
			t.Fatalf("fragment %d: offset %d size %d moof %d; previous ended at %d", i, f.Offset, f.Size, f.MoofOffset, at)
		}
		at = f.Offset + f.Size
	}
	if at != int64(size) {
		t.Fatalf("fragments end at %d, stream is %d bytes", at, size)
	}
}

// scanChunked scans data whole, byte by byte and in random chunks,
// requires the same fragments from all, and returns them.
func scanChunked(t *testing.T, in *Init, data []byte) []Fragment {
	t.Helper()
	whole, err := scanAll(t, DefaultConfig(), in, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]func() int{"one byte": oneByte}
	for seed := range uint64(5) {
		feeds["random "+string(rune('0'+seed))] = randomChunks(seed)
	}
	for name, next := range feeds {
		got, err := scanAll(t, DefaultConfig(), in, data, next)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("%s: fragments differ from a whole write:\n got %+v\nwant %+v", name, got, whole)
		}
	}
	return whole
}

func TestScannerTestdata(t *testing.T) {
	for _, tc := range []struct {
		init, seg   string
		timescale   uint32
		independent []bool
		total       uint64
	}{
		{"init-video.mp4", "seg-video.m4s", 10240, []bool{true, false}, 10240},
		{"init-audio.mp4", "seg-audio.m4s", 8000, []bool{true, true}, 8 * 1024},
	} {
		t.Run(tc.seg, func(t *testing.T) {
			ib, err := os.ReadFile("testdata/" + tc.init)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile("testdata/" + tc.seg)
			if err != nil {
				t.Fatal(err)
			}
			in, err := ParseInit(ib)
			if err != nil {
				t.Fatal(err)
			}
			frags := scanChunked(t, in, data)
			checkTiling(t, frags, len(data))
			var sum uint64
			for i, f := range frags {
				tr := f.Tracks[0]
				if f.Sequence != uint32(i+1) || tr.TrackID != 1 || tr.Timescale != tc.timescale || !tr.HasDecodeTime || tr.DecodeTime != sum {
					t.Fatalf("fragment %d: %+v", i, f)
				}
				if f.Independent() != tc.independent[i] {
					t.Fatalf("fragment %d: Independent = %v", i, f.Independent())
				}
				sum += tr.Duration
			}
			if sum != tc.total {
				t.Fatalf("durations sum to %d, want %d", sum, tc.total)
			}
		})
	}
}

// segment builds styp + one moof/mdat per traf list, mdat of mdatSize.
func segment(mdatSize int, moofs ...[]byte) []byte {
	b := box("styp", []byte("msdh"), u32(0), []byte("msdhmsix"))
	for _, m := range moofs {
		b = slices.Concat(b, m, box("mdat", zeros(mdatSize)))
	}
	return b
}

func TestScannerSampleFlags(t *testing.T) {
	const (
		sync    = 0x02000000 // depends on no other
		nonSync = 0x01010000
		depends = 0x01000000 // depends on others, non-sync bit clear
		flagged = 0x00010000 // non-sync bit only
	)
	for _, tc := range []struct {
		name string
		init bool
		traf testTraf
		want bool
		dur  uint64
	}{
		{"first-sample-flags win", true, testTraf{id: 1, defFlags: ptr(nonSync),
			truns: []testTrun{{firstFlags: ptr(sync), flags: []uint32{nonSync, nonSync}}}}, true, 6000},
		{"first-sample-flags non-sync", true, testTraf{id: 1,
			truns: []testTrun{{firstFlags: ptr(nonSync), count: 2}}}, false, 6000},
		{"per-sample flags", true, testTraf{id: 1, defFlags: ptr(nonSync),
			truns: []testTrun{{durations: []uint32{10, 20}, flags: []uint32{sync, nonSync}}}}, true, 30},
		{"per-sample flags after sizes", true, testTraf{id: 1,
			truns: []testTrun{{durations: []uint32{10, 20}, sizes: []uint32{5, 5}, flags: []uint32{nonSync, sync}}}}, false, 30},
		{"tfhd default", true, testTraf{id: 1, defFlags: ptr(sync), truns: []testTrun{{count: 3}}}, true, 9000},
		{"trex default", true, testTraf{id: 1, truns: []testTrun{{count: 3}}}, false, 9000},
		{"depends_on alone", true, testTraf{id: 1, defFlags: ptr(depends), truns: []testTrun{{count: 1}}}, false, 3000},
		{"non-sync bit alone", true, testTraf{id: 1, defFlags: ptr(flagged), truns: []testTrun{{count: 1}}}, false, 3000},
		{"no flags anywhere: sync", false, testTraf{id: 1, defDur: ptr(40), truns: []testTrun{{count: 3}}}, true, 120},
		{"tfhd duration beats trex", true, testTraf{id: 1, defDur: ptr(1000), truns: []testTrun{{count: 3}}}, false, 3000},
		{"first trun empty", true, testTraf{id: 1, truns: []testTrun{{count: 0}, {firstFlags: ptr(sync), count: 1}, {count: 2}}}, true, 9000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in *Init
			if tc.init {
				var err error
				if in, err = ParseInit(avcInit()); err != nil {
					t.Fatal(err)
				}
			}
			data := segment(100, moof(9, tc.traf))
			frags := scanChunked(t, in, data)
			if len(frags) != 1 {
				t.Fatalf("%d fragments", len(frags))
			}
			f := frags[0]
			if f.Tracks[0].Independent != tc.want || f.Independent() != tc.want || f.Tracks[0].Duration != tc.dur || f.Sequence != 9 {
				t.Fatalf("got %+v, want independent %v duration %d", f, tc.want, tc.dur)
			}
			checkTiling(t, frags, len(data))
		})
	}
}

func TestScannerBoxForms(t *testing.T) {
	in, err := ParseInit(avcInit())
	if err != nil {
		t.Fatal(err)
	}
	tr := testTraf{id: 1, decodeTime: 1 << 40, truns: []testTrun{{firstFlags: ptr(0x02000000), count: 15}}}
	m := moof(1, tr)
	prft := fullBox("prft", 1, 0, u32(1), u64(0xe9a5d1a0<<32|1<<31), u64(1<<40))
	t.Run("largesize mdat and moof", func(t *testing.T) {
		data := slices.Concat(box("styp", []byte("msdh")), largeBox("moof", m[8:]), largeBox("mdat", zeros(70000)))
		frags := scanChunked(t, in, data)
		checkTiling(t, frags, len(data))
		if f := frags[0]; f.MoofOffset != 12 || f.Tracks[0].DecodeTime != 1<<40 || f.Tracks[0].Duration != 45000 {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("prft, emsg, sidx, free before moof", func(t *testing.T) {
		data := slices.Concat(box("styp"), box("sidx", zeros(40)), prft, fullBox("emsg", 1, 0, zeros(40)), box("free"), m, box("mdat", zeros(10)),
			m, box("mdat", zeros(10)))
		frags := scanChunked(t, in, data)
		checkTiling(t, frags, len(data))
		p := frags[0].Producer
		if p == nil || p.TrackID != 1 || p.MediaTime != 1<<40 || p.Time().Format("2006-01-02T15:04:05.000") != "2024-03-20T21:20:32.500" {
			t.Fatalf("producer %+v (%v)", p, p.Time())
		}
		if frags[1].Producer != nil {
			t.Fatal("a prft belongs to the fragment after it only")
		}
	})
	t.Run("init before media", func(t *testing.T) {
		data := slices.Concat(avcInit(), box("styp"), m, box("mdat", zeros(10)))
		frags := scanChunked(t, in, data)
		if len(frags) != 1 || frags[0].Offset != int64(len(avcInit())) || frags[0].Offset+frags[0].Size != int64(len(data)) {
			t.Fatalf("%+v", frags)
		}
	})
	t.Run("size 0 mdat ends at Close", func(t *testing.T) {
		data := slices.Concat(m, box("mdat", zeros(1000)))
		copy(data[len(m):], u32(0))
		var frags []Fragment
		s := NewScanner(in, func(f Fragment) { frags = append(frags, f) })
		if _, err := s.Write(data); err != nil {
			t.Fatal(err)
		}
		if len(frags) != 0 {
			t.Fatal("fragment emitted before Close")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		checkTiling(t, frags, len(data))
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := s.Write([]byte{0}); err == nil {
			t.Fatal("Write after Close succeeded")
		}
	})
	t.Run("empty mdat and Reset", func(t *testing.T) {
		var frags []Fragment
		s := NewScanner(in, func(f Fragment) { frags = append(frags, f) })
		data := slices.Concat(m, box("mdat"))
		for range 3 {
			if _, err := s.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s.Reset()
		}
		if len(frags) != 3 || frags[2].Offset != 0 || frags[2].Size != int64(len(data)) {
			t.Fatalf("%+v", frags)
		}
	})
}

func TestScannerErrors(t *testing.T) {
	in, err := ParseInit(avcInit())
	if err != nil {
		t.Fatal(err)
	}
	good := testTraf{id: 1, truns: []testTrun{{count: 2}}}
	m := moof(1, good)
	mdat := box("mdat", zeros(100))
	small := DefaultConfig()
	small.MaxMoofSize, small.MaxBoxSize, small.MaxSamples = 256, 1<<16, 10
	deepTraf := func(depth int) []byte { // traf in traf in traf...
		b := make([]byte, 0, 8*depth)
		for i := 0; i < depth; i++ {
			b = append(b, u32(uint32(8*(depth-i)))...)
			b = append(b, "traf"...)
		}
		return box("moof", fullBox("mfhd", 0, 0, u32(1)), b)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		init *Init
		data []byte
		want error
	}{
		{"mdat first", DefaultConfig(), in, mdat, ErrMalformed},
		{"moof moof", DefaultConfig(), in, slices.Concat(m, m, mdat), ErrMalformed},
		{"moov inside fragment", DefaultConfig(), in, slices.Concat(m, avcInit(), mdat), ErrMalformed},
		{"moof with no mdat", DefaultConfig(), in, m, ErrTruncated},
		{"cut in mdat", DefaultConfig(), in, slices.Concat(m, mdat[:50]), ErrTruncated},
		{"cut in header", DefaultConfig(), in, slices.Concat(m, mdat, m[:5]), ErrTruncated},
		{"cut in largesize header", DefaultConfig(), in, slices.Concat(u32(1), []byte("mdat"), u32(0)), ErrTruncated},
		{"size below header", DefaultConfig(), in, slices.Concat(u32(7), []byte("styp")), ErrMalformed},
		{"largesize below header", DefaultConfig(), in, slices.Concat(u32(1), []byte("styp"), u64(15)), ErrMalformed},
		{"size 0 moof", DefaultConfig(), in, slices.Concat(u32(0), m[4:]), ErrMalformed},
		{"huge mdat", DefaultConfig(), in, slices.Concat(m, u32(1), []byte("mdat"), u64(1<<62)), ErrLimit},
		{"huge styp", DefaultConfig(), in, slices.Concat(u32(1<<30), []byte("styp")), ErrLimit},
		{"moof over limit", Config{MaxBoxSize: 1 << 16, MaxMoofSize: 256, MaxSamples: 100}, in,
			slices.Concat(moof(1, testTraf{id: 1, truns: []testTrun{{durations: make([]uint32, 60)}}}), mdat), ErrLimit},
		{"samples over limit", small, in, slices.Concat(moof(1, good, good, testTraf{id: 1, truns: []testTrun{{count: 7}}}), mdat), ErrLimit},
		{"a billion samples", DefaultConfig(), in, slices.Concat(moof(1, testTraf{id: 1, truns: []testTrun{{count: 1e9}}}), mdat), ErrLimit},
		{"sample table cut", DefaultConfig(), in, slices.Concat(box("moof", fullBox("mfhd", 0, 0, u32(1)),
			box("traf", fullBox("tfhd", 0, 0, u32(1)), fullBox("trun", 0, trunSampleDuration, u32(1000), zeros(40)))), mdat), ErrTruncated},
		{"unknown track", DefaultConfig(), in, slices.Concat(moof(1, testTraf{id: 2, truns: []testTrun{{count: 1}}}), mdat), ErrMalformed},
		{"no duration anywhere", DefaultConfig(), nil, slices.Concat(m, mdat), ErrMalformed},
		{"no mfhd", DefaultConfig(), in, slices.Concat(box("moof", good.bytes()), mdat), ErrMalformed},
		{"no tfhd", DefaultConfig(), in, slices.Concat(box("moof", fullBox("mfhd", 0, 0, u32(1)), box("traf", fullBox("tfdt", 0, 0, u32(0)))), mdat), ErrMalformed},
		{"trun before tfhd", DefaultConfig(), in, slices.Concat(box("moof", fullBox("mfhd", 0, 0, u32(1)),
			box("traf", testTrun{count: 1}.bytes(), fullBox("tfhd", 0, 0, u32(1)))), mdat), ErrMalformed},
		{"short tfdt", DefaultConfig(), in, slices.Concat(box("moof", fullBox("mfhd", 0, 0, u32(1)),
			box("traf", fullBox("tfhd", 0, 0, u32(1)), fullBox("tfdt", 1, 0, u32(0)))), mdat), ErrTruncated},
		{"child past moof", DefaultConfig(), in, slices.Concat(box("moof", fullBox("mfhd", 0, 0, u32(1)), u32(1000), []byte("traf")), mdat), ErrTruncated},
		{"nesting bomb", DefaultConfig(), in, slices.Concat(deepTraf(100_000), mdat), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, next := range []func() int{nil, oneByte} {
				frags, err := scanAll(t, tc.cfg, tc.init, tc.data, next)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v (fragments %+v), want %v", err, frags, tc.want)
				}
			}
			_, err := scanAll(t, tc.cfg, tc.init, tc.data, nil)
			t.Log(err)
		})
	}
}

func TestScannerStickyError(t *testing.T) {
	s := NewScanner(nil, nil)
	n, err := s.Write(slices.Concat(box("styp"), box("mdat"), box("styp")))
	if !errors.Is(err, ErrMalformed) || n != 16 {
		t.Fatalf("Write = %d, %v; want 16 bytes (through the mdat header) and ErrMalformed", n, err)
	}
	if n, err2 := s.Write([]byte("x")); n != 0 || err2 != err {
		t.Fatalf("second Write = %d, %v", n, err2)
	}
	if s.Close() != err {
		t.Fatal("Close must return the first error")
	}
}

// TestScannerMemory streams a 256 MiB mdat through the scanner and checks
// that its buffer holds the moof only.
func TestScannerMemory(t *testing.T) {
	in, err := ParseInit(avcInit())
	if err != nil {
		t.Fatal(err)
	}
	m := moof(1, testTraf{id: 1, truns: []testTrun{{count: 2}}})
	const mdatSize = 256 << 20
	var frags []Fragment
	s := NewScanner(in, func(f Fragment) { frags = append(frags, f) })
	if _, err := s.Write(slices.Concat(m, u32(1), []byte("mdat"), u64(mdatSize+16))); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for range mdatSize / len(chunk) {
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(frags) != 1 || frags[0].Size != int64(len(m))+mdatSize+16 {
		t.Fatalf("%+v", frags)
	}
	if cap(s.buf) > 2*len(m) {
		t.Fatalf("scanner buffer grew to %d bytes for a %d-byte moof", cap(s.buf), len(m))
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{MaxBoxSize: 1, MaxMoofSize: 100, MaxSamples: 0}.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	t.Log(err)
	if _, err := NewScannerConfig(Config{}, nil, nil); err == nil {
		t.Fatal("NewScannerConfig accepted a zero Config")
	}
}
