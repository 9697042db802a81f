package segment

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// playlistFiles returns every .m3u8 file under testdata/dir ("" for all).
func playlistFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join("testdata", dir), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".m3u8") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no playlists under testdata/%s: %v", dir, err)
	}
	return files
}

// parseAny parses a playlist of either kind and returns it with its
// rendering.
func parseAny(data []byte) (any, []byte, error) {
	kind, err := Detect(data)
	if err != nil {
		return nil, nil, err
	}
	if kind == PlaylistMaster {
		p, err := ParseMaster(data)
		if err != nil {
			return nil, nil, err
		}
		return p, p.AppendTo(nil), nil
	}
	p, err := ParseMedia(data)
	if err != nil {
		return nil, nil, err
	}
	return p, p.AppendTo(nil), nil
}

// withoutBlankLines drops the blank lines ffmpeg writes in master playlists.
func withoutBlankLines(b []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line...)
		}
	}
	return out
}

func TestRenderFFmpegByteExact(t *testing.T) {
	for _, path := range playlistFiles(t, "ffmpeg") {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, out, err := parseAny(data)
			if err != nil {
				t.Fatal(err)
			}
			if want := withoutBlankLines(data); !bytes.Equal(out, want) {
				t.Errorf("render differs\n got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestRenderRoundTrip(t *testing.T) {
	for _, path := range playlistFiles(t, "") {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, out, err := parseAny(data)
			if err != nil {
				t.Fatal(err)
			}
			second, out2, err := parseAny(out)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("re-parse differs\nfirst:  %+v\nsecond: %+v", first, second)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("second render differs\n%s\n%s", out, out2)
			}
		})
	}
}

func TestRenderKeepsUnknownTags(t *testing.T) {
	for _, path := range playlistFiles(t, "") {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, out, err := parseAny(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n") {
			line = strings.TrimPrefix(line, bom)
			if strings.HasPrefix(line, "#EXT") && !bytes.Contains(out, []byte(line+"\n")) {
				t.Errorf("%s: tag line %q lost in render", path, line)
			}
		}
	}
}

func TestRenderMediaByHand(t *testing.T) {
	pdt := time.Date(2026, 11, 23, 13, 40, 11, 123e6, time.UTC)
	p := &MediaPlaylist{
		Version: 7, TargetDuration: 2, MediaSequence: 5, DiscontinuitySequence: 1,
		Segments: []MediaSegment{
			{URI: "a.m4s", Duration: 2, Map: &Map{URI: "init.mp4", ByteRange: "10@0"}, ProgramDateTime: pdt},
			{URI: "b.m4s", Duration: 1.5, Discontinuity: true, Title: "t", ByteRange: "5@10",
				Tags: []Tag{{Name: "#EXT-X-GAP"}}},
		},
		TrailingTags: []Tag{{Name: "#EXT-X-PRELOAD-HINT", Value: `TYPE=PART,URI="c.0.m4s"`, HasValue: true}},
		EndList:      true,
	}
	want := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-MAP:URI="init.mp4",BYTERANGE="10@0"
#EXTINF:2,
#EXT-X-PROGRAM-DATE-TIME:2026-11-23T13:40:11.123Z
a.m4s
#EXT-X-GAP
#EXT-X-DISCONTINUITY
#EXTINF:1.5,t
#EXT-X-BYTERANGE:5@10
b.m4s
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="c.0.m4s"
#EXT-X-ENDLIST
`
	if got := string(p.AppendTo(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestRenderMasterByHand(t *testing.T) {
	p := &MasterPlaylist{
		Version: 7,
		Media:   []Rendition{{Type: "AUDIO", GroupID: "aud", Name: "English", Language: "en", Default: true, URI: "a.m3u8"}},
		Variants: []Variant{{URI: "0/index.m3u8", Bandwidth: 1000, Width: 640, Height: 360, FrameRate: 30,
			Codecs: "avc1.64001e,mp4a.40.2", Audio: "aud"}},
	}
	want := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,URI="a.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=640x360,FRAME-RATE=30.000,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"
0/index.m3u8
`
	if got := string(p.AppendTo(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	q, err := ParseMaster([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Validate(); err != nil {
		t.Errorf("Validate after parse: %v", err)
	}
}

func TestAppendToReusesBuffer(t *testing.T) {
	data, err := os.ReadFile("testdata/ffmpeg/fmp4-live/05.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseMedia(data)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() { buf = p.AppendTo(buf[:0]) })
	if allocs != 0 {
		t.Errorf("AppendTo allocates %v times per call", allocs)
	}
	if !bytes.Equal(buf, data) {
		t.Errorf("render differs")
	}
}

func TestRenderTagValues(t *testing.T) {
	in := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-FOO\n#EXT-X-FOO:\n#EXT-X-BAR:a:b,c\n" +
		"#EXTINF:2,\na.ts\n#EXT-X-BAZ\n#EXT-X-BAZ:\n"
	p, err := ParseMedia([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Tag{{Name: "#EXT-X-FOO"}, {Name: "#EXT-X-FOO", HasValue: true}, tag("#EXT-X-BAR", "a:b,c")}
	if !reflect.DeepEqual(p.Tags, want) {
		t.Errorf("Tags = %+v", p.Tags)
	}
	if got := string(p.AppendTo(nil)); got != in {
		t.Errorf("got\n%s\nwant\n%s", got, in)
	}
}
