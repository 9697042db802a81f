package segment

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want PlaylistKind
		err  string
	}{
		{"media", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n", PlaylistMedia, ""},
		{"media by EXTINF", "#EXTM3U\n#EXTINF:2,\na.ts\n", PlaylistMedia, ""},
		{"master", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", PlaylistMaster, ""},
		{"master by EXT-X-MEDIA", "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO\n", PlaylistMaster, ""},
		{"media sequence is not EXT-X-MEDIA", "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-TARGETDURATION:1\n", PlaylistMedia, ""},
		{"BOM and CRLF", bom + "#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n", PlaylistMedia, ""},
		{"empty", "", PlaylistUnknown, "must start with #EXTM3U"},
		{"no header", "#EXT-X-TARGETDURATION:2\n", PlaylistUnknown, "must start with #EXTM3U"},
		{"blank first line", "\n#EXTM3U\n#EXT-X-TARGETDURATION:2\n", PlaylistUnknown, "must start with #EXTM3U"},
		{"neither", "#EXTM3U\n#EXT-X-VERSION:3\n", PlaylistUnknown, "neither"},
		{"both", "#EXTM3U\n#EXTINF:1,\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", PlaylistUnknown, "mixes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.in))
			if got != tt.want {
				t.Errorf("kind %v, want %v", got, tt.want)
			}
			checkErr(t, err, ErrSyntax, tt.err)
		})
	}
	for _, path := range playlistFiles(t, "") {
		data, _ := os.ReadFile(path)
		kind, err := Detect(data)
		if wantMaster := strings.Contains(path, "master"); err != nil || (kind == PlaylistMaster) != wantMaster {
			t.Errorf("%s: Detect = %v, %v", path, kind, err)
		}
	}
	if PlaylistMaster.String() != "master" || PlaylistMedia.String() != "media" || PlaylistUnknown.String() != "unknown" {
		t.Error("PlaylistKind.String")
	}
}

// checkErr fails unless err wraps want and contains frag; frag "" means
// no error expected.
func checkErr(t *testing.T, err, want error, frag string) {
	t.Helper()
	switch {
	case frag == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case frag == "":
	case err == nil:
		t.Errorf("no error, want %v containing %q", want, frag)
	case !errors.Is(err, want):
		t.Errorf("error %q does not wrap %v", err, want)
	case !strings.Contains(err.Error(), frag):
		t.Errorf("error %q does not contain %q", err, frag)
	}
}

func TestParseMediaErrors(t *testing.T) {
	const h = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
	tests := []struct {
		name, in, frag string
	}{
		{"empty", "", "segment: line 1: playlist must start with #EXTM3U"},
		{"not a playlist", "<html>\n", "line 1: playlist must start with #EXTM3U"},
		{"URI without EXTINF", h + "a.ts\n", `segment: line 3: segment URI "a.ts" without EXTINF`},
		{"URI after MAP only", h + "#EXT-X-MAP:URI=\"i.mp4\"\na.ts\n", `line 4: segment URI "a.ts" without EXTINF`},
		{"bad duration", "#EXTM3U\n#EXTINF:abc,\na.ts\n", `segment: line 2: EXTINF: bad duration "abc"`},
		{"negative duration", h + "#EXTINF:-1,\na.ts\n", `line 3: EXTINF: bad duration "-1"`},
		{"NaN duration", h + "#EXTINF:NaN,\na.ts\n", `bad duration "NaN"`},
		{"exponent duration", h + "#EXTINF:1e3,\na.ts\n", `bad duration "1e3"`},
		{"EXTINF without value", h + "#EXTINF\na.ts\n", "line 3: EXTINF: missing value"},
		{"EXTINF at end", h + "#EXTINF:2,\n", "line 3: EXTINF: no segment URI before end of playlist"},
		{"two EXTINF", h + "#EXTINF:2,\n#EXTINF:2,\na.ts\n", "line 4: EXTINF: more than one for the same segment"},
		{"two maps", h + "#EXT-X-MAP:URI=\"a\"\n#EXT-X-MAP:URI=\"b\"\n#EXTINF:1,\na.ts\n", "EXT-X-MAP: more than one"},
		{"two discontinuities", h + "#EXT-X-DISCONTINUITY\n#EXT-X-DISCONTINUITY\n", "EXT-X-DISCONTINUITY: more than one"},
		{"discontinuity value", h + "#EXT-X-DISCONTINUITY:1\n", `EXT-X-DISCONTINUITY: unexpected value "1"`},
		{"duplicate target", h + "#EXT-X-TARGETDURATION:2\n", "line 3: EXT-X-TARGETDURATION: more than one"},
		{"decimal target", "#EXTM3U\n#EXT-X-TARGETDURATION:2.5\n", `EXT-X-TARGETDURATION: bad integer "2.5"`},
		{"huge target", "#EXTM3U\n#EXT-X-TARGETDURATION:99999999999\n", "bad integer"},
		{"negative sequence", h + "#EXT-X-MEDIA-SEQUENCE:-1\n", `EXT-X-MEDIA-SEQUENCE: bad integer "-1"`},
		{"sequence overflow", h + "#EXT-X-MEDIA-SEQUENCE:18446744073709551616\n", "EXT-X-MEDIA-SEQUENCE: bad integer"},
		{"empty version", h + "#EXT-X-VERSION:\n", `EXT-X-VERSION: bad integer ""`},
		{"playlist type", h + "#EXT-X-PLAYLIST-TYPE:LIVE\n", `EXT-X-PLAYLIST-TYPE: bad type "LIVE"`},
		{"endlist value", h + "#EXT-X-ENDLIST:YES\n", `EXT-X-ENDLIST: unexpected value "YES"`},
		{"second EXTM3U", h + "#EXTM3U\n", "line 3: EXTM3U: more than one"},
		{"bad date", h + "#EXT-X-PROGRAM-DATE-TIME:yesterday\n", `EXT-X-PROGRAM-DATE-TIME: bad date-time "yesterday"`},
		{"February 30", h + "#EXT-X-PROGRAM-DATE-TIME:2026-02-30T00:00:00Z\n", "bad date-time"},
		{"date without zone", h + "#EXT-X-PROGRAM-DATE-TIME:2026-02-03T00:00:00\n", "bad date-time"},
		{"map without URI", h + "#EXT-X-MAP:BYTERANGE=\"1@0\"\n", "EXT-X-MAP: missing URI"},
		{"map unquoted", h + "#EXT-X-MAP:URI=init.mp4\n", "EXT-X-MAP: URI must be a quoted string"},
		{"map unknown attribute", h + "#EXT-X-MAP:URI=\"i\",FOO=1\n", "EXT-X-MAP: unknown attribute FOO"},
		{"map bad range", h + "#EXT-X-MAP:URI=\"i\",BYTERANGE=\"x\"\n", `EXT-X-MAP: bad BYTERANGE "x"`},
		{"bad byte range", h + "#EXT-X-BYTERANGE:10@\n", `EXT-X-BYTERANGE: bad byte range "10@"`},
		{"master tag", h + "#EXT-X-STREAM-INF:BANDWIDTH=1\n", "EXT-X-STREAM-INF: master playlist tag in a media playlist"},
		{"long line", h + "#EXTINF:1," + strings.Repeat("x", MaxLineLen) + "\n", "line 3: line longer than 65536 bytes"},
		{"too many segments", h + strings.Repeat("#EXTINF:1,\na.ts\n", MaxSegments+1), "more than 100000 segments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseMedia([]byte(tt.in))
			checkErr(t, err, ErrSyntax, tt.frag)
			if p != nil {
				t.Errorf("playlist returned with error")
			}
		})
	}
}

func TestParseMasterErrors(t *testing.T) {
	const h = "#EXTM3U\n"
	tests := []struct {
		name, in, frag string
	}{
		{"no header", "#EXT-X-STREAM-INF:BANDWIDTH=1\na\n", "line 1: playlist must start with #EXTM3U"},
		{"no bandwidth", h + "#EXT-X-STREAM-INF:CODECS=\"a\"\na\n", "segment: line 2: EXT-X-STREAM-INF: missing BANDWIDTH"},
		{"no attributes", h + "#EXT-X-STREAM-INF\na\n", "EXT-X-STREAM-INF: no attributes"},
		{"no URI at end", h + "#EXT-X-STREAM-INF:BANDWIDTH=1\n", "line 2: EXT-X-STREAM-INF: no URI before end of playlist"},
		{"two in a row", h + "#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\na\n", "line 3: EXT-X-STREAM-INF: previous EXT-X-STREAM-INF has no URI"},
		{"URI alone", h + "a.m3u8\n", `line 2: URI "a.m3u8" without EXT-X-STREAM-INF`},
		{"unterminated quote", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1\na\n", "attribute CODECS: unterminated quoted string"},
		{"duplicate attribute", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,BANDWIDTH=2\na\n", "duplicate attribute BANDWIDTH"},
		{"lower-case name", h + "#EXT-X-STREAM-INF:bandwidth=1\na\n", `bad attribute name "bandwidth"`},
		{"trailing comma", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,\na\n", "trailing ','"},
		{"empty value", h + "#EXT-X-STREAM-INF:BANDWIDTH=,CODECS=\"a\"\na\n", "attribute BANDWIDTH: empty value"},
		{"no value", h + "#EXT-X-STREAM-INF:BANDWIDTH\na\n", `attribute "BANDWIDTH" has no value`},
		{"space after comma", h + "#EXT-X-STREAM-INF:BANDWIDTH=1, CODECS=\"a\"\na\n", `bad attribute name " CODECS"`},
		{"text after quote", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a\"b\na\n", "want ',' after value"},
		{"bad bandwidth", h + "#EXT-X-STREAM-INF:BANDWIDTH=fast\na\n", `BANDWIDTH: bad integer "fast"`},
		{"bad resolution", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=640\na\n", `RESOLUTION: bad resolution "640"`},
		{"bad frame rate", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE=fast\na\n", `FRAME-RATE: bad number "fast"`},
		{"unquoted codecs", h + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=avc1\na\n", "CODECS: must be a quoted string"},
		{"quoted TYPE", h + "#EXT-X-MEDIA:TYPE=\"AUDIO\",GROUP-ID=\"a\",NAME=\"a\"\n", "TYPE: must not be quoted"},
		{"bad DEFAULT", h + "#EXT-X-MEDIA:TYPE=AUDIO,DEFAULT=MAYBE\n", `DEFAULT: want YES or NO, got "MAYBE"`},
		{"media tag", h + "#EXTINF:2,\na.ts\n", "line 2: EXTINF: media playlist tag in a master playlist"},
		{"duplicate version", h + "#EXT-X-VERSION:3\n#EXT-X-VERSION:3\n", "line 3: EXT-X-VERSION: more than one"},
		{"independent value", h + "#EXT-X-INDEPENDENT-SEGMENTS:1\n", "unexpected value"},
		{"too many variants", h + strings.Repeat("#EXT-X-STREAM-INF:BANDWIDTH=1\na\n", MaxVariants+1), "more than 10000 variants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseMaster([]byte(tt.in))
			checkErr(t, err, ErrSyntax, tt.frag)
			if p != nil {
				t.Errorf("playlist returned with error")
			}
		})
	}
}

func TestParseAttrs(t *testing.T) {
	got, err := parseAttrs(`BANDWIDTH=510400,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",X-EMPTY="",FRAME-RATE=29.970`)
	want := []Attr{{"BANDWIDTH", "510400"}, {"RESOLUTION", "426x240"}, {"CODECS", `"avc1.42c015,mp4a.40.2"`},
		{"X-EMPTY", `""`}, {"FRAME-RATE", "29.970"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseAttrs = %q, %v", got, err)
	}
}

func TestParseDateTime(t *testing.T) {
	want := time.Date(2026, 11, 23, 13, 40, 11, 123e6, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-23T13:40:11.123+0000", want, true},
		{"2026-11-23T13:40:11.123Z", want, true},
		{"2026-11-23T13:40:11.123+00:00", want, true},
		{"2026-11-23T14:40:11.123+0100", want, true},
		{"2026-11-23T08:10:11.123-05:30", want, true},
		{"2026-11-23T13:40:11.123000000001Z", want, true},
		{"2026-11-23T13:40:11Z", want.Truncate(time.Second), true},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"2026-02-29T00:00:00Z", time.Time{}, false},
		{"2026-11-23T13:40:11.Z", time.Time{}, false},
		{"2026-11-23T24:40:11Z", time.Time{}, false},
		{"2026-11-23T13:40:11+01", time.Time{}, false},
		{"2026-11-23 13:40:11Z", time.Time{}, false},
		{"2026-13-23T13:40:11Z", time.Time{}, false},
		{"2026-11-23T13:40:11+2400", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDateTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) || ok && got.Location() != time.UTC {
			t.Errorf("parseDateTime(%q) = %v, %t; want %v, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { parseDateTime("2026-11-23T13:40:11.123+00:00") }); n != 0 {
		t.Errorf("parseDateTime allocates %v times", n)
	}
}

func TestErrorIsSyntax(t *testing.T) {
	_, err := ParseMedia([]byte("#EXTM3U\n#EXTINF:abc,\na.ts\n"))
	if got, want := err.Error(), `segment: line 2: EXTINF: bad duration "abc"`; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if !errors.Is(err, ErrSyntax) || errors.Is(err, ErrInvalid) {
		t.Errorf("error %v matches the wrong sentinels", err)
	}
}
