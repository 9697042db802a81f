package segment

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// dvrMPD writes a live MPD with a SegmentTimeline of n 2-s segments of
// unequal duration (no S@r) per Representation, 3 Representations: the
// size of a 30-minute DVR window at n = 900.
func dvrMPD(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="2026-11-23T14:17:03.404Z" publishTime="2026-11-23T14:47:03.404Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT1800S" maxSegmentDuration="PT2.1S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
 <Period id="0" start="PT0S">
`)
	for rep := range 3 {
		fmt.Fprintf(&b, `  <AdaptationSet id="%d" contentType="video" segmentAlignment="true">
   <Representation id="%d" bandwidth="%d" codecs="avc1.64001f" mimeType="video/mp4" width="1280" height="720">
    <SegmentTemplate timescale="90000" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Time$.m4s">
     <SegmentTimeline>
`, rep, rep, 800000*(rep+1))
		t := 0
		for i := range n {
			d := 180000 + (i%3-1)*1500
			fmt.Fprintf(&b, "      <S t=\"%d\" d=\"%d\"/>\n", t, d)
			t += d
		}
		b.WriteString("     </SegmentTimeline>\n    </SegmentTemplate>\n   </Representation>\n  </AdaptationSet>\n")
	}
	b.WriteString(" </Period>\n</MPD>\n")
	return []byte(b.String())
}

func mpdBenchInputs(b *testing.B) map[string][]byte {
	live, err := os.ReadFile("testdata/mpd/ffmpeg-timeline-live.mpd")
	if err != nil {
		b.Fatal(err)
	}
	ll, err := os.ReadFile("testdata/mpd/dashif-low-latency.mpd")
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{"ffmpeg": live, "dashif-ll": ll, "dvr-900x3": dvrMPD(900)}
}

var mpdBenchNames = []string{"ffmpeg", "dashif-ll", "dvr-900x3"}

func BenchmarkParseMPD(b *testing.B) {
	inputs := mpdBenchInputs(b)
	for _, name := range mpdBenchNames {
		data := inputs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseMPD(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRenderMPD(b *testing.B) {
	inputs := mpdBenchInputs(b)
	for _, name := range mpdBenchNames {
		m, err := ParseMPD(inputs[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf := m.AppendTo(nil)
			for b.Loop() {
				buf = m.AppendTo(buf[:0])
			}
		})
	}
}

func BenchmarkValidateMPD(b *testing.B) {
	inputs := mpdBenchInputs(b)
	for _, name := range mpdBenchNames {
		m, err := ParseMPD(inputs[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
