package manifest

import (
	"encoding/xml"
	"net/url"
	"os"
	"testing"

	"github.com/ringside-live/ringside/steering"
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

// FuzzParseQuery: a steering request's query (outside input) never
// panics the parsers, and what they accept is a valid pathway id (or
// none) and a throughput that is not negative.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`_HLS_pathway="cdn-a"&_HLS_throughput=5140000`,
		`_HLS_pathway=mesh&_HLS_throughput=123.9`,
		`_DASH_pathway=%22cdn-a,mesh%22&_DASH_throughput=5140000,800000`,
		`_DASH_pathway=mesh&_DASH_throughput=`,
		`_DASH_pathway=%22%22&_HLS_throughput=-1&session=abc`,
		`%zz&;;=&_DASH_pathway=,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // what the node does: a bad pair is skipped
		for _, parse := range []func(url.Values) (Params, error){ParseHLSQuery, ParseDASHQuery} {
			p, err := parse(q)
			if err != nil {
				if p != (Params{}) {
					t.Fatalf("error %v with params %+v", err, p)
				}
				continue
			}
			if p.Pathway != "" && !steering.ValidPathwayID(p.Pathway) {
				t.Fatalf("accepted pathway %q from %q", p.Pathway, raw)
			}
			if p.Throughput < 0 {
				t.Fatalf("negative throughput from %q", raw)
			}
		}
	})
}
