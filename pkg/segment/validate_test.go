package segment

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// live builds a valid live playlist: n segments "segN.ts" of 2 s from
// media sequence seq, target duration 2.
func live(seq uint64, n int) *MediaPlaylist {
	p := &MediaPlaylist{Version: 3, TargetDuration: 2, MediaSequence: seq}
	for i := 0; i < n; i++ {
		p.Segments = append(p.Segments, MediaSegment{URI: fmt.Sprintf("seg%d.ts", seq+uint64(i)), Duration: 2, DurationRaw: "2.000"})
	}
	return p
}

// with applies edits to a playlist and returns it.
func with(p *MediaPlaylist, edits ...func(*MediaPlaylist)) *MediaPlaylist {
	for _, e := range edits {
		e(p)
	}
	return p
}

func TestMediaValidate(t *testing.T) {
	tests := []struct {
		name string
		p    *MediaPlaylist
		frag string // "" for valid
	}{
		{"valid", live(10, 3), ""},
		{"empty window", live(10, 0), ""},
		{"no target duration", with(live(10, 1), func(p *MediaPlaylist) { p.TargetDuration = 0 }), "EXT-X-TARGETDURATION 0, want 1 to 120"},
		{"rounds down to target", with(live(10, 2), func(p *MediaPlaylist) { p.Segments[1].Duration, p.Segments[1].DurationRaw = 2.49, "2.49" }), ""},
		{"rounds above target", with(live(10, 2), func(p *MediaPlaylist) { p.Segments[1].Duration, p.Segments[1].DurationRaw = 2.5, "2.5" }),
			"segment: invalid playlist: sequence 11 (seg11.ts): EXTINF 2.5 rounds above target duration 2"},
		{"NaN", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].Duration, p.Segments[0].DurationRaw = math.NaN(), "" }), "sequence 10 (seg10.ts): bad duration NaN"},
		{"negative", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].Duration, p.Segments[0].DurationRaw = -1, "" }), "bad duration -1"},
		{"infinite", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].Duration, p.Segments[0].DurationRaw = math.Inf(1), "" }), "bad duration +Inf"},
		{"raw mismatch", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].Duration = 1 }), `DurationRaw "2.000" does not match Duration 1`},
		{"empty URI", with(live(10, 2), func(p *MediaPlaylist) { p.Segments[1].URI = "" }), `sequence 11: bad URI ""`},
		{"URI line break", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].URI = "a\n#EXT-X-ENDLIST" }), "sequence 10: bad URI"},
		{"title line break", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].Title = "a\r" }), "line break in title"},
		{"version for decimals", with(live(10, 1), func(p *MediaPlaylist) { p.Version = 2 }), "EXT-X-VERSION 2 too low for decimal EXTINF durations (needs 3)"},
		{"integer durations need no version", with(live(10, 1), func(p *MediaPlaylist) { p.Version, p.Segments[0].DurationRaw = 0, "2" }), ""},
		{"computed decimal", with(live(10, 1), func(p *MediaPlaylist) { p.Version, p.Segments[0].Duration, p.Segments[0].DurationRaw = 0, 1.5, "" }), "EXT-X-VERSION 1 too low for decimal"},
		{"version for map", with(live(10, 1), func(p *MediaPlaylist) { p.Version, p.Segments[0].Map = 5, &Map{URI: "init.mp4"} }), "EXT-X-VERSION 5 too low for EXT-X-MAP (needs 6)"},
		{"map in I-frame playlist", with(live(10, 1), func(p *MediaPlaylist) {
			p.Version, p.Segments[0].Map, p.Tags = 5, &Map{URI: "init.mp4"}, []Tag{{Name: "#EXT-X-I-FRAMES-ONLY"}}
		}), ""},
		{"map without URI", with(live(10, 1), func(p *MediaPlaylist) { p.Version, p.Segments[0].Map = 6, &Map{} }), "bad EXT-X-MAP"},
		{"version for byte range", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].ByteRange = "100@0" }), "EXT-X-VERSION 3 too low for EXT-X-BYTERANGE (needs 4)"},
		{"byte range without offset first", with(live(10, 1), func(p *MediaPlaylist) { p.Version, p.Segments[0].ByteRange = 4, "100" }), "byte range without offset"},
		{"bad byte range", with(live(10, 1), func(p *MediaPlaylist) { p.Version, p.Segments[0].ByteRange = 4, "x@1" }), `bad byte range "x@1"`},
		{"date raw mismatch", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].ProgramDateTimeRaw = "2026-01-01T00:00:00Z" }), "ProgramDateTimeRaw"},
		{"playlist type", with(live(10, 1), func(p *MediaPlaylist) { p.PlaylistType = "LIVE" }), `EXT-X-PLAYLIST-TYPE "LIVE"`},
		{"modelled tag in Tags", with(live(10, 1), func(p *MediaPlaylist) { p.Tags = []Tag{{Name: "#EXT-X-ENDLIST"}} }), "header: #EXT-X-ENDLIST belongs in a typed field"},
		{"bad tag name", with(live(10, 1), func(p *MediaPlaylist) { p.Segments[0].Tags = []Tag{{Name: "EXT-X-GAP"}} }), `sequence 10 (seg10.ts): bad tag name "EXT-X-GAP"`},
		{"tag line break", with(live(10, 1), func(p *MediaPlaylist) { p.TrailingTags = []Tag{tag("#EXT-X-PART", "a\nb")} }), "trailing: #EXT-X-PART: line break in value"},
		{"sequence overflow", with(live(10, 2), func(p *MediaPlaylist) { p.MediaSequence = math.MaxUint64 }), "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.p.Validate(), ErrInvalid, tt.frag)
		})
	}
}

func TestMediaValidateReportsAll(t *testing.T) {
	p := with(live(10, 3), func(p *MediaPlaylist) {
		p.TargetDuration = 0
		p.Segments[0].URI = ""
		p.Segments[2].Duration, p.Segments[2].DurationRaw = -1, ""
	})
	err := p.Validate()
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("%d problems, want 3: %v", n, err)
	}
	many := live(0, 100)
	for i := range many.Segments {
		many.Segments[i].URI = ""
	}
	err = many.Validate()
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != maxProblems+1 || !strings.Contains(err.Error(), "80 more problems") {
		t.Errorf("%d problems: %v", n, err)
	}
}

func TestMasterValidate(t *testing.T) {
	base := func() *MasterPlaylist {
		return &MasterPlaylist{
			Media: []Rendition{
				{Type: "AUDIO", GroupID: "aud", Name: "en", URI: "a.m3u8"},
				{Type: "CLOSED-CAPTIONS", GroupID: "cc", Name: "CC1"},
			},
			Variants: []Variant{{URI: "v.m3u8", Bandwidth: 1000, Audio: "aud", ClosedCaptions: "cc"}},
		}
	}
	edit := func(f func(p *MasterPlaylist)) *MasterPlaylist { p := base(); f(p); return p }
	tests := []struct {
		name string
		p    *MasterPlaylist
		frag string
	}{
		{"valid", base(), ""},
		{"no variants", &MasterPlaylist{}, "no variants"},
		{"zero bandwidth", edit(func(p *MasterPlaylist) { p.Variants[0].Bandwidth = 0 }), "variant 0 (v.m3u8): BANDWIDTH 0"},
		{"empty URI", edit(func(p *MasterPlaylist) { p.Variants[0].URI = "" }), `variant 0: bad URI ""`},
		{"missing audio group", edit(func(p *MasterPlaylist) { p.Variants[0].Audio = "other" }), `variant 0 (v.m3u8): AUDIO group "other" has no EXT-X-MEDIA`},
		{"group of wrong type", edit(func(p *MasterPlaylist) { p.Variants[0].Video = "aud" }), `VIDEO group "aud" has no EXT-X-MEDIA`},
		{"missing subtitles", edit(func(p *MasterPlaylist) { p.Variants[0].Subtitles = "subs" }), `SUBTITLES group "subs"`},
		{"missing captions", edit(func(p *MasterPlaylist) { p.Variants[0].ClosedCaptions = "cc2" }), `CLOSED-CAPTIONS group "cc2"`},
		{"captions NONE", edit(func(p *MasterPlaylist) { p.Variants[0].ClosedCaptions = "NONE" }), ""},
		{"no TYPE", edit(func(p *MasterPlaylist) { p.Media[0].Type = "" }), `EXT-X-MEDIA 0 ("en"): bad TYPE ""`},
		{"no NAME", edit(func(p *MasterPlaylist) { p.Media[0].Name = "" }), "EXT-X-MEDIA 0: missing GROUP-ID or NAME"},
		{"no GROUP-ID", edit(func(p *MasterPlaylist) { p.Media[1].GroupID = "" }), "EXT-X-MEDIA 1: missing GROUP-ID or NAME"},
		{"subtitles without URI", edit(func(p *MasterPlaylist) {
			p.Media = append(p.Media, Rendition{Type: "SUBTITLES", GroupID: "s", Name: "en"})
		}), "SUBTITLES needs a URI"},
		{"captions with URI", edit(func(p *MasterPlaylist) { p.Media[1].URI = "cc.m3u8" }), "CLOSED-CAPTIONS must not have a URI"},
		{"duplicate name", edit(func(p *MasterPlaylist) { p.Media = append(p.Media, p.Media[0]) }), `NAME "en" used twice in AUDIO group "aud"`},
		{"quote in codecs", edit(func(p *MasterPlaylist) { p.Variants[0].Codecs = `a"b` }), "bad quoted string"},
		{"attrs disagree", edit(func(p *MasterPlaylist) {
			p.Media[0].Attrs = []Attr{{"TYPE", "AUDIO"}, {"GROUP-ID", `"aud"`}, {"NAME", `"de"`}, {"URI", `"a.m3u8"`}}
		}), `EXT-X-MEDIA 0 ("en"): typed fields disagree with Attrs`},
		{"bad attrs", edit(func(p *MasterPlaylist) { p.Variants[0].Attrs = []Attr{{"BANDWIDTH", "1,2"}} }), "attribute BANDWIDTH"},
		{"modelled tag", edit(func(p *MasterPlaylist) { p.Tags = []Tag{tag("#EXT-X-STREAM-INF", "BANDWIDTH=1")} }), "belongs in a typed field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.p.Validate(), ErrInvalid, tt.frag)
		})
	}
}

func TestCheckNext(t *testing.T) {
	disc := func(i int) func(*MediaPlaylist) { return func(p *MediaPlaylist) { p.Segments[i].Discontinuity = true } }
	ds := func(n uint64) func(*MediaPlaylist) { return func(p *MediaPlaylist) { p.DiscontinuitySequence = n } }
	ended := func(p *MediaPlaylist) { p.EndList = true }
	event := func(p *MediaPlaylist) { p.PlaylistType = "EVENT" }
	mapAt := func(i int, uri string) func(*MediaPlaylist) {
		return func(p *MediaPlaylist) { p.Version, p.Segments[i].Map = 7, &Map{URI: uri} }
	}
	tests := []struct {
		name       string
		prev, next *MediaPlaylist
		want       error
		frag       string
	}{
		{"first playlist", nil, live(0, 1), nil, ""},
		{"first playlist invalid", nil, with(live(0, 1), func(p *MediaPlaylist) { p.TargetDuration = 0 }), ErrInvalid, "TARGETDURATION"},
		{"no next", live(0, 1), nil, ErrInvalid, "no playlist"},
		{"same again", live(10, 4), live(10, 4), nil, ""},
		{"append", live(10, 4), live(10, 5), nil, ""},
		{"slide", live(10, 4), live(11, 4), nil, ""},
		{"slide two", live(10, 4), live(12, 4), nil, ""},
		{"contiguous", live(10, 4), live(14, 4), nil, ""},
		{"jump with no overlap", live(10, 4), live(100, 4), nil, ""},
		{"empty to first", live(10, 0), live(10, 1), nil, ""},
		{"regress", live(10, 4), live(9, 5), ErrSequenceRegressed, "segment: media sequence regressed: media sequence 9, was 10"},
		{"restart", live(10, 4), live(0, 4), ErrSequenceRegressed, "media sequence 0, was 10"},
		{"target change", live(10, 4), with(live(11, 4), func(p *MediaPlaylist) { p.TargetDuration = 4 }), ErrTargetDurationChanged, "4 s, was 2 s"},
		{"URI changed", live(10, 4), with(live(11, 4), func(p *MediaPlaylist) { p.Segments[1].URI = "other.ts" }),
			ErrInconsistent, `sequence 12: URI "other.ts", was "seg12.ts"`},
		{"duration changed", live(10, 4), with(live(11, 4), func(p *MediaPlaylist) { p.Segments[0].Duration, p.Segments[0].DurationRaw = 1.5, "" }),
			ErrInconsistent, "sequence 11 (seg11.ts): duration 1.5, was 2"},
		{"removed from end", live(10, 4), live(10, 3), ErrInconsistent, "sequence 13 (seg13.ts) removed from the end"},
		{"discontinuity added in overlap", live(10, 4), with(live(11, 4), disc(1)), ErrInconsistent, "sequence 12 (seg12.ts): discontinuity true, was false"},
		{"discontinuity left, counted", with(live(10, 4), disc(0)), with(live(11, 4), ds(1)), nil, ""},
		{"discontinuity left, not counted", with(live(10, 4), disc(0)), live(11, 4), ErrInconsistent,
			"discontinuity sequence 0 at sequence 11, want 1 (0 + 1 discontinuities that left the window)"},
		{"discontinuity kept, not counted", with(live(10, 4), disc(1)), with(live(11, 4), disc(0)), nil, ""},
		{"discontinuity kept, counted early", with(live(10, 4), disc(1)), with(live(11, 4), disc(0), ds(1)), ErrInconsistent, "want 0"},
		{"two left", with(live(10, 4), disc(0), disc(1), ds(5)), with(live(12, 4), ds(7)), nil, ""},
		{"counted for a new one", with(live(10, 4), ds(5)), with(live(11, 4), disc(3), ds(6)), ErrInconsistent, "discontinuity sequence 6 at sequence 11, want 5"},
		{"contiguous counts all", with(live(10, 2), disc(0), disc(1)), with(live(12, 2), ds(2)), nil, ""},
		{"jump may skip discontinuities", with(live(10, 2), disc(1)), with(live(20, 2), ds(4)), nil, ""},
		{"jump loses count", with(live(10, 2), disc(1), ds(3)), with(live(20, 2), ds(3)), ErrInconsistent, "want at least 4"},
		{"init changed", with(live(10, 4), mapAt(0, "init_0.mp4")), with(live(11, 4), mapAt(0, "init_1.mp4")),
			ErrInconsistent, "sequence 11 (seg11.ts): init segment init_1.mp4, was init_0.mp4"},
		{"init dropped", with(live(10, 4), mapAt(0, "init_0.mp4")), with(live(11, 4), func(p *MediaPlaylist) { p.Version = 7 }),
			ErrInconsistent, "init segment (none), was init_0.mp4"},
		{"init repeated", with(live(10, 4), mapAt(0, "init_0.mp4")), with(live(11, 4), mapAt(0, "init_0.mp4")), nil, ""},
		{"ended, same again", with(live(10, 4), ended), with(live(10, 4), ended), nil, ""},
		{"ended, reopened", with(live(10, 4), ended), live(10, 5), ErrInconsistent, "playlist ended at sequence 14; the next one reopens it"},
		{"ended, grown", with(live(10, 4), ended), with(live(10, 5), ended), ErrInconsistent, "playlist ended; next lists sequences 10-15, was 10-14"},
		{"ended, changed", with(live(10, 4), ended), with(live(10, 4), ended, func(p *MediaPlaylist) { p.Segments[2].URI = "x.ts" }),
			ErrInconsistent, "playlist ended; sequence 12 (seg12.ts) changed"},
		{"type changed", with(live(10, 4), event), live(10, 5), ErrInconsistent, `playlist type "", was "EVENT"`},
		{"event removes", with(live(10, 4), event), with(live(11, 4), event), ErrInconsistent, "EVENT playlist removed segments"},
		{"event appends", with(live(10, 4), event), with(live(10, 5), event), nil, ""},
		{"invalid next", live(10, 4), with(live(11, 4), func(p *MediaPlaylist) { p.Segments[3].URI = "" }), ErrInvalid, "sequence 14: bad URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckNext(tt.prev, tt.next), tt.want, tt.frag)
		})
	}
}

// TestCheckNextFFmpeg replays the playlists ffmpeg wrote during a live
// run: every later playlist may replace an earlier one, never the reverse.
func TestCheckNextFFmpeg(t *testing.T) {
	for _, dir := range []string{"ts-live", "fmp4-live"} {
		t.Run(dir, func(t *testing.T) {
			paths, _ := filepath.Glob(filepath.Join("testdata/ffmpeg", dir, "[0-9]*.m3u8"))
			if len(paths) < 5 {
				t.Fatalf("only %d playlists", len(paths))
			}
			var ps []*MediaPlaylist
			for _, path := range paths {
				ps = append(ps, mustParseMedia(t, path))
			}
			if err := CheckNext(nil, ps[0]); err != nil {
				t.Errorf("first: %v", err)
			}
			for i := range ps {
				for j := i; j < len(ps); j++ {
					if err := CheckNext(ps[i], ps[j]); err != nil {
						t.Errorf("%s -> %s: %v", paths[i], paths[j], err)
					}
					if j > i {
						err := CheckNext(ps[j], ps[i])
						if !errors.Is(err, ErrSequenceRegressed) && !errors.Is(err, ErrInconsistent) {
							t.Errorf("%s -> %s: %v, want regression", paths[j], paths[i], err)
						}
					}
				}
			}
		})
	}
}

// TestTargetDurationBounded: a target duration past MaxTargetDuration is
// refused (it sets every cache's freshness of the playlist).
func TestTargetDurationBounded(t *testing.T) {
	for _, td := range []int{1073741823, 121} {
		pl := fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:%d\n#EXTINF:2,\na.ts\n", td)
		p, err := ParseMedia([]byte(pl))
		if err == nil {
			err = p.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "TARGETDURATION") {
			t.Fatalf("target duration %d: %v", td, err)
		}
	}
	p, err := ParseMedia([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:120\n#EXTINF:2,\na.ts\n"))
	if err != nil || p.Validate() != nil {
		t.Fatalf("120 s: %v %v", err, p.Validate())
	}
}
