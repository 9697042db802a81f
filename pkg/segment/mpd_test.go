package segment

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mpdFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/mpd/*.mpd")
	if err != nil || len(files) == 0 {
		t.Fatalf("no MPDs under testdata/mpd: %v", err)
	}
	return files
}

func readMPD(t testing.TB, name string) *MPD {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/mpd", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMPD(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// checkRoundTrip validates m, renders it and checks that the rendering is
// well-formed XML that parses back to an equal model and renders the same.
func checkRoundTrip(t *testing.T, m *MPD) []byte {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	out := m.AppendTo(nil)
	if err := wellFormed(out); err != nil {
		t.Fatalf("rendering is not well-formed XML: %v\n%s", err, out)
	}
	back, err := ParseMPD(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatalf("re-parsed model differs\nfirst:  %+v\nsecond: %+v\nrendered:\n%s", m, back, out)
	}
	if again := back.AppendTo(nil); !bytes.Equal(out, again) {
		t.Fatalf("second rendering differs:\n%s\n%s", out, again)
	}
	return out
}

// wellFormed checks data with encoding/xml's namespace-aware reader.
func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestMPDTestdataRoundTrip(t *testing.T) {
	for _, path := range mpdFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m := readMPD(t, filepath.Base(path))
			out := checkRoundTrip(t, m)
			if !bytes.Contains(out, []byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"`)) {
				t.Errorf("no DASH namespace on the root:\n%s", out)
			}
		})
	}
}

// TestMPDKeepsUnknown checks that what Ringside does not model comes back
// in place: foreign elements, attributes and namespace declarations.
func TestMPDKeepsUnknown(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // in this order in the rendering
	}{
		{"shaka-live.mpd", []string{
			`xmlns:cenc="urn:mpeg:cenc:2013"`,
			`<ContentProtection value="cenc" schemeIdUri="urn:mpeg:dash:mp4protection:2011" cenc:default_KID="6e5a1d26-2757-47d7-8046-eaa5d1d34b5a"/>`,
			`<cenc:pssh>AAAAMnBzc2gAAAAA7e+LqXnWSs6jyCfc1R0h7QAAABISEG5aHSYnV0fXgEbqpdHTS1o=</cenc:pssh>`,
			`<Representation id="0"`,
			`<Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>`,
			`<Representation id="2"`,
			`<AudioChannelConfiguration`,
			`<SegmentTemplate`,
			`<S t="29184000" d="95232" r="-1"/>`,
		}},
		{"dashif-low-latency.mpd", []string{
			`xmlns:scte35="http://www.scte.org/schemas/35/2016"`,
			`dashif:encoder="ringside-test"`,
			`<ProgramInformation moreInformationURL="https://dashif.org"><Title>Low latency &amp; &quot;chunks&quot; &lt;test&gt;</Title></ProgramInformation>`,
			`<BaseURL availabilityTimeOffset="0.5" availabilityTimeComplete="false">live/</BaseURL>`,
			`<ServiceDescription id="0">`,
			`<Scope schemeIdUri="urn:dvb:dash:lowlatency:scope:2019"/>`,
			`<Latency referenceId="0" target="3500" min="2000" max="7000"/>`,
			`<PlaybackRate max="1.04" min="0.96"/>`,
			`<scte35:Signal><scte35:Binary>`,
			`<SupplementalProperty`,
			`<ProducerReferenceTime id="0" type="encoder" wallClockTime="1970-01-01T00:00:00Z" presentationTime="0">`,
			`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://time.akamai.com/?iso"/>`,
			`dashif:chunkDuration="0.5"`,
			`<dashif:Hint kind="chunked" xlink:type="simple">keep me</dashif:Hint>`,
			`<InbandEventStream`,
			`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="https://time.akamai.com/?iso&amp;ms"/>`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out := string(readMPD(t, tc.file).AppendTo(nil))
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("rendering lacks %s (or has it out of order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestMPDModel(t *testing.T) {
	m := readMPD(t, "dashif-low-latency.mpd")
	if !m.Dynamic() || m.SuggestedPresentationDelay != "PT3.5S" || len(m.BaseURLs) != 1 || m.BaseURLs[0].URL != "live/" {
		t.Fatalf("MPD attributes: %+v", m)
	}
	if l := m.ServiceDescriptions[0].Latency; len(l) != 1 || l[0].Target != 3500 || l[0].Min != 2000 || l[0].Max != 7000 {
		t.Fatalf("Latency: %+v", l)
	}
	as := &m.Periods[0].AdaptationSets[0]
	if prt := as.ProducerReferenceTimes; len(prt) != 1 || prt[0].UTCTiming == nil || prt[0].UTCTiming.Value != "https://time.akamai.com/?iso" {
		t.Fatalf("ProducerReferenceTime: %+v", prt)
	}
	if st := as.SegmentTemplate; st == nil || *st.Timescale != 90000 || *st.Duration != 180000 || *st.StartNumber != 0 ||
		*st.AvailabilityTimeOffset != 1 || *st.AvailabilityTimeComplete {
		t.Fatalf("SegmentTemplate: %+v", st)
	}
	if len(m.UTCTimings) != 1 || m.UTCTimings[0].SchemeIDURI != "urn:mpeg:dash:utc:http-xsdate:2014" {
		t.Fatalf("UTCTiming: %+v", m.UTCTimings)
	}
	tr, ok := m.Track("p0", "V300")
	if !ok || tr.Template == nil {
		t.Fatal("no track V300")
	}
	// The BaseURL's offset adds to the template's.
	if tr.Template.AvailabilityTimeOffset != 1.5 || tr.Template.Timescale != 90000 || tr.Template.Duration != 180000 {
		t.Fatalf("merged template: %+v", tr.Template)
	}
	if u, err := tr.MediaURL(42, 0); err != nil || u != "live/V300/00000042.m4s" {
		t.Fatalf("MediaURL = %q, %v", u, err)
	}
	if u, err := tr.InitURL(); err != nil || u != "live/V300/init.mp4" {
		t.Fatalf("InitURL = %q, %v", u, err)
	}
	// Segment 0 ends 2 s after availabilityStartTime and is announced
	// 1.5 s before that.
	for n, want := range map[uint64]string{0: "1970-01-01T00:00:00.5Z", 1: "1970-01-01T00:00:02.5Z", 1000: "1970-01-01T00:33:20.5Z"} {
		got, err := tr.AvailabilityTime(n)
		if err != nil || !got.Equal(mustTime(t, want)) {
			t.Errorf("AvailabilityTime(%d) = %v, %v; want %s", n, got, err, want)
		}
	}
	files, err := m.Files("ev")
	if err != nil {
		t.Fatal(err)
	}
	want := []MPDFile{
		{"p0", "V300", "ev/live/V300/init.mp4", "ev/live/V300/$Number%08d$.m4s"},
		{"p0", "V1200", "ev/live/V1200/init.mp4", "ev/live/V1200/$Number%08d$.m4s"},
		{"p0", "A48", "ev/live/A48/init.mp4", "ev/live/A48/$Number%08d$.m4s"},
	}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("Files = %+v", files)
	}
	for _, tc := range []struct {
		path string
		n    uint64
		ok   bool
	}{
		{"ev/live/V300/00000042.m4s", 42, true},
		{"ev/live/V300/123456789.m4s", 123456789, true},
		{"ev/live/V300/42.m4s", 0, false}, // not padded as the template pads
		{"ev/live/V300/0000004x.m4s", 0, false},
		{"ev/live/V1200/00000042.m4s", 0, false},
		{"ev/live/V300/init.mp4", 0, false},
	} {
		n, byTime, ok := files[0].Match(tc.path)
		if n != tc.n || ok != tc.ok || byTime {
			t.Errorf("Match(%q) = %d, %t, %t; want %d, %t", tc.path, n, byTime, ok, tc.n, tc.ok)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestMPDTimeline(t *testing.T) {
	m := readMPD(t, "shaka-live.mpd")
	audio, ok := m.Track("0", "2")
	if !ok {
		t.Fatal("no track 2")
	}
	var segs []SegmentRef
	for s := range audio.Segments() {
		segs = append(segs, s)
	}
	want := []SegmentRef{
		{301, 28800000, 96256}, {302, 28896256, 95232}, {303, 28991488, 96256}, {304, 29087744, 96256},
		{305, 29184000, 95232}, {306, 29279232, 95232}, {307, 29374464, 95232}, {308, 29469696, 96256},
	}
	if !slices.Equal(segs, want) {
		t.Fatalf("Segments = %v\nwant %v", segs, want)
	}
	if s, err := audio.Segment(306); err != nil || s != want[5] {
		t.Fatalf("Segment(306) = %v, %v", s, err)
	}
	if _, err := audio.Segment(309); !errors.Is(err, ErrNoSegment) {
		t.Fatalf("Segment(309): %v", err)
	}
	if u, err := audio.MediaURL(0, 29184000); err != nil || u != "audio/29184000.m4s" {
		t.Fatalf("MediaURL = %q, %v", u, err)
	}
	video, _ := m.Track("0", "0")
	// Segment 301 covers 600 s to 602 s of the presentation.
	if at, err := video.AvailabilityTime(301); err != nil || !at.Equal(mustTime(t, "2026-11-23T14:20:02Z")) {
		t.Fatalf("AvailabilityTime(301) = %v, %v", at, err)
	}
	files, err := m.Files("")
	if err != nil || len(files) != 3 || files[2].Media != "audio/$Time$.m4s" {
		t.Fatalf("Files = %+v, %v", files, err)
	}
	if v, byTime, ok := files[2].Match("audio/29184000.m4s"); !ok || !byTime || v != 29184000 {
		t.Fatalf("Match = %d, %t, %t", v, byTime, ok)
	}
	static := readMPD(t, "ffmpeg-timeline-live.mpd")
	static.Type = "static"
	tr, _ := static.Track("", "0")
	if _, err := tr.AvailabilityTime(1); !errors.Is(err, ErrNoSegment) {
		t.Fatalf("AvailabilityTime on a static MPD: %v", err)
	}
}

func TestXSDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT2S", 2 * time.Second, true},
		{"PT2.0S", 2 * time.Second, true},
		{"PT0S", 0, true},
		{"PT0.5S", 500 * time.Millisecond, true},
		{"PT1.1234567891S", 1123456789, true},
		{"PT1H2M3S", time.Hour + 2*time.Minute + 3*time.Second, true},
		{"P1DT1H", 25 * time.Hour, true},
		{"P1Y", 365 * 24 * time.Hour, true},
		{"P1M", 30 * 24 * time.Hour, true},
		{"PT1M", time.Minute, true},
		{"-PT1S", -time.Second, true},
		{" PT6S ", 6 * time.Second, true},
		{"", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"P1DT", 0, false},
		{"2S", 0, false},
		{"PT2", 0, false},
		{"PT1S2M", 0, false},
		{"PT1.5M", 0, false},
		{"PT-1S", 0, false},
		{"P1H", 0, false},
		{"PT1..5S", 0, false},
		{"P300000Y", 0, false},
		{"PT9999999999999999999S", 0, false},
	} {
		got, err := ParseXSDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseXSDuration(%q) = %v, %v; want %v ok=%t", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, d := range []time.Duration{0, time.Second, 1500 * time.Millisecond, -2 * time.Second, time.Nanosecond, 90 * time.Minute} {
		s := FormatXSDuration(d)
		if back, err := ParseXSDuration(s); err != nil || back != d {
			t.Errorf("FormatXSDuration(%v) = %q, back %v, %v", d, s, back, err)
		}
	}
	if s := FormatXSDuration(1500 * time.Millisecond); s != "PT1.5S" {
		t.Errorf("FormatXSDuration(1.5s) = %q", s)
	}
}

func TestXSDateTime(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"2026-11-23T14:17:03.404Z", "2026-11-23T14:17:03.404Z"},
		{"2026-11-23T14:17:03Z", "2026-11-23T14:17:03Z"},
		{"2026-11-23T14:17:03", "2026-11-23T14:17:03Z"},
		{"2026-11-23T15:17:03+01:00", "2026-11-23T14:17:03Z"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		{"2026-02-30T00:00:00Z", ""},
		{"2026-11-23 14:17:03Z", ""},
		{"yesterday", ""},
		{"", ""},
	} {
		got, err := ParseXSDateTime(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseXSDateTime(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(mustTime(t, tc.want)) {
			t.Errorf("ParseXSDateTime(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestExpandTemplate(t *testing.T) {
	v := templateValues{repID: "v1", number: 42, time: 90000, bandwidth: 800000}
	for _, tc := range []struct {
		tmpl, want string
		ok         bool
	}{
		{"chunk-stream$RepresentationID$-$Number%05d$.m4s", "chunk-streamv1-00042.m4s", true},
		{"$RepresentationID$/$Time$.m4s", "v1/90000.m4s", true},
		{"$Bandwidth$/$Number$.m4s", "800000/42.m4s", true},
		{"$Bandwidth%08d$.m4s", "00800000.m4s", true},
		{"a$$b$Number%01d$", "a$b42", true},
		{"$Number%02d$", "42", true},
		{"plain.m4s", "plain.m4s", true},
		{"$Number", "", false},
		{"$SubNumber$.m4s", "", false},
		{"$RepresentationID%05d$", "", false},
		{"$Number%5d$", "", false},
		{"$Number%05x$", "", false},
		{"$Number%099d$", "", false},
		{"$number$", "", false},
	} {
		got, err := expandTemplate(nil, tc.tmpl, v)
		if (err == nil) != tc.ok || tc.ok && string(got) != tc.want {
			t.Errorf("expandTemplate(%q) = %q, %v; want %q ok=%t", tc.tmpl, got, err, tc.want, tc.ok)
		}
	}
}

// validMPD is a small valid live MPD that the table of invalid ones
// breaks one way each.
const validMPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink" type="dynamic" availabilityStartTime="2026-11-23T14:17:03Z" minimumUpdatePeriod="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
 <Period id="0" start="PT0S">
  <AdaptationSet id="0" contentType="video">
   <SegmentTemplate timescale="1000" duration="2000" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1"/>
   <Representation id="v0" bandwidth="800000"/>
   <Representation id="v1" bandwidth="300000"/>
  </AdaptationSet>
 </Period>
</MPD>`

func TestMPDValidMPD(t *testing.T) {
	m, err := ParseMPD([]byte(validMPD))
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, m)
}

func TestMPDInvalid(t *testing.T) {
	edit := func(pairs ...string) string {
		s := validMPD
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				t.Fatalf("test MPD lacks %q", pairs[i])
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
	for _, tc := range []struct {
		name, mpd string
		syntax    bool     // a ParseMPD error (ErrSyntax), else a Validate one (ErrInvalid)
		want      []string // in the message
	}{
		{"no Period", edit(` <Period id="0" start="PT0S">`, `<!--`, ` </Period>`, `-->`), false, []string{"MPD: no Period"}},
		{"no id", edit(`id="v0" `, ``), false, []string{`Representation #0: no id`}},
		{"no bandwidth", edit(` bandwidth="800000"`, ``), false, []string{`Representation "v0": no bandwidth`}},
		{"duplicate id", edit(`id="v1"`, `id="v0"`), false, []string{`Representation "v0": id used twice in the Period`}},
		{"timescale 0", edit(`timescale="1000"`, `timescale="0"`), false, []string{`AdaptationSet "0": SegmentTemplate: timescale 0`}},
		{"duration 0", edit(`duration="2000"`, `duration="0"`), false, []string{`SegmentTemplate: duration 0`}},
		{"no duration or timeline", edit(` duration="2000"`, ``), false, []string{`Representation "v0": SegmentTemplate has neither duration nor SegmentTimeline`}},
		{"both duration and timeline", edit(`startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="0" d="2000"/></SegmentTimeline></SegmentTemplate>`), false, []string{"both duration and SegmentTimeline"}},
		{"S d 0", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="0" d="0"/></SegmentTimeline></SegmentTemplate>`), false, []string{"SegmentTimeline: S 0: d missing or 0"}},
		{"S goes back", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="4000" d="2000"/><S t="0" d="2000"/></SegmentTimeline></SegmentTemplate>`), false, []string{"S 1: t 0 goes back before 6000"}},
		{"r -1 last", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="0" d="2000" r="-1"/></SegmentTimeline></SegmentTemplate>`), false, []string{"S 0: r -1 needs a next S"}},
		{"r -2", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="0" d="2000" r="-2"/></SegmentTimeline></SegmentTemplate>`), false, []string{"S 0: r -2"}},
		{"r too many", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="0" d="2000" r="999999999999"/></SegmentTimeline></SegmentTemplate>`), false, []string{"SegmentTimeline: more than 1048576 segments"}},
		{"time overflow", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="18446744073709551000" d="2000"/></SegmentTimeline></SegmentTemplate>`), false, []string{"S 0: time overflows"}},
		{"unknown identifier", edit(`$Number%05d$`, `$Segment$`), false, []string{"SegmentTemplate: media: unknown identifier $Segment$"}},
		{"bad format", edit(`$Number%05d$`, `$Number%5d$`), false, []string{"media: bad format in $Number%5d$"}},
		{"no number or time", edit(`-$Number%05d$`, ``), false, []string{`has neither $Number$ nor $Time$`}},
		{"number in init", edit(`init-$RepresentationID$`, `init-$Number$`), false, []string{`initialization "init-$Number$.m4s" has $Number$ or $Time$`}},
		{"absolute media", edit(`media="chunk-`, `media="https://evil.example/chunk-`), false, []string{`SegmentTemplate media: segment: bad path: "https://evil.example/chunk-v0-00001.m4s" is an absolute URL`}},
		{"scheme media", edit(`media="chunk-`, `media="data:chunk-`), false, []string{`is an absolute URL`}},
		{"rooted init", edit(`initialization="init-`, `initialization="/init-`), false, []string{`SegmentTemplate initialization: segment: bad path: "/init-v0.m4s" is not relative to the MPD`}},
		{"dotdot media", edit(`media="chunk-`, `media="../other/chunk-`), false, []string{`"../other/chunk-v0-00001.m4s" escapes the event`}},
		{"inner dotdot", edit(`media="chunk-`, `media="a/../chunk-`), false, []string{`escapes the event`}},
		{"backslash", edit(`media="chunk-`, `media="a\chunk-`), false, []string{`has a backslash`}},
		{"bad extension", edit(`-$Number%05d$.m4s`, `-$Number%05d$.exe`), false, []string{`extension of "chunk-v0-00001.exe" not allowed`}},
		{"id escapes", edit(`id="v0"`, `id="..%2F"`, `media="chunk-$RepresentationID$`, `media="$RepresentationID$/chunk-$RepresentationID$`), false, []string{`Representation "..%2F": SegmentTemplate`}},
		{"absolute BaseURL", edit(` <Period id="0" start="PT0S">`, ` <BaseURL>http://cdn.example/live/</BaseURL><Period id="0" start="PT0S">`), false, []string{`MPD: BaseURL: segment: bad path: "http://cdn.example/live/" is an absolute URL`}},
		{"rooted BaseURL", edit(`<SegmentTemplate`, `<BaseURL>/live/</BaseURL><SegmentTemplate`), false, []string{`AdaptationSet "0": BaseURL: segment: bad path: "/live/" is not relative`}},
		{"dotdot BaseURL", edit(`<Representation id="v1" bandwidth="300000"/>`, `<Representation id="v1" bandwidth="300000"><BaseURL>../</BaseURL></Representation>`), false, []string{`Representation "v1": BaseURL: segment: bad path: "../" escapes the event`}},
		{"Location", edit(` <Period id="0" start="PT0S">`, ` <Location>https://evil.example/x.mpd</Location><Period id="0" start="PT0S">`), false, []string{`Location: segment: bad path: "https://evil.example/x.mpd" is an absolute URL`}},
		{"SegmentURL", edit(`<Representation id="v1" bandwidth="300000"/>`, `<Representation id="v1" bandwidth="300000"><SegmentList><SegmentURL media="//evil.example/a.m4s"/></SegmentList></Representation>`), false, []string{`SegmentURL@media: segment: bad path: "//evil.example/a.m4s" is not relative`}},
		{"xlink", edit(` <Period id="0" start="PT0S">`, ` <Period id="0" start="PT0S" xlink:href="https://evil.example/period.xml">`), false, []string{`Period@xlink:href: segment: bad path: "https://evil.example/period.xml" is an absolute URL`}},
		{"dynamic without AST", edit(` availabilityStartTime="2026-11-23T14:17:03Z"`, ``), false, []string{"MPD: dynamic without availabilityStartTime"}},
		{"bad type", edit(`type="dynamic"`, `type="live"`), false, []string{`MPD: type "live", want static or dynamic`}},
		{"bad dateTime", edit(`2026-11-23T14:17:03Z`, `2026-11-23 14:17`), false, []string{`MPD: availabilityStartTime: bad xs:dateTime "2026-11-23 14:17"`}},
		{"bad duration", edit(`minimumUpdatePeriod="PT2S"`, `minimumUpdatePeriod="2 seconds"`), false, []string{`MPD: minimumUpdatePeriod: bad xs:duration "2 seconds"`}},
		{"negative duration", edit(`start="PT0S"`, `start="-PT5S"`), false, []string{`Period "0": start -PT5S is negative`}},
		{"negative ATO", edit(`startNumber="1"`, `startNumber="1" availabilityTimeOffset="-1"`), false, []string{`SegmentTemplate: availabilityTimeOffset -1`}},
		{"endNumber", edit(`startNumber="1"`, `startNumber="5" endNumber="4"`), false, []string{`endNumber 4 below startNumber 5`}},
		{"no Representation", edit(`   <Representation id="v0" bandwidth="800000"/>
   <Representation id="v1" bandwidth="300000"/>`, ``), false, []string{`AdaptationSet "0": no Representation`, "MPD: no Representation"}},
		{"no segments", edit(`<SegmentTemplate`, `<Foo`), false, []string{`Representation "v0": no SegmentTemplate, SegmentBase or SegmentList`}},
		{"duplicate Period id", edit(` </Period>`, ` </Period><Period id="0"><AdaptationSet><SegmentTemplate timescale="1" duration="2" media="$Number$.m4s"/><Representation id="a" bandwidth="1"/></AdaptationSet></Period>`), false, []string{`Period "0": id used twice`}},

		{"not XML", "MPD", true, []string{"text outside the MPD element"}},
		{"empty", "", true, []string{"no MPD element"}},
		{"wrong root", `<Manifest/>`, true, []string{"Manifest: root element is not MPD"}},
		{"wrong namespace", edit(`xmlns="urn:mpeg:dash:schema:mpd:2011"`, `xmlns="urn:example"`), true, []string{`MPD: namespace "urn:example"`}},
		{"bad bandwidth", edit(`bandwidth="800000"`, `bandwidth="fast"`), true, []string{`line 6: Representation: bandwidth: bad number "fast"`}},
		{"negative width", edit(`bandwidth="800000"`, `bandwidth="800000" width="-1"`), true, []string{`Representation: width: bad number "-1"`}},
		{"bad ATO", edit(`startNumber="1"`, `startNumber="1" availabilityTimeOffset="NaN"`), true, []string{`SegmentTemplate: availabilityTimeOffset: bad number "NaN"`}},
		{"bad bool", edit(`startNumber="1"`, `startNumber="1" availabilityTimeComplete="no"`), true, []string{`availabilityTimeComplete: bad boolean "no"`}},
		{"bad r", edit(` duration="2000"`, ``, `startNumber="1"/>`, `startNumber="1"><SegmentTimeline><S t="0" d="2000" r="x"/></SegmentTimeline></SegmentTemplate>`), true, []string{`S: r: bad number "x"`}},
		{"two templates", edit(`<Representation id="v0" bandwidth="800000"/>`, `<Representation id="v0" bandwidth="800000"><SegmentTemplate/><SegmentTemplate/></Representation>`), true, []string{"SegmentTemplate: more than one in Representation"}},
		{"text in Period", edit(`<AdaptationSet id="0"`, `hello<AdaptationSet id="0"`), true, []string{`Period: unexpected text "hello"`}},
		{"undeclared prefix", edit(`<Representation id="v1"`, `<foo:Bar/><Representation id="v1"`), true, []string{`foo:Bar: undeclared namespace prefix "foo"`}},
		{"undeclared attr prefix", edit(`id="v1"`, `id="v1" foo:x="1"`), true, []string{`attribute foo:x: undeclared namespace prefix "foo"`}},
		{"prefixed DASH", edit(`<Representation id="v1" bandwidth="300000"/>`, `<d:Representation xmlns:d="urn:mpeg:dash:schema:mpd:2011" id="v1" bandwidth="300000"/>`), true, []string{"d:Representation: prefixed DASH elements are not supported"}},
		{"duplicate attribute", edit(`id="v1"`, `id="v1" id="v2"`), true, []string{"duplicate attribute id"}},
		{"mismatched tag", edit(` </Period>`, ` </Perio>`), true, []string{"line 9"}},
		{"doctype", `<!DOCTYPE MPD [<!ENTITY a "aaaa">]>` + validMPD[strings.Index(validMPD, "<MPD"):], true, []string{"DOCTYPE"}},
		{"entity", edit(`id="v1"`, `id="&a;"`), true, []string{"line 7"}},
		{"two roots", validMPD + "<MPD/>", true, []string{"second root element"}},
		{"truncated", validMPD[:len(validMPD)-20], true, []string{"unexpected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMPD([]byte(tc.mpd))
			if tc.syntax {
				if err == nil || !errors.Is(err, ErrSyntax) {
					t.Fatalf("ParseMPD: %v, want an error wrapping ErrSyntax", err)
				}
			} else {
				if err != nil {
					t.Fatalf("ParseMPD: %v", err)
				}
				if err = m.Validate(); err == nil || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Validate: %v, want an error wrapping ErrInvalid", err)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestMPDValidateReportsAll checks that Validate reports every problem,
// not the first.
func TestMPDValidateReportsAll(t *testing.T) {
	bad := strings.NewReplacer(`id="v0" `, ``, `bandwidth="300000"`, ``, `type="dynamic"`, `type="x"`).Replace(validMPD)
	m, err := ParseMPD([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Validate()
	for _, w := range []string{"no id", `Representation "v1": no bandwidth`, `type "x"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v; want a problem with %q", err, w)
		}
	}
}

// TestMPDValidateBuilt checks models built or edited by hand: Validate
// must catch what would not render to a readable MPD.
func TestMPDValidateBuilt(t *testing.T) {
	base := func() *MPD {
		m, err := ParseMPD([]byte(validMPD))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		edit func(m *MPD)
		want string
	}{
		{"broken raw", func(m *MPD) { m.Extra = append(m.Extra, RawElement{XML: "<Foo>"}) }, "does not render to a readable document"},
		{"raw undeclared prefix", func(m *MPD) { m.Extra = append(m.Extra, RawElement{XML: "<x:Foo/>"}) }, `undeclared namespace prefix "x"`},
		{"control character", func(m *MPD) { m.Periods[0].ID = "a\x00b" }, "does not render to a readable document"},
		{"raw Location", func(m *MPD) { m.Extra = append(m.Extra, RawElement{XML: "<Location>http://x/</Location>"}) }, "Location: segment: bad path"},
		{"bad attr name", func(m *MPD) { m.Attrs = append(m.Attrs, xml.Attr{Name: xml.Name{Local: "a b"}, Value: "1"}) }, "does not render"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v; want %q", err, tc.want)
			}
		})
	}
	// An edited model that is valid renders and reads back.
	m := base()
	m.Periods[0].AdaptationSets[0].Representations[1].Extra = []RawElement{{XML: `<Label>Low &amp; slow</Label>`}}
	m.Periods[0].AdaptationSets[0].Representations = append(m.Periods[0].AdaptationSets[0].Representations,
		Representation{ID: "v2", Bandwidth: 100000, Width: 320, Height: 180, Codecs: `avc1.42c00d "q"`})
	checkRoundTrip(t, m)
}

// TestMPDBombs feeds hostile documents: each is rejected, and the
// parser's work stays linear in the input (the limits are counted, not
// timed).
func TestMPDBombs(t *testing.T) {
	head := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet><Representation id="a" bandwidth="1"><SegmentTemplate media="$Number$.m4s" timescale="1"><SegmentTimeline>`
	tail := `</SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`
	for _, tc := range []struct {
		name string
		doc  string
		want string
	}{
		{"size", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">` + strings.Repeat(" ", MaxMPDSize) + `</MPD>`, "more than 1048576"},
		{"depth", `<MPD>` + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + `</MPD>`, "nested deeper than 32"},
		{"elements", `<MPD>` + strings.Repeat("<a/>", MaxMPDElements+1) + `</MPD>`, "more than 200000 elements"},
		{"attributes", `<MPD ` + strings.Repeat(`a="1" `, 0) + attrs(MaxMPDAttrs+1) + `/>`, "attributes: more than 64"},
		{"timeline", head + strings.Repeat(`<S d="1"/>`, MaxMPDTimeline+1) + tail, "more than 100000 S elements"},
		{"repeat", head + `<S d="1" r="9223372036854775806"/>` + tail, "more than 1048576 segments"},
		{"namespaces", `<MPD>` + strings.Repeat(`<a `+xmlnsDecls(60)+`>`, 31) + strings.Repeat(`</a>`, 31) + `</MPD>`, ""},
		{"billion laughs", `<!DOCTYPE MPD [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><MPD>&b;</MPD>`, "DOCTYPE"},
		{"template width", strings.Replace(head, "$Number$", "$Number%0999999999d$", 1) + `<S d="1"/>` + tail, "bad format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMPD([]byte(tc.doc))
			if err == nil {
				err = m.Validate()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
		})
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`="1"`)
	}
	return b.String()
}

func xmlnsDecls(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" xmlns:p")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`="urn:x"`)
	}
	return b.String()
}

// TestMPDLinear parses and validates large hostile documents that a
// quadratic step would make take minutes: text in many pieces, one long
// template inherited by many Representations, many unmodelled elements
// beside many Representations. It counts nothing and asserts no time;
// the test's own timeout is the bound.
func TestMPDLinear(t *testing.T) {
	head := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet>`
	tail := `</AdaptationSet></Period></MPD>`
	reps := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(`<Representation id="r`)
			b.WriteString(strings.Repeat("x", i%7))
			b.WriteString(`" bandwidth="1"/>`)
		}
		return b.String()
	}
	for _, tc := range []struct{ name, doc string }{
		{"text pieces", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><BaseURL>` + strings.Repeat("a<!---->", 120000) + `</BaseURL></MPD>`},
		{"long inherited template", head + `<SegmentTemplate duration="1" media="` + strings.Repeat("a", 500000) + `$Number$.m4s"/>` + reps(12000) + tail},
		{"raw beside reps", head + strings.Repeat("<Role/>", 40000) + reps(14000) + tail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.doc) > MaxMPDSize {
				t.Fatalf("test document of %d bytes is over the limit", len(tc.doc))
			}
			m, err := ParseMPD([]byte(tc.doc))
			if err != nil {
				return
			}
			_ = m.Validate()
			_, _ = m.Files("")
		})
	}
}
