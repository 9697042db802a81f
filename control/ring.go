package control

import "sort"

// position is one entry of the ring: where a log entry was and the
// document after it.
type position struct {
	index, term uint64
	doc         *docDigest
	check       bool // a check entry: nothing new to compare since the last one
}

// ring remembers the last checkRingLen applied entries, in index order.
type ring struct {
	buf  []position // allocated on first use
	next int        // where the next entry goes
	n    int        // entries held
}

func (r *ring) add(a position) {
	if r.buf == nil {
		r.buf = make([]position, checkRingLen)
	}
	r.buf[r.next] = a
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// at returns the i-th entry held, oldest first.
func (r *ring) at(i int) position {
	return r.buf[(r.next-r.n+i+len(r.buf))%len(r.buf)]
}

func (r *ring) find(index uint64) (position, bool) {
	i := sort.Search(r.n, func(i int) bool { return r.at(i).index >= index })
	if i == r.n || r.at(i).index != index {
		return position{}, false
	}
	return r.at(i), true
}

func (r *ring) last() (position, bool) {
	if r.n == 0 {
		return position{}, false
	}
	return r.at(r.n - 1), true
}

func (r *ring) reset() { r.next, r.n = 0, 0 }
