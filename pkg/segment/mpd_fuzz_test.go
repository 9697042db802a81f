package segment

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

func FuzzParseMPD(f *testing.F) {
	for _, path := range mpdFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "<MPD/>", validMPD, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet><Representation id="a" bandwidth="1"><SegmentTemplate media="$Number$.m4s" timescale="1"><SegmentTimeline><S t="0" d="1" r="-1"/><S t="5" d="2"/></SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`,
		`<MPD xmlns:x="urn:x"><x:a x:b="1"><BaseURL>../</BaseURL></x:a><BaseURL availabilityTimeOffset="INF"> a/ </BaseURL></MPD>`,
		`<MPD><Period xmlns="urn:other"><AdaptationSet/></Period></MPD>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMPD(data)
		if err != nil {
			return
		}
		valid := m.Validate() == nil
		out := m.AppendTo(nil)
		back, err := ParseMPD(out)
		if err != nil {
			t.Fatalf("re-parse: %v\ninput:\n%q\nrendered:\n%q", err, data, out)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("re-parse differs (valid %t)\nfirst:  %+v\nsecond: %+v\nrendered:\n%q", valid, m, back, out)
		}
		if again := back.AppendTo(nil); !bytes.Equal(out, again) {
			t.Fatalf("second render differs\n%q\n%q", out, again)
		}
		if valid != (back.Validate() == nil) {
			t.Fatalf("Validate changed its mind after a round trip\n%q", out)
		}
		for _, tr := range m.Tracks() {
			_, _ = tr.MediaURL(1, 0)
			_, _ = tr.InitURL()
			_, _ = tr.AvailabilityTime(1)
			n := 0
			for range tr.Segments() {
				if n++; n > 1000 {
					break
				}
			}
		}
		if files, err := m.Files("ev"); err == nil {
			for _, f := range files {
				_, _, _ = f.Match("ev/chunk-stream0-00001.m4s")
			}
		} else if valid {
			t.Fatalf("valid MPD without Files: %v", err)
		}
	})
}
