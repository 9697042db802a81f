package rendezvous

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func members(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("shield-%d.ams.example.net", i)
	}
	return ids
}

func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("/live/final/1080p/seg%06d.ts", i)
	}
	return ks
}

func owners(r *Ring, ks []string) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = r.Owner(k)
	}
	return out
}

func TestEmptyAndDuplicates(t *testing.T) {
	if got := New(nil).Owner("k"); got != "" {
		t.Fatalf("empty ring owner = %q, want \"\"", got)
	}
	if got := New(nil).Ranked("k", nil); len(got) != 0 {
		t.Fatalf("empty ring ranked = %v", got)
	}
	r := New([]string{"b", "a", "b", "c", "a"})
	if r.Len() != 3 {
		t.Fatalf("Len = %d, want 3", r.Len())
	}
	if got := r.Members(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Members = %v", got)
	}
	r.Members()[0] = "mutated"
	if r.Members()[0] != "a" {
		t.Fatal("Members must return a copy")
	}
}

func TestDeterministicAndOrderIndependent(t *testing.T) {
	ids := members(7)
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	a, b := New(ids), New(rev)
	for _, k := range keys(2000) {
		if a.Owner(k) != b.Owner(k) {
			t.Fatalf("owner of %q depends on member order", k)
		}
		if !slices.Equal(a.Ranked(k, nil), b.Ranked(k, nil)) {
			t.Fatalf("ranking of %q depends on member order", k)
		}
	}
}

func TestBalance(t *testing.T) {
	const n, nkeys = 10, 100_000
	r := New(members(n))
	count := map[string]int{}
	for _, o := range owners(r, keys(nkeys)) {
		count[o]++
	}
	want := float64(nkeys) / n
	for id, c := range count {
		if dev := math.Abs(float64(c)-want) / want; dev > 0.10 {
			t.Errorf("%s owns %d keys, %.1f%% off the mean %v", id, c, dev*100, want)
		}
	}
	if len(count) != n {
		t.Fatalf("%d members own keys, want %d", len(count), n)
	}
}

func TestAddMovesOnlyToNewMember(t *testing.T) {
	for _, n := range []int{1, 3, 10, 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ids := members(n + 1)
			ks := keys(50_000)
			before, after := owners(New(ids[:n]), ks), owners(New(ids), ks)
			moved := 0
			for i := range ks {
				if before[i] == after[i] {
					continue
				}
				moved++
				if after[i] != ids[n] {
					t.Fatalf("key %q moved %s -> %s, not to the new member", ks[i], before[i], after[i])
				}
			}
			want := float64(len(ks)) / float64(n+1)
			if dev := math.Abs(float64(moved)-want) / want; dev > 0.10 {
				t.Fatalf("moved %d keys, want about %.0f", moved, want)
			}
		})
	}
}

func TestRemoveMovesOnlyThatMembersKeys(t *testing.T) {
	ids := members(10)
	gone := ids[4]
	rest := slices.Delete(slices.Clone(ids), 4, 5)
	ks := keys(50_000)
	before, after := owners(New(ids), ks), owners(New(rest), ks)
	for i := range ks {
		if before[i] != gone && before[i] != after[i] {
			t.Fatalf("key %q moved %s -> %s though %s was removed", ks[i], before[i], after[i], gone)
		}
		if after[i] == gone {
			t.Fatalf("key %q still owned by removed member", ks[i])
		}
	}
}

func TestRankedConsistentWithOwnerAndLeave(t *testing.T) {
	for _, n := range []int{1, 2, 10, smallRank + 5, largeRank + 5} { // one per sorting path
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ids := members(n)
			r := New(ids)
			for _, k := range keys(500) {
				rk := r.Ranked(k, nil)
				if len(rk) != n || rk[0] != r.Owner(k) {
					t.Fatalf("Ranked(%q)[0] = %q, Owner = %q (len %d)", k, rk[0], r.Owner(k), len(rk))
				}
				without := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == rk[0] })
				if got := New(without).Ranked(k, nil); !slices.Equal(got, rk[1:]) {
					t.Fatalf("failover order for %q\n got %v\nwant %v", k, got, rk[1:])
				}
			}
		})
	}
}

func TestRankedAppends(t *testing.T) {
	r := New(members(3))
	got := r.Ranked("k", []string{"prefix"})
	if len(got) != 4 || got[0] != "prefix" || got[1] != r.Owner("k") {
		t.Fatalf("Ranked did not append: %v", got)
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, n := range []int{10, smallRank + 5, largeRank + 5} {
		r := New(members(n))
		dst := make([]string, 0, n)
		if a := testing.AllocsPerRun(100, func() { _ = r.Owner("/live/x/seg1.ts") }); a != 0 {
			t.Errorf("Owner with %d members: %v allocs", n, a)
		}
		if a := testing.AllocsPerRun(100, func() { dst = r.Ranked("/live/x/seg1.ts", dst[:0]) }); a != 0 {
			t.Errorf("Ranked with %d members: %v allocs", n, a)
		}
	}
}

func BenchmarkOwner(b *testing.B) {
	r := New(members(10))
	ks := keys(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = r.Owner(ks[i&1023])
	}
}

func BenchmarkRanked(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := New(members(n))
			ks := keys(1024)
			dst := make([]string, 0, n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst = r.Ranked(ks[i&1023], dst[:0])
			}
		})
	}
}
