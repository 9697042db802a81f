package control

import (
	"fmt"
	"testing"
)

func TestRing(t *testing.T) {
	var r ring
	if _, ok := r.last(); ok {
		t.Fatal("empty ring has a last entry")
	}
	// Indexes with gaps (Raft's own entries never reach the FSM).
	total := checkRingLen + 100
	for i := range total {
		r.add(position{index: uint64(2 * (i + 1)), term: uint64(i)})
	}
	for _, tc := range []struct {
		index uint64
		ok    bool
	}{
		{2, false}, {200, false}, {202, true}, {203, false}, {uint64(2 * total), true}, {uint64(2*total + 2), false},
	} {
		t.Run(fmt.Sprint(tc.index), func(t *testing.T) {
			a, ok := r.find(tc.index)
			if ok != tc.ok || ok && a.index != tc.index {
				t.Fatalf("find(%d) = %+v, %v", tc.index, a, ok)
			}
		})
	}
	if a, _ := r.last(); a.index != uint64(2*total) {
		t.Fatalf("last = %+v", a)
	}
	r.reset()
	if _, ok := r.find(uint64(2 * total)); ok {
		t.Fatal("found after reset")
	}
}
