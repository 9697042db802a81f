package telemetry

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryBounded1MSessions: 1M distinct session ids (and, in a second
// pass, 100k distinct label combinations) through one node's Recorder and
// a Merger keep the heap under a generous bound: the sketches are fixed
// size and the series are capped.
func TestMemoryBounded1MSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("1M sessions")
	}
	const bound = 64 << 20
	before := heapInUse()
	r := testRecorder(t, 1)
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(DefaultMergerConfig(), clock.Now)
	var p Parser
	sid := []byte(`sid="6e2fb550-c457-11e9-bb97-000000000000"`)
	o := &Observation{Event: []byte("fight"), Region: []byte("eu"), Pathway: []byte("mesh"), CMCD: &p.CMCD, Status: 200}
	renditions := [][]byte{[]byte("360p"), []byte("720p"), []byte("1080p")}
	const n = 1_000_000
	for i := range n {
		s := strconv.Itoa(i)
		copy(sid[len(sid)-1-len(s):], s)
		_ = p.ParseHeaders(nil, nil, nil, sid)
		o.Rendition = renditions[i%3]
		r.Record(o)
		if i%50_000 == 49_999 { // a delta every "second"
			clock.Add(time.Second)
			if err := m.ApplyDelta("a", r.Delta(clock.Now())); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Add(time.Second)
	rows := m.View(Query{})
	grown := heapInUse() - before
	t.Logf("1M sessions: heap grew %.1f MiB; viewers %d (the last 20 s: the whole run)", float64(grown)/(1<<20), rows[0].Viewers)
	if grown > bound {
		t.Fatalf("heap grew %d MiB with 1M sessions", grown>>20)
	}
	if e := relErr(rows[0].Viewers, n); e > 0.02 {
		t.Errorf("viewers %d for %d sessions: %.2f%%", rows[0].Viewers, n, 100*e)
	}

	// Hostile labels: 100k distinct renditions, each with a session.
	for i := range 100_000 {
		o.Rendition = []byte("r" + strconv.Itoa(i))
		_ = p.ParseHeaders(nil, nil, nil, sid)
		r.Record(o)
	}
	clock.Add(time.Second)
	if err := m.ApplyDelta("a", r.Delta(clock.Now())); err != nil {
		t.Fatal(err)
	}
	grown = heapInUse() - before
	t.Logf("plus 100k label combinations: heap grew %.1f MiB, %d series on the node", float64(grown)/(1<<20), r.Series())
	if grown > bound || r.Series() > DefaultRecorderConfig().MaxSeries {
		t.Fatalf("heap grew %d MiB, %d series", grown>>20, r.Series())
	}
	runtime.KeepAlive(r)
	runtime.KeepAlive(m)
}
