package llcrowd

import (
	"errors"
	"testing"
	"time"
)

const head = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n" +
	"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.000\n" +
	"#EXT-X-PART-INF:PART-TARGET=0.500\n"

func TestScanPlaylist(t *testing.T) {
	tests := []struct {
		name                 string
		in                   string
		lastMSN, parts, tail int64
		hint                 string
		nextMSN, nextPart    int64
		listed, notListed    [2]int64
		wantErr              bool
	}{
		{
			name: "part in progress",
			in: head + "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.000,\nseg7.m4s\n" +
				"#EXT-X-PART:DURATION=0.500,URI=\"8.0.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.500,URI=\"8.1.m4s\"\n" +
				"#EXT-X-PART:DURATION=0.500,URI=\"8.2.m4s\"\n#EXT-X-PART:DURATION=0.500,URI=\"8.3.m4s\"\n#EXTINF:2.000,\nseg8.m4s\n" +
				"#EXT-X-PART:DURATION=0.500,URI=\"9.0.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"9.1.m4s\"\n" +
				"#EXT-X-RENDITION-REPORT:URI=\"../r1/index.m3u8\",LAST-MSN=9,LAST-PART=0\n",
			lastMSN: 8, parts: 4, tail: 1, hint: "9.1.m4s", nextMSN: 9, nextPart: 1,
			listed: [2]int64{9, 0}, notListed: [2]int64{9, 1},
		},
		{
			name: "delta update at a segment boundary, CRLF",
			in: "#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-PART-INF:PART-TARGET=0.5\r\n#EXT-X-MEDIA-SEQUENCE:10\r\n" +
				"#EXT-X-SKIP:SKIPPED-SEGMENTS=6\r\n#EXT-X-PART:DURATION=0.5,URI=\"16.0.m4s\"\r\n#EXT-X-PART:DURATION=0.5,URI=\"16.1.m4s\"\r\n" +
				"#EXTINF:2,\r\nseg16.m4s\r\n#EXT-X-PRELOAD-HINT:URI=\"17.0.m4s\",TYPE=PART\r\n",
			lastMSN: 16, parts: 2, tail: 0, hint: "17.0.m4s", nextMSN: 17, nextPart: 0,
			listed: [2]int64{16, 5}, notListed: [2]int64{17, 0},
		},
		{
			name:    "a map hint is not a part hint",
			in:      head + "#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2,\na.m4s\n#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"init2.mp4\"\n",
			nextMSN: 1, listed: [2]int64{0, 3}, notListed: [2]int64{1, 0},
		},
		{name: "empty", in: "", wantErr: true},
		{name: "master", in: "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nr0/index.m3u8\n", wantErr: true},
		{name: "no part target", in: "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n", wantErr: true},
		{name: "bad sequence", in: head + "#EXT-X-MEDIA-SEQUENCE:x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := scanPlaylist([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, errPlaylist) {
					t.Fatalf("err %v, want errPlaylist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.lastMSN != tt.lastMSN || p.partsPerSegment() != tt.parts || p.tail != tt.tail || p.hint != tt.hint ||
				p.targetDuration != 2*time.Second || p.partTarget != 500*time.Millisecond {
				t.Fatalf("got %+v", p)
			}
			if m, pt := p.next(); m != tt.nextMSN || pt != tt.nextPart {
				t.Fatalf("next %d.%d, want %d.%d", m, pt, tt.nextMSN, tt.nextPart)
			}
			if !p.lists(tt.listed[0], tt.listed[1]) || p.lists(tt.notListed[0], tt.notListed[1]) {
				t.Fatalf("lists %v should be true, %v false", tt.listed, tt.notListed)
			}
		})
	}
}

func TestAttr(t *testing.T) {
	list := []byte(`TYPE=PART,URI="a,b.m4s",BYTERANGE-START=10,X="q"`)
	for name, want := range map[string]string{"TYPE": "PART", "URI": `"a,b.m4s"`, "BYTERANGE-START": "10", "X": `"q"`, "NONE": ""} {
		if got := string(attr(list, name)); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := attr([]byte(`URI="unterminated`), "URI"); string(got) != `"unterminated` {
		t.Errorf("unterminated: %q", got)
	}
}

func TestGaugeValue(t *testing.T) {
	tests := []struct {
		line string
		v    float64
		ok   bool
	}{
		{"ringside_ll_parked_requests 1234", 1234, true},
		{`ringside_ll_parked_requests{event="ev"} 7 1700000000`, 7, true},
		{"ringside_ll_parked_requests_total 3", 0, false},
		{"# HELP ringside_ll_parked_requests blocking requests", 0, false},
		{"ringside_ll_parked_requests x", 0, false},
	}
	for _, tt := range tests {
		v, ok := gaugeValue(tt.line, gaugeParked)
		if v != tt.v || ok != tt.ok {
			t.Errorf("%q: %v %v", tt.line, v, ok)
		}
	}
}
