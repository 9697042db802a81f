package dvr

import (
	"reflect"
	"testing"
)

// sampleLog is a valid log with every record kind.
func sampleLog() []byte {
	b := []byte(logMagic)
	for _, r := range []record{
		{kind: kindInit, seq: 1, path: "r0/init.mp4", ctype: "video/mp4", size: 100},
		{kind: kindPut, seq: 2, path: "r0/dvr/1.m4s", rendition: "r0/index.m3u8", msn: 1, dur: 2e9, pdt: 1.7e18, mapPath: "r0/init.mp4", ctype: "video/iso.segment", size: 1000},
		{kind: kindPut, seq: 3, path: "r0/dvr/2.m4s", rendition: "r0/index.m3u8", msn: 2, dur: 2e9, pdt: 1.7e18 + 2e9, disc: true, mapPath: "r0/init.mp4", size: 1000},
		{kind: kindPin, name: "goal", from: 1.7e18, to: 1.7e18 + 1e9},
		{kind: kindDel, seq: 2, path: "r0/dvr/1.m4s"},
		{kind: kindPolicy, window: 3600e9, maxBytes: 1 << 30},
		{kind: kindUnpin, name: "goal"},
	} {
		b = appendRecord(b, &r)
	}
	return b
}

func TestReplayRoundTrip(t *testing.T) {
	data := sampleLog()
	recs, valid, err := replay(data)
	if err != nil || valid != len(data) || len(recs) != 7 {
		t.Fatalf("replay: %d records, valid %d of %d, %v", len(recs), valid, len(data), err)
	}
	again := []byte(logMagic)
	for i := range recs {
		again = appendRecord(again, &recs[i])
	}
	if string(again) != string(data) {
		t.Fatal("re-encoding differs")
	}
	ev := newEvent("e", "")
	for i := range recs {
		if err := ev.apply(&recs[i]); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	if len(ev.files) != 2 || ev.bytes != 1100 || len(ev.pins) != 0 || ev.window != 3600e9 || ev.nextSeq != 4 {
		t.Fatalf("index: %d files, %d bytes, pins %v, window %d, next %d", len(ev.files), ev.bytes, ev.pins, ev.window, ev.nextSeq)
	}
	// Every cut recovers exactly the whole records before it.
	for cut := range len(data) {
		recs2, valid2, _ := replay(data[:cut])
		if valid2 > cut || len(recs2) > 0 && !reflect.DeepEqual(recs2, recs[:len(recs2)]) {
			t.Fatalf("cut %d: valid %d, %d records", cut, valid2, len(recs2))
		}
	}
}

// FuzzReplay: any bytes as a log never panic, recover a prefix that
// replays to the same records, and give an index that holds together.
func FuzzReplay(f *testing.F) {
	data := sampleLog()
	f.Add(data)
	f.Add(data[:len(data)-3])
	f.Add(data[:len(logMagic)+5])
	f.Add([]byte{})
	f.Add([]byte("RSDV"))
	f.Add([]byte("not a log at all"))
	bad := append([]byte(nil), data...)
	bad[len(logMagic)+frameLen+2] ^= 1
	f.Add(bad)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, valid, err := replay(data)
		if valid < 0 || valid > len(data) {
			t.Fatalf("valid %d of %d", valid, len(data))
		}
		if err == nil && valid != len(data) && len(data) >= len(logMagic) {
			t.Fatalf("stopped at %d of %d without a reason", valid, len(data))
		}
		recs2, valid2, err2 := replay(data[:valid])
		if valid2 != valid || len(recs2) != len(recs) || (valid >= len(logMagic) && err2 != nil) {
			t.Fatalf("prefix replays differently: %d/%d records, valid %d/%d, %v", len(recs2), len(recs), valid2, valid, err2)
		}
		if !reflect.DeepEqual(recs, recs2) {
			t.Fatal("prefix replays to other records")
		}
		ev := newEvent("fuzz", "")
		for i := range recs {
			_ = ev.apply(&recs[i])
		}
		ev.recount()
		checkIndex(t, ev)

		// The same bytes as unframed payloads (a length byte each), so the
		// decoder and the index see inputs the CRC would otherwise stop.
		ev = newEvent("fuzz", "")
		for rest := data; len(rest) > 0; {
			n := min(int(rest[0]), len(rest)-1)
			r, err := decodeRecord(rest[1 : 1+n])
			rest = rest[1+n:]
			if err == nil {
				_ = ev.apply(&r)
			}
		}
		ev.recount()
		checkIndex(t, ev)
	})
}

// checkIndex checks the invariants of an event's index.
func checkIndex(t *testing.T, ev *event) {
	t.Helper()
	var bytes int64
	seqs := map[uint64]bool{}
	for p, x := range ev.files {
		if x.path != p || x.gone {
			t.Fatalf("files[%q] holds %q (gone %v)", p, x.path, x.gone)
		}
		if seqs[x.seq] || x.seq >= ev.nextSeq {
			t.Fatalf("file number %d repeated or not below %d", x.seq, ev.nextSeq)
		}
		seqs[x.seq] = true
		bytes += x.size
	}
	if bytes != ev.bytes {
		t.Fatalf("bytes %d, files hold %d", ev.bytes, bytes)
	}
	n := 0
	for name, r := range ev.rends {
		for i, x := range r.entries {
			if ev.files[x.path] != x || x.rend != r || r.name != name {
				t.Fatalf("rendition %q entry %q not indexed", name, x.path)
			}
			if i > 0 && r.entries[i-1].msn >= x.msn {
				t.Fatalf("rendition %q: MSN %d after %d", name, x.msn, r.entries[i-1].msn)
			}
			n++
		}
	}
	for _, x := range ev.files {
		if x.rend == nil {
			n++
		}
	}
	if n != len(ev.files) {
		t.Fatalf("%d entries in renditions and inits, %d files", n, len(ev.files))
	}
}
