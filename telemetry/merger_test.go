package telemetry

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for a Merger.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *fakeClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func testMerger(t testing.TB, now time.Time) *Merger {
	t.Helper()
	m, err := NewMerger(DefaultMergerConfig(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expect accumulates what the generator sent.
type expect struct {
	requests, errors5xx, startups, rebuffers, media, bytes uint64
	sessions                                               map[int]bool
}

// TestMeshAggregation: 10 000 known sessions over 20 s, every session
// fetching a segment every 2 s from a node that changes each time (so
// every session is seen by the 3 nodes), in 2 regions × 3 pathways × 4
// renditions. One Merger gets the 3 nodes' deltas through the wire
// format. Counts are exact; viewers are within 2%.
func TestMeshAggregation(t *testing.T) {
	const sessions, seconds = 10_000, 20
	nodes := []*Recorder{testRecorder(t, 1), testRecorder(t, 2), testRecorder(t, 3)}
	clock := &fakeClock{t: t0}
	m, err := NewMerger(DefaultMergerConfig(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	regions, pathways := []string{"eu", "us"}, []string{"mesh", "cdn-a", "cdn-b"}
	renditions := []string{"360p", "720p", "1080p", "2160p"}
	type gk struct{ region, pathway string }
	want := map[gk]*expect{}
	total := &expect{sessions: map[int]bool{}}
	var p Parser
	for sec := range seconds {
		for i := sec % 2; i < sessions; i += 2 {
			region, pathway := regions[i%2], pathways[(i/2)%3]
			first := sec < 2
			sid := "sess-" + strconv.Itoa(i)
			hdr := `sid="` + sid + `",ot=v,br=3000,d=2000,bl=8000`
			if first {
				hdr = `sid="` + sid + `",ot=v,br=800,d=2000,su`
			}
			if (i+sec)%40 == 0 {
				hdr += ",bs"
			}
			if err := p.ParseHeaders(nil, nil, nil, []byte(hdr)); err != nil {
				t.Fatal(err)
			}
			status := 200
			if (i*7+sec)%100 == 0 {
				status = 502
			}
			o := obs("fight", region, pathway, renditions[(i+sec)%4], &p.CMCD, status)
			o.Bytes = int64(1000 + i%7)
			nodes[(i+sec)%3].Record(o)
			e := want[gk{region, pathway}]
			if e == nil {
				e = &expect{sessions: map[int]bool{}}
				want[gk{region, pathway}] = e
			}
			for _, x := range []*expect{e, total} {
				x.requests++
				x.bytes += uint64(o.Bytes)
				x.media++
				x.sessions[i] = true
				if status >= 500 {
					x.errors5xx++
				}
				if first {
					x.startups++
				}
				if p.BS {
					x.rebuffers++
				}
			}
		}
		// The second ends: every node sends its delta.
		clock.Set(t0.Add(time.Duration(sec+1)*time.Second + 20*time.Millisecond))
		for n, r := range nodes {
			b, err := r.Delta(clock.Now()).MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Apply("node-"+strconv.Itoa(n), b); err != nil {
				t.Fatalf("second %d node %d: %v", sec, n, err)
			}
		}
	}
	// Now is 20 ms into second 20: second 19, the last, is complete.

	check := func(name string, got Row, e *expect) {
		t.Helper()
		s := got.Long
		if s.Requests != e.requests || s.Bytes != e.bytes || s.Startups != e.startups || s.Rebuffers != e.rebuffers {
			t.Errorf("%s: requests %d/%d bytes %d/%d startups %d/%d rebuffers %d/%d", name,
				s.Requests, e.requests, s.Bytes, e.bytes, s.Startups, e.startups, s.Rebuffers, e.rebuffers)
		}
		if wantRate := float64(e.errors5xx) / float64(e.requests); math.Abs(s.Rate5xx-wantRate) > 1e-12 {
			t.Errorf("%s: 5xx rate %v, want %v", name, s.Rate5xx, wantRate)
		}
		if wantRatio := float64(e.rebuffers) / float64(e.media); math.Abs(s.RebufferRatio-wantRatio) > 1e-12 {
			t.Errorf("%s: rebuffer ratio %v, want %v", name, s.RebufferRatio, wantRatio)
		}
		n := len(e.sessions)
		if errPct := math.Abs(float64(got.Viewers)-float64(n)) / float64(n); errPct > 0.02 {
			t.Errorf("%s: %d viewers for %d sessions (%.2f%%)", name, got.Viewers, n, 100*errPct)
		}
		t.Logf("%s: %d requests, %d viewers for %d sessions, startup p50 %.0f ms", name, s.Requests, got.Viewers, n, s.StartupP50Ms)
	}
	all := m.View(Query{Event: "fight"})
	if len(all) != 1 {
		t.Fatalf("%d rows without grouping", len(all))
	}
	check("all", all[0], total)
	rows := m.View(Query{By: ByRegion | ByPathway})
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, row := range rows {
		check(row.Region+"/"+row.Pathway, row, want[gk{row.Region, row.Pathway}])
	}
	if short := all[0].Short; short.Seconds != 10 || short.Requests != uint64(sessions/2*10) {
		t.Errorf("short window: %d requests over %d s", short.Requests, short.Seconds)
	}
	if n := len(m.Nodes()); n != 3 {
		t.Errorf("%d nodes", n)
	}
}

func TestMergerRejects(t *testing.T) {
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(DefaultMergerConfig(), clock.Now)
	r := testRecorder(t, 1)
	r.Record(obs("ev", "eu", "mesh", "a", nil, 200))
	d1 := r.Delta(t0)
	if err := m.ApplyDelta("a", d1); err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyDelta("a", d1); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replay: %v", err)
	}
	// A restarted node (new epoch) starts its sequence again.
	r2 := testRecorder(t, 2)
	r2.Record(obs("ev", "eu", "mesh", "a", nil, 200))
	if err := m.ApplyDelta("a", r2.Delta(t0)); err != nil {
		t.Fatalf("restart: %v", err)
	}
	future := r2.Delta(t0.Add(time.Minute))
	if err := m.ApplyDelta("a", future); !errors.Is(err, ErrOutOfWindow) {
		t.Fatalf("future: %v", err)
	}
	old := r2.Delta(t0.Add(-2 * time.Minute))
	if err := m.ApplyDelta("a", old); !errors.Is(err, ErrOutOfWindow) {
		t.Fatalf("old: %v", err)
	}
	if err := m.Apply("a", []byte("junk")); !errors.Is(err, ErrDelta) {
		t.Fatalf("junk: %v", err)
	}
	if st := m.Nodes(); len(st) != 1 || st[0].Applied != 2 || st[0].Rejected != 4 {
		t.Fatalf("node status %+v", st)
	}
}

// TestMergerAgesOut: a node that stops reporting leaves the windows as
// they slide and is forgotten after NodeTTL.
func TestMergerAgesOut(t *testing.T) {
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(DefaultMergerConfig(), clock.Now)
	a, b := testRecorder(t, 1), testRecorder(t, 2)
	for sec := range 5 {
		for range 10 {
			a.Record(obs("ev", "eu", "mesh", "a", &CMCD{Has: HasSID, SID: []byte("x")}, 200))
			b.Record(obs("ev", "eu", "mesh", "a", nil, 200))
		}
		clock.Set(t0.Add(time.Duration(sec+1) * time.Second))
		_ = m.ApplyDelta("a", a.Delta(clock.Now()))
		_ = m.ApplyDelta("b", b.Delta(clock.Now()))
	}
	// a stops; b goes on.
	for sec := 5; sec < 80; sec++ {
		for range 10 {
			b.Record(obs("ev", "eu", "mesh", "a", nil, 200))
		}
		clock.Set(t0.Add(time.Duration(sec+1) * time.Second))
		_ = m.ApplyDelta("b", b.Delta(clock.Now()))
		if sec == 20 {
			if row := m.View(Query{})[0]; row.Short.Requests != 100 || row.Long.Requests != 2*10*5+10*16 {
				t.Fatalf("at 20 s: short %d, long %d", row.Short.Requests, row.Long.Requests)
			}
			if n := m.Nodes(); len(n) != 1 || n[0].ID != "b" {
				t.Fatalf("nodes %+v", n)
			}
		}
	}
	row := m.View(Query{})[0]
	if row.Long.Requests != 600 || row.Viewers != 0 {
		t.Fatalf("after a left: long %d requests, %d viewers", row.Long.Requests, row.Viewers)
	}
}

func TestMergerSeriesBounded(t *testing.T) {
	cfg := DefaultMergerConfig()
	cfg.MaxSeries = 10
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(cfg, clock.Now)
	r := testRecorder(t, 1)
	for i := range 50 {
		r.Record(obs("ev", "eu", "mesh", strconv.Itoa(i), nil, 200))
	}
	if err := m.ApplyDelta("a", r.Delta(t0)); err != nil {
		t.Fatal(err)
	}
	held, over := m.Series()
	if held != 11 || over != 40 {
		t.Fatalf("held %d, overflow %d", held, over)
	}
	clock.Add(time.Second)
	var total uint64
	for _, row := range m.View(Query{By: ByAll}) {
		total += row.Long.Requests
	}
	if total != 50 {
		t.Fatalf("%d requests", total)
	}
}

func BenchmarkMergerApply(b *testing.B) {
	r := testRecorder(b, 1)
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(DefaultMergerConfig(), clock.Now)
	var payloads [][]byte
	for sec := range 8 {
		recordSecond(r, sec, 750, 10)
		p, _ := r.Delta(t0.Add(time.Duration(sec) * time.Second)).MarshalBinary()
		payloads = append(payloads, p)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d, err := DecodeDelta(payloads[i%len(payloads)])
		if err != nil {
			b.Fatal(err)
		}
		d.Seq = uint64(i + 1)
		_ = m.ApplyDelta("a", d)
		i++
	}
}

func BenchmarkMergerView(b *testing.B) {
	r := testRecorder(b, 1)
	clock := &fakeClock{t: t0}
	m, _ := NewMerger(DefaultMergerConfig(), clock.Now)
	for sec := range 30 {
		recordSecond(r, sec, 3000, 100)
		clock.Set(t0.Add(time.Duration(sec+1) * time.Second))
		_ = m.ApplyDelta("a", r.Delta(clock.Now()))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View(Query{Event: "fight-42", By: ByRegion | ByPathway})
	}
}
