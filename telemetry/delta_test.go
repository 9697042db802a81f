package telemetry

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// realisticDelta records one second of a realistic mix into r: sessions
// 0..n-1 each fetch one segment, over 2 regions × 2 pathways × 6
// renditions, 1% 5xx, 2% rebuffering, new sessions starting.
func recordSecond(r *Recorder, sec, n, newSessions int) {
	var p Parser
	regions := []string{"eu", "us"}
	pathways := []string{"mesh", "cdn-a"}
	for i := range n {
		sid := "6e2fb550-c457-11e9-bb97-" + strconv.Itoa(100_000_000+i)
		hdr := `sid="` + sid + `",br=3200,d=4000,ot=v,mtp=25000,bl=12000,cid="fight-42",sf=h,st=l`
		if i%50 == 7 {
			hdr += ",bs"
		}
		if i >= n-newSessions {
			hdr = `sid="` + sid + `",br=800,d=4000,ot=v,su,cid="fight-42",sf=h,st=l`
		}
		_ = p.ParseHeaders(nil, nil, nil, []byte(hdr))
		status := 200
		if (i+sec)%100 == 3 {
			status = 503
		}
		r.Record(obs("fight-42", regions[i%2], pathways[(i/2)%2], strconv.Itoa(360+i%6), &p.CMCD, status))
	}
}

func TestDeltaRoundTrip(t *testing.T) {
	r := testRecorder(t, 7)
	recordSecond(r, 0, 3000, 100)
	d := r.Delta(t0)
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeDelta(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip differs:\n%+v\n%+v", got.series[0], d.series[0])
	}
	// A packed sketch (a flash crowd) round-trips too.
	big := testRecorder(t, 8)
	recordSecond(big, 0, 60_000, 60_000)
	d = big.Delta(t0)
	b, _ = d.MarshalBinary()
	got, err = DecodeDelta(b)
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("packed round trip: %v", err)
	}
}

// TestDeltaSize measures the bytes per second a node sends for a
// realistic mix: 24 series, 3000 sessions fetching a 4-s segment every
// 4 s (750 requests a second), in steady state and at a flash crowd.
func TestDeltaSize(t *testing.T) {
	r := testRecorder(t, 7)
	now := t0.Add(5 * time.Second)
	var sizes []int
	for sec := range 25 {
		// A quarter of the sessions each second: every session every 4 s.
		var p Parser
		for i := sec % 4; i < 3000; i += 4 {
			sid := "6e2fb550-c457-11e9-bb97-" + strconv.Itoa(100_000_000+i)
			_ = p.ParseHeaders(nil, nil, nil, []byte(`sid="`+sid+`",br=3200,d=4000,ot=v,mtp=25000,bl=12000,cid="fight-42",sf=h,st=l`))
			r.Record(obs("fight-42", []string{"eu", "us"}[(i/4)%2], []string{"mesh", "cdn-a"}[(i/8)%2], strconv.Itoa(360+(i/16)%6), &p.CMCD, 200))
		}
		now = now.Add(time.Second)
		b, _ := r.Delta(now).MarshalBinary()
		sizes = append(sizes, len(b))
	}
	t.Logf("bytes per delta, 750 req/s over 24 series, 3000 sessions: %v", sizes)
	steady := sizes[len(sizes)-1]
	if steady > 4096 {
		t.Errorf("steady-state delta %d bytes", steady)
	}
	flood := testRecorder(t, 9)
	recordSecond(flood, 0, 20_000, 20_000)
	b, _ := flood.Delta(now).MarshalBinary()
	t.Logf("flash crowd: 20000 new sessions in one second over 24 series: %d bytes", len(b))
}

func TestDecodeDeltaErrors(t *testing.T) {
	r := testRecorder(t, 7)
	recordSecond(r, 0, 100, 10)
	b, _ := r.Delta(t0).MarshalBinary()
	for cut := range len(b) {
		if _, err := DecodeDelta(b[:cut]); !errors.Is(err, ErrDelta) {
			t.Fatalf("truncated at %d/%d: %v", cut, len(b), err)
		}
	}
	if _, err := DecodeDelta(append(b, 0)); !errors.Is(err, ErrDelta) {
		t.Fatal("trailing byte accepted")
	}
	huge := append([]byte{'R', 'T', 1, 1, 1, 0, 10, 0}, 0xff, 0xff, 0xff, 0xff, 0x0f) // 4G strings
	if _, err := DecodeDelta(huge); !errors.Is(err, ErrDelta) {
		t.Fatal("forged count accepted")
	}
	if _, err := DecodeDelta(make([]byte, MaxDeltaBytes+1)); !errors.Is(err, ErrDelta) {
		t.Fatal("oversized delta accepted")
	}
}

func FuzzDecodeDelta(f *testing.F) {
	r := testRecorder(f, 7)
	recordSecond(r, 0, 200, 20)
	b, _ := r.Delta(t0).MarshalBinary()
	f.Add(b)
	f.Add([]byte{'R', 'T', 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDelta(b)
		if err != nil {
			if !errors.Is(err, ErrDelta) {
				t.Fatalf("error %v does not wrap ErrDelta", err)
			}
			return
		}
		// Whatever decodes re-encodes, decodes alike and merges without
		// panicking.
		out, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeDelta(out)
		if err != nil || again.Len() != d.Len() {
			t.Fatalf("re-decoding: %v", err)
		}
		m := testMerger(t, time.Unix(d.Second, 0))
		_ = m.ApplyDelta("n", d)
		_ = m.View(Query{By: ByAll})
	})
}
