package segment

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDirectives(t *testing.T) {
	for _, tc := range []struct {
		q       string
		key     string // canonical key of "/p"; "" when not present
		wantErr bool
	}{
		{"", "", false},
		{"token=x&CMCD=y", "", false},
		{"_HLS_pathway=a&_HLS_throughput=5", "", false}, // content steering, not a delivery directive
		{"_HLS_msn=7", "/p?_HLS_msn=7", false},
		{"_HLS_part=2&x=1&_HLS_msn=7", "/p?_HLS_msn=7&_HLS_part=2", false},
		{"_HLS_skip=YES&_HLS_msn=7", "/p?_HLS_msn=7&_HLS_skip=YES", false},
		{"_HLS_skip=v2", "/p?_HLS_skip=v2", false},
		{"_HLS_msn=0", "/p?_HLS_msn=0", false},
		{"_HLS_part=1", "", true},
		{"_HLS_msn=07", "", true},
		{"_HLS_msn=+7", "", true},
		{"_HLS_msn=", "", true},
		{"_HLS_msn=99999999999999999999", "", true},
		{"_HLS_msn=1&_HLS_msn=2", "", true},
		{"_HLS_skip=yes", "", true},
		{"_HLS_bogus=1", "", true},
	} {
		d, present, err := ParseDirectives(tc.q)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrDirective)) {
			t.Fatalf("%q: err %v", tc.q, err)
		}
		if err != nil {
			continue
		}
		if got := string(d.AppendKey(nil, "/p")); (tc.key == "") == present || (present && got != tc.key) {
			t.Fatalf("%q: present %v key %q, want %q", tc.q, present, got, tc.key)
		}
	}
}

func TestLastMSN(t *testing.T) {
	for _, tc := range []struct {
		pl   string
		last int64
		ok   bool
	}{
		{"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:10\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n", 11, true},
		{"#EXTM3U\n#EXTINF:2,\na.ts\n", 0, true},
		{"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE: 5\r\n#EXTINF:2,\r\na.ts\r\n", 5, true},
		{"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n", 0, false},
		{"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:x\n#EXTINF:2,\na.ts\n", 0, false},
		{"#EXTM3U\n#EXT-X-TARGETDURATION:2\n", 0, false},
	} {
		last, ok := LastMSN([]byte(tc.pl))
		if last != tc.last || ok != tc.ok {
			t.Fatalf("%q: %d %v, want %d %v", tc.pl, last, ok, tc.last, tc.ok)
		}
	}
}

// FuzzDirectives: any query parses without panicking, and a parsed one's
// canonical key parses back to the same directives.
func FuzzDirectives(f *testing.F) {
	for _, s := range []string{"_HLS_msn=7&_HLS_part=2", "_HLS_skip=YES", "_HLS_part=1", "a=b&_HLS_msn=0", "_HLS_msn=1&&_HLS_msn"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		d, present, err := ParseDirectives(q)
		if err != nil || !present {
			return
		}
		d2, present2, err := ParseDirectives(d.Query())
		if err != nil || !present2 || d2 != d {
			t.Fatalf("%q -> %q -> %+v %v", q, d.Query(), d2, err)
		}
	})
}

func FuzzLastMSN(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:10\n#EXTINF:2,\na.ts\n"))
	f.Fuzz(func(t *testing.T, b []byte) { LastMSN(b) })
}

func TestHas(t *testing.T) {
	pl := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n" +
		"#EXT-X-PART:DURATION=0.5,URI=\"p10.0.m4s\"\n#EXT-X-PART:DURATION=0.5,URI=\"p10.1.m4s\"\n#EXTINF:1,\ns10.m4s\n" +
		"#EXT-X-PART:DURATION=0.5,URI=\"p11.0.m4s\"\n#EXT-X-PART:DURATION=0.5,URI=\"p11.1.m4s\"\n#EXTINF:1,\ns11.m4s\n" +
		"#EXT-X-PART:DURATION=0.5,URI=\"p12.0.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p12.1.m4s\"\n"
	for _, tc := range []struct {
		msn, part int64
		want      bool
	}{
		{10, -1, true}, {11, -1, true}, {12, -1, false}, {9, 5, true}, {10, 7, true},
		{11, 1, true}, {11, 2, true}, // past 11's last part: 12.0, which is there
		{12, 0, true}, {12, 1, false}, {13, 0, false}, {-1, -1, false},
	} {
		if got := Has([]byte(pl), tc.msn, tc.part); got != tc.want {
			t.Errorf("Has(%d, %d) = %v, want %v", tc.msn, tc.part, got, tc.want)
		}
	}
	noTail := pl[:strings.Index(pl, "#EXT-X-PART:DURATION=0.5,URI=\"p12.0")]
	if Has([]byte(noTail), 11, 2) || !Has([]byte(noTail), 11, 1) || !Has([]byte(noTail), 11, -1) {
		t.Error("without a part of the next segment, a part past the last one cannot be told")
	}
	if !Has([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2,\na.ts\n"), 3, 9) {
		t.Error("a segment listed without parts is whole")
	}
	if Has([]byte(strings.Replace(pl, "#EXT-X-MEDIA-SEQUENCE:10\n", "#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n", 1)), 10, -1) {
		t.Error("a delta update is not judged")
	}
}

func TestHasDoesNotAllocate(t *testing.T) {
	pl := []byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-PART:DURATION=1,URI=\"a\"\n#EXTINF:2,\na.ts\n#EXT-X-PART:DURATION=1,URI=\"b\"\n")
	if n := testing.AllocsPerRun(100, func() { Has(pl, 3, 0); Has(pl, 4, 0) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func FuzzHas(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXTINF:1,\na\n#EXT-X-PART:DURATION=1,URI=\"b\"\n"), int64(1), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, msn, part int64) { Has(b, msn, part) })
}
