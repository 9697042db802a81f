package manifest

import (
	"encoding/xml"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/steering"
)

type mpdDoc struct {
	BaseURLs []struct {
		Loc string `xml:"serviceLocation,attr"`
		URL string `xml:",chardata"`
	} `xml:"BaseURL"`
	Steering []struct {
		Default     string `xml:"defaultServiceLocation,attr"`
		QueryBefore string `xml:"queryBeforeStart,attr"`
		URI         string `xml:",chardata"`
	} `xml:"ContentSteering"`
	Periods []struct {
		ID string `xml:"id,attr"`
	} `xml:"Period"`
}

func parseMPD(t *testing.T, b []byte) mpdDoc {
	t.Helper()
	var d mpdDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("steered MPD does not parse: %v\n%s", err, b)
	}
	return d
}

func TestSteerMPDFfmpeg(t *testing.T) {
	orig, err := os.ReadFile("testdata/ffmpeg-live.mpd")
	if err != nil {
		t.Fatal(err)
	}
	in := append([]byte(nil), orig...)
	got, err := SteerMPD(in, "https://steer.ringside.test/dash/fight?s=1&t=2", "mesh", pathways)
	if err != nil {
		t.Fatal(err)
	}
	if string(in) != string(orig) {
		t.Fatal("input changed")
	}
	want := "\t</ProgramInformation>\n" +
		"\t<BaseURL serviceLocation=\"mesh\">https://edge.ringside.test/live/fight/</BaseURL>\n" +
		"\t<BaseURL serviceLocation=\"cdn-a\">https://fight.cdn-a.example/live/fight/</BaseURL>\n" +
		"\t<ContentSteering defaultServiceLocation=\"mesh\" queryBeforeStart=\"true\">https://steer.ringside.test/dash/fight?s=1&amp;t=2</ContentSteering>\n" +
		"\t<ServiceDescription id=\"0\">\n"
	if !strings.Contains(string(got), want) {
		t.Fatalf("steering elements not where expected:\n%s", got)
	}
	// Everything else is byte for byte.
	inserted := strings.Index(string(got), "\n\t<BaseURL")
	end := strings.Index(string(got), "</ContentSteering>") + len("</ContentSteering>")
	if rest := string(got[:inserted]) + string(got[end:]); rest != string(orig) {
		t.Fatalf("rest of the MPD changed:\n%s", rest)
	}
	d := parseMPD(t, got)
	if len(d.BaseURLs) != 2 || len(d.Steering) != 1 || d.Steering[0].URI != "https://steer.ringside.test/dash/fight?s=1&t=2" ||
		d.Steering[0].QueryBefore != "true" || len(d.Periods) != 1 {
		t.Fatalf("parsed %+v", d)
	}
}

func TestSteerMPD(t *testing.T) {
	locs := []steering.Pathway{
		{ID: "a", BaseURL: "https://a.example/ev/"},
		{ID: "b", BaseURL: "https://b.example/ev"},
		{ID: "nobase"},
		{ID: "c", BaseURL: "https://c.example/", Clone: true},
	}
	tests := []struct {
		name string
		mpd  string
		want string
	}{
		{"compact document stays compact",
			`<MPD><Period/></MPD>`,
			`<MPD><BaseURL serviceLocation="a">https://a.example/ev/</BaseURL><BaseURL serviceLocation="b">https://b.example/ev/</BaseURL>` +
				`<ContentSteering defaultServiceLocation="a" queryBeforeStart="true">/steer</ContentSteering><Period/></MPD>`},
		{"relative BaseURL resolved per location, old steering replaced",
			"<MPD>\n  <BaseURL>dash/</BaseURL>\n  <ContentSteering defaultServiceLocation=\"x\">old</ContentSteering>\n  <Period/>\n</MPD>",
			"<MPD>\n  <BaseURL serviceLocation=\"a\">https://a.example/ev/dash/</BaseURL>\n  <BaseURL serviceLocation=\"b\">https://b.example/ev/dash/</BaseURL>\n" +
				"  <ContentSteering defaultServiceLocation=\"a\" queryBeforeStart=\"true\">/steer</ContentSteering>\n  <Period/>\n</MPD>"},
		{"absolute BaseURLs replaced, comment kept in place",
			"<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">\n <ProgramInformation/>\n <BaseURL>https://old/</BaseURL>\n <!-- hi -->\n <Period id=\"p\"><BaseURL>seg/</BaseURL></Period>\n</MPD>\n",
			"<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">\n <ProgramInformation/>\n <!-- hi -->\n <BaseURL serviceLocation=\"a\">https://a.example/ev/</BaseURL>\n <BaseURL serviceLocation=\"b\">https://b.example/ev/</BaseURL>\n" +
				" <ContentSteering defaultServiceLocation=\"a\" queryBeforeStart=\"true\">/steer</ContentSteering>\n <Period id=\"p\"><BaseURL>seg/</BaseURL></Period>\n</MPD>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SteerMPD([]byte(tt.mpd), "/steer", "a", locs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			parseMPD(t, got)
		})
	}
}

func TestSteerMPDNoLocations(t *testing.T) {
	in := "<MPD>\n <BaseURL>https://origin/ev/</BaseURL>\n <ContentSteering>old</ContentSteering>\n <Period/>\n</MPD>"
	got, err := SteerMPD([]byte(in), "/s", "a", []steering.Pathway{{ID: "a"}, {ID: "c", BaseURL: "https://c/", Clone: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := "<MPD>\n <BaseURL>https://origin/ev/</BaseURL>\n <ContentSteering defaultServiceLocation=\"a\" queryBeforeStart=\"true\">/s</ContentSteering>\n <Period/>\n</MPD>"
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSteerMPDErrors(t *testing.T) {
	for _, in := range []string{"", "not xml", "<html><body/></html>", "<MPD><Period>", "<MPD></Period></MPD>"} {
		t.Run(in, func(t *testing.T) {
			if _, err := SteerMPD([]byte(in), "/s", "a", nil); !errors.Is(err, ErrNotMPD) {
				t.Fatalf("err %v", err)
			}
		})
	}
}
