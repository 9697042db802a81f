package telemetry

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

func sessionID(i int) []byte {
	return []byte("6e2fb550-c457-11e9-bb97-" + strconv.Itoa(1_000_000_000_000+i))
}

func relErr(est uint64, n int) float64 { return math.Abs(float64(est)-float64(n)) / float64(n) }

func TestSketchAccuracy(t *testing.T) {
	for _, n := range []int{1, 10, 100, 1000, 10_000, 50_000, 100_000, 1_000_000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			s := NewSketch()
			for i := range n {
				s.Add(sessionID(i))
			}
			e := relErr(s.Estimate(), n)
			t.Logf("n=%d estimate=%d error=%.3f%% bytes=%d", n, s.Estimate(), 100*e, s.Bytes())
			if e > 0.02 {
				t.Errorf("estimate %d for %d distinct ids: error %.2f%% > 2%%", s.Estimate(), n, 100*e)
			}
		})
	}
}

func TestSketchSequentialIDs(t *testing.T) {
	// Short, similar ids (counters) are the worst case for a weak hash.
	s := NewSketch()
	const n = 200_000
	for i := range n {
		s.Add([]byte(strconv.Itoa(i)))
	}
	if e := relErr(s.Estimate(), n); e > 0.02 {
		t.Fatalf("error %.2f%%", 100*e)
	}
}

func TestSketchMergeIsUnion(t *testing.T) {
	// Three nodes see overlapping audiences: 0..6k, 4k..10k, 2k..8k plus
	// repeats; the union is 10k ids.
	nodes := []*Sketch{NewSketch(), NewSketch(), NewSketch()}
	ranges := [][2]int{{0, 6000}, {4000, 10_000}, {2000, 8000}}
	union := NewSketch()
	for i, r := range ranges {
		for id := r[0]; id < r[1]; id++ {
			nodes[i].Add(sessionID(id))
			union.Add(sessionID(id))
		}
	}
	merged := NewSketch()
	for _, n := range []int{2, 0, 1, 0} { // any order, repeats are harmless
		merged.Merge(nodes[n])
	}
	if merged.Estimate() != union.Estimate() {
		t.Fatalf("merged %d, single sketch %d", merged.Estimate(), union.Estimate())
	}
	if e := relErr(merged.Estimate(), 10_000); e > 0.02 {
		t.Fatalf("error %.2f%%", 100*e)
	}
	// Sparse into dense and dense into sparse give the same registers.
	small := NewSketch()
	small.Add([]byte("x"))
	a, b := NewSketch(), NewSketch()
	a.Merge(union)
	a.Merge(small)
	b.Merge(small)
	b.Merge(union)
	if a.Estimate() != b.Estimate() {
		t.Fatalf("merge order: %d != %d", a.Estimate(), b.Estimate())
	}
}

func TestSketchMemoryBounded(t *testing.T) {
	s := NewSketch()
	for i := range 100_000 {
		s.Add(sessionID(i))
		if s.Bytes() > hllM {
			t.Fatalf("sketch takes %d bytes after %d ids", s.Bytes(), i)
		}
	}
	small := NewSketch()
	for i := range 100 {
		small.Add(sessionID(i))
	}
	if small.Bytes() > 1024 {
		t.Fatalf("100 ids take %d bytes", small.Bytes())
	}
}

func TestSketchRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100, 3000, 100_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := NewSketch()
			for i := range n {
				s.Add(sessionID(i))
			}
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Sketch
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if got.Estimate() != s.Estimate() {
				t.Fatalf("round trip: %d != %d", got.Estimate(), s.Estimate())
			}
			t.Logf("%d ids: %d bytes serialized", n, len(b))
			for cut := range len(b) {
				if cut > 64 && cut < len(b)-64 {
					continue
				}
				var bad Sketch
				if err := bad.UnmarshalBinary(b[:cut]); err == nil {
					t.Fatalf("truncated at %d of %d: no error", cut, len(b))
				}
			}
		})
	}
}

func FuzzSketchUnmarshal(f *testing.F) {
	s := NewSketch()
	for i := range 50 {
		s.Add(sessionID(i))
	}
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 14, 'd'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sketch
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		out, _ := s.MarshalBinary()
		var again Sketch
		if err := again.UnmarshalBinary(out); err != nil || again.Estimate() != s.Estimate() {
			t.Fatalf("re-encoding fails: %v", err)
		}
	})
}

func BenchmarkSketchAdd(b *testing.B) {
	s := NewSketch()
	id := sessionID(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id[len(id)-1] = byte(i)
		id[len(id)-2] = byte(i >> 8)
		s.Add(id)
	}
}
