package segment

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// addSeeds adds every testdata playlist and a few broken ones to the corpus.
func addSeeds(f *testing.F) {
	for _, path := range playlistFiles(f, "") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "#EXTM3U", "#EXTM3U\n#EXTINF:1,\n", "#EXTM3U\na\n", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n",
		"#EXTM3U\r\n#EXT-X-MAP:URI=\"\"\r\n", "\xef\xbb\xbf#EXTM3U\n#EXT-X-PART:X\n",
	} {
		f.Add([]byte(s))
	}
}

func FuzzParseMedia(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Detect(data)
		p, err := ParseMedia(data)
		if err != nil {
			return
		}
		out := p.AppendTo(nil)
		q, err := ParseMedia(out)
		if err != nil {
			t.Fatalf("re-parse: %v\ninput:\n%q\nrendered:\n%q", err, data, out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("re-parse differs\nfirst:  %+v\nsecond: %+v\nrendered:\n%q", p, q, out)
		}
		if out2 := q.AppendTo(nil); !bytes.Equal(out, out2) {
			t.Fatalf("second render differs\n%q\n%q", out, out2)
		}
		if p.Validate() == nil {
			if err := CheckNext(p, q); err != nil {
				t.Fatalf("valid playlist cannot replace itself: %v", err)
			}
		}
		_ = CheckNext(live(0, 3), p)
		_ = CheckNext(p, live(p.MediaSequence+1, 3))
	})
}

func FuzzParseMaster(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseMaster(data)
		if err != nil {
			return
		}
		out := p.AppendTo(nil)
		q, err := ParseMaster(out)
		if err != nil {
			t.Fatalf("re-parse: %v\ninput:\n%q\nrendered:\n%q", err, data, out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("re-parse differs\nfirst:  %+v\nsecond: %+v\nrendered:\n%q", p, q, out)
		}
		if out2 := q.AppendTo(nil); !bytes.Equal(out, out2) {
			t.Fatalf("second render differs\n%q\n%q", out, out2)
		}
		_ = p.Validate()
		for i := range p.Variants {
			v := p.Variants[i]
			if err := v.SetAttr("PATHWAY-ID", `"p"`); err != nil {
				t.Fatalf("SetAttr on parsed variant: %v", err)
			}
		}
	})
}
