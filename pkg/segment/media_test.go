package segment

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func mustParseMedia(t testing.TB, path string) *MediaPlaylist {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseMedia(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func tag(name, value string) Tag { return Tag{Name: name, Value: value, HasValue: true} }

func TestParseMediaFeatures(t *testing.T) {
	p := mustParseMedia(t, "testdata/handwritten/media-features.m3u8")
	utc := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	want := &MediaPlaylist{
		Version: 7, TargetDuration: 6, MediaSequence: 100, DiscontinuitySequence: 3,
		PlaylistType: "EVENT", EndList: true,
		Segments: []MediaSegment{
			{URI: "main.mp4", Duration: 6, DurationRaw: "6", Title: "first title",
				ProgramDateTime: utc("2026-11-23T13:40:00Z"), ProgramDateTimeRaw: "2026-11-23T13:40:00Z",
				Map: &Map{URI: "main.mp4", ByteRange: "720@0"}, ByteRange: "10000@720"},
			{URI: "main.mp4", Duration: 5.5, DurationRaw: "5.5", Title: "title, with comma",
				ProgramDateTime: utc("2026-11-23T13:40:06Z"), ProgramDateTimeRaw: "2026-11-23T13:40:06.000+00:00",
				ByteRange: "12000"},
			{URI: "ad0.m4s", Duration: 6, DurationRaw: "6.000", Discontinuity: true,
				ProgramDateTime: utc("2026-11-23T13:40:11.5Z"), ProgramDateTimeRaw: "2026-11-23T14:40:11.500+0100",
				Map:  &Map{URI: "ad.mp4"},
				Tags: []Tag{tag("#EXT-X-DATERANGE", `ID="ad-1",START-DATE="2026-11-23T13:40:11.500Z",DURATION=6.0`)}},
			{URI: "ad1.m4s", Duration: 6, DurationRaw: "6.000", Tags: []Tag{{Name: "#EXT-X-GAP"}}},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseMediaFFmpeg(t *testing.T) {
	p := mustParseMedia(t, "testdata/ffmpeg/fmp4-live/07.m3u8")
	if p.Version != 7 || p.TargetDuration != 1 || p.MediaSequence != 3 || !p.IndependentSegments || p.EndList {
		t.Errorf("header: %+v", p)
	}
	if len(p.Segments) != 4 || p.Segments[0].URI != "index3.m4s" || p.Segments[0].Map == nil ||
		p.Segments[0].Map.URI != "init_0.mp4" || p.Segments[1].Map != nil {
		t.Fatalf("segments: %+v", p.Segments)
	}
	s := p.Segments[0]
	if s.Duration != 1 || s.DurationRaw != "1.000000" || s.ProgramDateTime.IsZero() || s.ProgramDateTime.Location() != time.UTC {
		t.Errorf("segment: %+v", s)
	}
	d := p.Segments[1].ProgramDateTime.Sub(s.ProgramDateTime)
	if d != time.Second {
		t.Errorf("program date-time step %v, want 1s", d)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseMediaTagPlacement(t *testing.T) {
	tests := []struct {
		path            string
		header          []Tag
		segTags         map[int][]Tag
		trailing        []Tag
		segments        int
		firstMapSegment int
	}{
		{
			path: "testdata/handwritten/llhls.m3u8",
			header: []Tag{tag("#EXT-X-SERVER-CONTROL", "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0"),
				tag("#EXT-X-PART-INF", "PART-TARGET=0.33334")},
			segTags: map[int][]Tag{4: {
				tag("#EXT-X-PART", `DURATION=0.33334,URI="filePart270.0.mp4",INDEPENDENT=YES`),
				tag("#EXT-X-PART", `DURATION=0.33334,URI="filePart270.1.mp4"`),
				tag("#EXT-X-PART", `DURATION=0.33334,URI="filePart270.2.mp4"`)}},
			trailing: []Tag{
				tag("#EXT-X-PART", `DURATION=0.33334,URI="filePart271.0.mp4",INDEPENDENT=YES`),
				tag("#EXT-X-PART", `DURATION=0.33334,URI="filePart271.1.mp4"`),
				tag("#EXT-X-PRELOAD-HINT", `TYPE=PART,URI="filePart271.2.mp4"`),
				tag("#EXT-X-RENDITION-REPORT", `URI="../1M/waitForMSN.php",LAST-MSN=271,LAST-PART=1`)},
			segments: 5,
		},
		{
			path: "testdata/handwritten/llhls-startup.m3u8",
			header: []Tag{tag("#EXT-X-SERVER-CONTROL", "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5"),
				tag("#EXT-X-PART-INF", "PART-TARGET=0.5")},
			trailing: []Tag{
				tag("#EXT-X-MAP", `URI="init.mp4"`),
				tag("#EXT-X-PROGRAM-DATE-TIME", "2026-11-23T13:40:00.000+00:00"),
				tag("#EXT-X-PART", `DURATION=0.5,URI="part0.0.m4s",INDEPENDENT=YES`),
				tag("#EXT-X-PART", `DURATION=0.5,URI="part0.1.m4s"`),
				tag("#EXT-X-PRELOAD-HINT", `TYPE=PART,URI="part0.2.m4s"`)},
		},
		{
			path:     "testdata/handwritten/lhls-prefetch.m3u8",
			trailing: []Tag{tag("#EXT-X-PREFETCH", "chunk-stream0-00012.m4s"), tag("#EXT-X-PREFETCH", "chunk-stream0-00013.m4s")},
			segments: 2,
		},
		{
			path:     "testdata/rfc/media-encrypted.m3u8",
			segTags:  map[int][]Tag{0: {tag("#EXT-X-KEY", `METHOD=AES-128,URI="https://priv.example.com/key.php?r=52"`)}, 3: {tag("#EXT-X-KEY", `METHOD=AES-128,URI="https://priv.example.com/key.php?r=53"`)}},
			segments: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := mustParseMedia(t, tt.path)
			if !reflect.DeepEqual(p.Tags, tt.header) {
				t.Errorf("Tags = %+v, want %+v", p.Tags, tt.header)
			}
			if !reflect.DeepEqual(p.TrailingTags, tt.trailing) {
				t.Errorf("TrailingTags = %+v, want %+v", p.TrailingTags, tt.trailing)
			}
			if len(p.Segments) != tt.segments {
				t.Fatalf("%d segments, want %d", len(p.Segments), tt.segments)
			}
			for i, s := range p.Segments {
				if !reflect.DeepEqual(s.Tags, tt.segTags[i]) {
					t.Errorf("segment %d Tags = %+v, want %+v", i, s.Tags, tt.segTags[i])
				}
			}
			if err := p.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestMediaPlaylistMethods(t *testing.T) {
	m1, m2 := &Map{URI: "a.mp4"}, &Map{URI: "b.mp4"}
	p := &MediaPlaylist{MediaSequence: 40, Segments: []MediaSegment{
		{URI: "40.m4s", Duration: 2, Map: m1}, {URI: "41.m4s", Duration: 1.5},
		{URI: "42.m4s", Duration: 2, Map: m2}, {URI: "43.m4s", Duration: 0.25},
	}}
	if got := p.SequenceOf(2); got != 42 {
		t.Errorf("SequenceOf(2) = %d", got)
	}
	if last, ok := p.LastSequence(); !ok || last != 43 {
		t.Errorf("LastSequence = %d, %t", last, ok)
	}
	if got := p.Duration(); got != 5.75 {
		t.Errorf("Duration = %v", got)
	}
	for i, want := range []*Map{m1, m1, m2, m2} {
		if got := p.MapFor(i); got != want {
			t.Errorf("MapFor(%d) = %v, want %v", i, got, want)
		}
	}
	for _, i := range []int{-1, 4} {
		if got := p.MapFor(i); got != nil {
			t.Errorf("MapFor(%d) = %v, want nil", i, got)
		}
	}
	empty := &MediaPlaylist{MediaSequence: 7}
	if _, ok := empty.LastSequence(); ok {
		t.Error("LastSequence of an empty playlist is ok")
	}
	if empty.MapFor(0) != nil || empty.Duration() != 0 {
		t.Error("empty playlist has a map or a duration")
	}
}
