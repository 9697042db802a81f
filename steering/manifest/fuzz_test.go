package manifest

import (
	"encoding/xml"
	"os"
	"testing"
)

// FuzzSteerMPD: SteerMPD never panics, and what it returns for a document
// encoding/xml accepts is still well-formed.
func FuzzSteerMPD(f *testing.F) {
	if b, err := os.ReadFile("testdata/ffmpeg-live.mpd"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("<MPD>\n <BaseURL>x/</BaseURL>\n <ContentSteering>y</ContentSteering>\n <Period/>\n</MPD>"))
	f.Add([]byte("<MPD/>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := SteerMPD(in, "/steer?a=1&b=2", "mesh", pathways)
		if err != nil {
			return
		}
		var v struct{}
		if xml.Unmarshal(in, &v) == nil {
			if err := xml.Unmarshal(out, &v); err != nil {
				t.Fatalf("well-formed input, malformed output: %v\nin:  %q\nout: %q", err, in, out)
			}
		}
	})
}
