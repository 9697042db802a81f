package rendezvous

import "slices"

// Ring maps keys to members by highest random weight. It is immutable after
// New and safe for concurrent use.
type Ring struct {
	ids    []string // sorted, unique
	hashes []uint64 // hashes[i] is the mixed hash of ids[i], computed once in New
}

// New returns a ring over ids. Duplicates are ignored and order does not
// matter: two rings built from the same set behave identically.
func New(ids []string) *Ring {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	r := &Ring{ids: sorted, hashes: make([]uint64, len(sorted))}
	for i, id := range sorted {
		r.hashes[i] = memberHash(id)
	}
	return r
}

// Len returns the number of members.
func (r *Ring) Len() int { return len(r.ids) }

// Members returns a copy of the member ids, sorted.
func (r *Ring) Members() []string { return slices.Clone(r.ids) }

// Owner returns the member with the highest weight for key, or "" when the
// ring is empty. It does not allocate.
func (r *Ring) Owner(key string) string {
	if len(r.ids) == 0 {
		return ""
	}
	kh := keyHash(key)
	best, bestW := 0, weight(kh, r.hashes[0])
	for i := 1; i < len(r.ids); i++ {
		// >= : ids are sorted, so a tie goes to the larger id, as in Ranked.
		if w := weight(kh, r.hashes[i]); w >= bestW {
			best, bestW = i, w
		}
	}
	return r.ids[best]
}

// Ranked sorts (weight, index) pairs in a stack buffer sized for the ring:
// rings of up to smallRank members use a small buffer and insertion sort,
// up to largeRank a larger one, and bigger rings are sorted in place in dst,
// recomputing weights. So Ranked never allocates beyond growing dst.
const (
	smallRank = 16
	largeRank = 256
)

type ranked struct {
	w uint64
	i int
}

// Ranked appends all members to dst, ordered by descending weight for key
// (the owner first), and returns the extended slice. It does not allocate
// when dst has room for Len more elements.
func (r *Ring) Ranked(key string, dst []string) []string {
	kh := keyHash(key)
	switch n := len(r.ids); {
	case n <= smallRank:
		var buf [smallRank]ranked
		return r.rankSmall(kh, buf[:n], dst)
	case n <= largeRank:
		var buf [largeRank]ranked
		return r.rankLarge(kh, buf[:n], dst)
	}
	start := len(dst)
	dst = append(dst, r.ids...)
	slices.SortFunc(dst[start:], func(a, b string) int {
		return cmpDesc(weight(kh, memberHash(a)), weight(kh, memberHash(b)), a, b)
	})
	return dst
}

func (r *Ring) rankSmall(kh uint64, rs []ranked, dst []string) []string {
	for i, h := range r.hashes {
		rs[i] = ranked{w: weight(kh, h), i: i}
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && r.less(rs[j], rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
	return r.appendRanked(rs, dst)
}

func (r *Ring) rankLarge(kh uint64, rs []ranked, dst []string) []string {
	for i, h := range r.hashes {
		rs[i] = ranked{w: weight(kh, h), i: i}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmpDesc(a.w, b.w, r.ids[a.i], r.ids[b.i]) })
	return r.appendRanked(rs, dst)
}

func (r *Ring) less(a, b ranked) bool { return cmpDesc(a.w, b.w, r.ids[a.i], r.ids[b.i]) < 0 }

func (r *Ring) appendRanked(rs []ranked, dst []string) []string {
	for _, x := range rs {
		dst = append(dst, r.ids[x.i])
	}
	return dst
}

// cmpDesc orders by weight, highest first; equal weights (practically
// impossible) fall back to the id so the order stays total and deterministic.
func cmpDesc(wa, wb uint64, a, b string) int {
	switch {
	case wa > wb:
		return -1
	case wa < wb:
		return 1
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// Highest-weight selection only needs the weights of different members for
// one key to be independent and uniform. FNV-1a spreads the bytes of a string
// over 64 bits but mixes its high bits poorly, so both inputs and the
// combination go through the splitmix64 finaliser.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv1a(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func memberHash(id string) uint64 { return mix(fnv1a(id)) }

// keyHash uses a different seed from memberHash so a key equal to a member id
// is not special.
func keyHash(key string) uint64 { return mix(fnv1a(key) + 0x9e3779b97f4a7c15) }

func weight(key, member uint64) uint64 { return mix(key ^ member) }
