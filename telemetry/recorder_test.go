package telemetry

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func testRecorder(t testing.TB, epoch uint64, mutate ...func(*RecorderConfig)) *Recorder {
	t.Helper()
	cfg := DefaultRecorderConfig()
	cfg.Epoch = epoch
	for _, f := range mutate {
		f(&cfg)
	}
	r, err := NewRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func obs(event, region, pathway, rendition string, c *CMCD, status int) *Observation {
	return &Observation{
		Event: []byte(event), Region: []byte(region), Pathway: []byte(pathway), Rendition: []byte(rendition),
		CMCD: c, Status: status, TTFB: 20 * time.Millisecond, Duration: 200 * time.Millisecond, Bytes: 500_000,
	}
}

func TestRecorderConfigValidate(t *testing.T) {
	err := RecorderConfig{Stripes: 3}.Validate()
	for _, want := range []string{"max_series", "max_label_len", "stripes", "slot_seconds", "idle_deltas", "epoch"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestRecorderCounts(t *testing.T) {
	r := testRecorder(t, 1)
	start := &CMCD{Has: HasSID | HasSU | HasOT, SID: []byte("s1"), SU: true, OT: OTVideo, BR: 3000, D: 4000}
	start.Has |= HasBR | HasD
	r.Record(obs("ev", "eu", "mesh", "720p", start, 200))
	stall := &CMCD{Has: HasSID | HasBS | HasOT | HasBR, SID: []byte("s2"), BS: true, OT: OTVideo, BR: 1000, BL: 0, MTP: 8000}
	stall.Has |= HasMTP
	r.Record(obs("ev", "eu", "mesh", "720p", stall, 503))
	v2 := &CMCD{Has: HasSID | HasMSD | HasV | HasBSD, SID: []byte("s3"), MSD: 1800, V: 2, BSD: 500, SU: true, OT: OTVideo}
	r.Record(obs("ev", "eu", "mesh", "720p", v2, 200))
	r.Record(obs("ev", "eu", "mesh", "720p", nil, 0))
	r.Record(obs("ev", "us", "cdn-a", "720p", &CMCD{Has: HasOT, OT: OTManifest}, 404))

	d := r.Delta(t0.Add(10 * time.Millisecond))
	if d.Second != t0.Unix()-1 || d.Seq != 1 || d.Len() != 2 {
		t.Fatalf("delta second %d seq %d series %d", d.Second, d.Seq, d.Len())
	}
	eu := d.series[0].c
	want := map[int]uint64{
		cRequests: 4, cBytes: 2_000_000, c2xx: 2, c5xx: 1, cFailed: 1, cMedia: 3, cRebuffers: 1,
		cStallMs: 500, cPlayedMs: 4000, cStartups: 2, cBitrateKbps: 4000, cBitrateN: 2,
		cMTPKbps: 8000, cMTPN: 1, cCMCD: 3, cDurationUs: 800_000, cTTFBUs: 80_000,
	}
	for i := range numCounters {
		if eu[i] != want[i] {
			t.Errorf("%s = %d, want %d", counterNames[i], eu[i], want[i])
		}
	}
	h := d.series[0].h
	if h[startupBucket(200)] != 1 || h[startupBucket(1800)] != 1 {
		t.Errorf("startup histogram %v", h)
	}
	if n := len(d.series[0].regs); n != 3 {
		t.Errorf("%d registers raised for 3 sessions", n)
	}
	if us := d.series[1]; us.labels.Region != "us" || us.c[c4xx] != 1 || us.c[cMedia] != 0 {
		t.Errorf("us series %+v", us)
	}
	// Nothing new: the next delta is empty.
	if d2 := r.Delta(t0.Add(time.Second)); d2.Len() != 0 || d2.Seq != 2 {
		t.Fatalf("second delta has %d series", d2.Len())
	}
}

func TestRecorderSketchSlots(t *testing.T) {
	r := testRecorder(t, 1)
	c := &CMCD{Has: HasSID, SID: []byte("same-session")}
	r.Record(obs("ev", "eu", "mesh", "720p", c, 200))
	d := r.Delta(t0.Add(time.Second))
	if len(d.series[0].regs) != 1 {
		t.Fatalf("first request: %d registers", len(d.series[0].regs))
	}
	r.Record(obs("ev", "eu", "mesh", "720p", c, 200))
	if d := r.Delta(t0.Add(2 * time.Second)); len(d.series[0].regs) != 0 {
		t.Fatalf("same session again in the same slot raised %d registers", len(d.series[0].regs))
	}
	// In the next slot it counts again.
	r.Delta(t0.Add(11 * time.Second)) // rotates the slot
	r.Record(obs("ev", "eu", "mesh", "720p", c, 200))
	d = r.Delta(t0.Add(12 * time.Second))
	if len(d.series[0].regs) != 1 || d.series[0].slot != floorDiv(t0.Unix()+11, 10) {
		t.Fatalf("next slot: %d registers, slot %d", len(d.series[0].regs), d.series[0].slot)
	}
}

func TestRecorderOverflowAndIdle(t *testing.T) {
	r := testRecorder(t, 1, func(c *RecorderConfig) { c.MaxSeries = 3; c.IdleDeltas = 2 })
	for i := range 10 {
		r.Record(obs("ev", "eu", "mesh", strconv.Itoa(i), nil, 200))
	}
	long := string(make([]byte, 65))
	r.Record(obs(long, "eu", "mesh", "x", nil, 200))
	if r.Series() != 3 {
		t.Fatalf("%d series, max 3", r.Series())
	}
	d := r.Delta(t0)
	if d.Overflow != 8 || d.Len() != 4 {
		t.Fatalf("overflow %d, series %d", d.Overflow, d.Len())
	}
	var other uint64
	for _, s := range d.series {
		if s.labels.Event == OverflowLabel {
			other = s.c[cRequests]
		}
	}
	if other != 8 {
		t.Fatalf("overflow series has %d requests", other)
	}
	r.Delta(t0.Add(time.Second))
	r.Delta(t0.Add(2 * time.Second))
	if r.Series() != 0 {
		t.Fatalf("%d series after 2 idle deltas", r.Series())
	}
	r.Record(obs("ev", "eu", "mesh", "new", nil, 200))
	if r.Series() != 1 {
		t.Fatal("no room after idle series left")
	}
}

func TestRecordConcurrent(t *testing.T) {
	r := testRecorder(t, 1)
	const workers, per = 8, 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	var deltas []*Delta
	var dmu sync.Mutex
	cutter := make(chan struct{})
	go func() { // deltas cut while requests are recorded
		defer close(cutter)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			d := r.Delta(t0.Add(time.Duration(i) * time.Second))
			dmu.Lock()
			deltas = append(deltas, d)
			dmu.Unlock()
			runtime.Gosched()
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p Parser
			for i := range per {
				_ = p.ParseHeaders(nil, nil, nil, []byte(fmt.Sprintf(`sid="w%d-%d"`, w, i%100)))
				r.Record(obs("ev", "eu", "mesh", strconv.Itoa(i%4), &p.CMCD, 200))
			}
		}()
	}
	wg.Wait()
	close(done)
	<-cutter
	dmu.Lock()
	defer dmu.Unlock()
	deltas = append(deltas, r.Delta(t0.Add(time.Hour)))
	var total uint64
	for _, d := range deltas {
		for _, s := range d.series {
			total += s.c[cRequests]
		}
	}
	if total != workers*per {
		t.Fatalf("%d requests in deltas, %d recorded", total, workers*per)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	r := testRecorder(t, 1)
	var p Parser
	q := []byte(hlsjsQuery)
	o := obs("ev", "eu", "mesh", "720p", &p.CMCD, 200)
	_ = p.ParseQuery(q)
	r.Record(o) // creates the series and its sketch
	if n := testing.AllocsPerRun(200, func() {
		_ = p.ParseQuery(q)
		r.Record(o)
	}); n != 0 {
		t.Fatalf("Record: %v allocs per request", n)
	}
}

// BenchmarkRecord records from every P at once into 24 series (one event,
// 2 regions, 2 pathways, 6 renditions) with fresh and repeated sessions.
func BenchmarkRecord(b *testing.B) {
	r := testRecorder(b, 1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var p Parser
		labels := [][]byte{[]byte("eu"), []byte("us"), []byte("mesh"), []byte("cdn-a"), []byte("360p"), []byte("480p"), []byte("720p"), []byte("1080p"), []byte("1440p"), []byte("2160p")}
		_ = p.ParseQuery([]byte(hlsjsQuery))
		o := &Observation{Event: []byte("fight"), CMCD: &p.CMCD, Status: 200, TTFB: time.Millisecond, Duration: 50 * time.Millisecond, Bytes: 1 << 20}
		sid := []byte("6e2fb550-c457-11e9-bb97-0800200c9a66")
		for i := 0; pb.Next(); i++ {
			o.Region, o.Pathway, o.Rendition = labels[i&1], labels[2+(i>>1)&1], labels[4+i%6]
			sid[0], sid[1] = byte(i), byte(i>>8)
			p.SID = sid
			r.Record(o)
		}
	})
}

func BenchmarkDelta(b *testing.B) {
	r := testRecorder(b, 1)
	var p Parser
	_ = p.ParseQuery([]byte(hlsjsQuery))
	for i := range 24 {
		r.Record(obs("fight", "eu", strconv.Itoa(i%4), strconv.Itoa(i), &p.CMCD, 200))
	}
	b.ReportAllocs()
	now := t0
	var buf []byte
	for b.Loop() {
		for i := range 24 {
			r.Record(obs("fight", "eu", strconv.Itoa(i%4), strconv.Itoa(i), &p.CMCD, 200))
		}
		now = now.Add(time.Second)
		buf, _ = r.Delta(now).AppendBinary(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes/delta")
}
