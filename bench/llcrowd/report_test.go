package llcrowd

import (
	"testing"
	"time"

	"github.com/ringside-live/ringside/bench/llorigin"
)

// The latencies leave out the turns that catch a player up after a join
// (at most maxCatchUp), and count late parts and stalls against the part
// target.
func TestLatencies(t *testing.T) {
	const ms = int64(time.Millisecond)
	st := llorigin.Stats{PartsPerSegment: 4, PartDurationMS: 500, PublishedFrom: 40}
	for a := range int64(40) { // parts 10.0 .. 19.3, every 500 ms from t=0
		st.PublishedNS = append(st.PublishedNS, a*500*ms)
	}
	pub := func(msn, part int64) int64 { return ((msn-10)*4 + part) * 500 * ms }
	// turn asks for msn.part, sent at sent and answered at done (ms
	// relative to the part's publication).
	turn := func(msn, part, sent, done int64, joined bool) cycle {
		p := pub(msn, part)
		return cycle{msn: msn, part: part, joined: joined, plSent: p + sent*ms, plDone: p + done*ms}
	}
	players := []*player{
		{cycles: []cycle{ // joins a second late, catches up in two turns, then wakes 10 ms after each part
			turn(10, 0, 1000, 1001, true), turn(10, 1, 501, 502, false),
			turn(10, 2, -400, 10, false), turn(10, 3, -490, 10, false),
		}},
		{cycles: []cycle{ // never blocked: counted from its fifth turn on
			turn(11, 0, 1000, 1001, true), turn(11, 1, 10, 20, false), turn(11, 2, 10, 20, false),
			turn(11, 3, 10, 20, false), turn(12, 0, 700, 800, false), turn(12, 1, 1600, 1700, false),
		}},
		{cycles: []cycle{turn(30, 0, -100, 5, false)}}, // a part the origin does not remember
	}
	var r Report
	r.latencies(players, st, nil)
	if r.JoinCycles != 6 || r.Wake.Count != 4 || r.Unmatched != 1 {
		t.Fatalf("join cycles %d, wake count %d, unmatched %d", r.JoinCycles, r.Wake.Count, r.Unmatched)
	}
	if r.Wake.P50MS != 10 || r.Wake.MaxMS != 1700 || r.Blocked != 0.5 || r.Late != 2 || r.Stalls != 1 {
		t.Fatalf("wake %+v, blocked %v, late %d, stalls %d", r.Wake, r.Blocked, r.Late, r.Stalls)
	}
}
