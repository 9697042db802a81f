package segment

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func mustParseMaster(t testing.TB, path string) *MasterPlaylist {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseMaster(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func TestParseMasterFFmpeg(t *testing.T) {
	p := mustParseMaster(t, "testdata/ffmpeg/vod-agroup/master.m3u8")
	wantMedia := []Rendition{{Type: "AUDIO", GroupID: "group_aud", Name: "audio_0", Language: "en", URI: "0/index.m3u8",
		Default: true, Attrs: []Attr{{"TYPE", "AUDIO"}, {"GROUP-ID", `"group_aud"`}, {"NAME", `"audio_0"`},
			{"DEFAULT", "YES"}, {"LANGUAGE", `"en"`}, {"URI", `"0/index.m3u8"`}}}}
	if p.Version != 7 || !reflect.DeepEqual(p.Media, wantMedia) || len(p.Variants) != 2 || p.Tags != nil {
		t.Fatalf("got %+v", p)
	}
	v := p.Variants[0]
	want := Variant{URI: "1/index.m3u8", Bandwidth: 510400, Width: 426, Height: 240, Codecs: "avc1.42c015,mp4a.40.2",
		Audio: "group_aud", Attrs: []Attr{{"BANDWIDTH", "510400"}, {"RESOLUTION", "426x240"},
			{"CODECS", `"avc1.42c015,mp4a.40.2"`}, {"AUDIO", `"group_aud"`}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("variant\n got %+v\nwant %+v", v, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseMasterSteering(t *testing.T) {
	p := mustParseMaster(t, "testdata/handwritten/master-steering.m3u8")
	if p.Version != 7 || !p.IndependentSegments || len(p.Media) != 3 || len(p.Variants) != 2 {
		t.Fatalf("got %+v", p)
	}
	wantTags := []Tag{
		tag("#EXT-X-CONTENT-STEERING", `SERVER-URI="/steering?event=demo",PATHWAY-ID="node-a"`),
		tag("#EXT-X-SESSION-DATA", `DATA-ID="com.example.title",VALUE="Demo, live"`),
		tag("#EXT-X-I-FRAME-STREAM-INF", `BANDWIDTH=90000,CODECS="avc1.64001f",RESOLUTION=1280x720,URI="node-a/0/iframe.m3u8"`),
	}
	if !reflect.DeepEqual(p.Tags, wantTags) {
		t.Errorf("Tags = %+v", p.Tags)
	}
	v0, v1 := p.Variants[0], p.Variants[1]
	if v0.AverageBandwidth != 2200000 || v0.FrameRate != 29.97 || v0.Subtitles != "subs" || v0.ClosedCaptions != "cc" ||
		v0.PathwayID != "node-a" || v0.Tags != nil {
		t.Errorf("variant 0 = %+v", v0)
	}
	if v1.ClosedCaptions != "NONE" || !reflect.DeepEqual(v1.Tags, []Tag{tag("#EXT-X-FUTURE-TAG", "SOMETHING=1")}) {
		t.Errorf("variant 1 = %+v", v1)
	}
	if r := p.Media[1]; r.Type != "SUBTITLES" || !r.Autoselect || r.Default || r.URI != "s/en.m3u8" {
		t.Errorf("rendition 1 = %+v", r)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestVariantSetAttr(t *testing.T) {
	p := mustParseMaster(t, "testdata/ffmpeg/ts-live/master.m3u8")
	shared := p.Variants[0]
	v := shared
	if err := v.SetAttr("PATHWAY-ID", `"cdn-b"`); err != nil {
		t.Fatal(err)
	}
	if err := v.SetAttr("BANDWIDTH", "600000"); err != nil {
		t.Fatal(err)
	}
	if v.PathwayID != "cdn-b" || v.Bandwidth != 600000 {
		t.Errorf("typed fields %+v", v)
	}
	if !reflect.DeepEqual(shared, p.Variants[0]) || shared.Attrs[0].Value != "510400" || len(shared.Attrs) != 3 {
		t.Errorf("SetAttr changed the variant it was copied from: %+v", shared.Attrs)
	}
	p.Variants[0] = v
	want := "#EXTM3U\n#EXT-X-VERSION:6\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=426x240,CODECS=\"avc1.42c015,mp4a.40.2\",PATHWAY-ID=\"cdn-b\"\n0/index.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=212x120,CODECS=\"avc1.42c00c,mp4a.40.2\"\n1/index.m3u8\n"
	if got := string(p.AppendTo(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	bad := []struct{ key, value, frag string }{
		{"pathway-id", `"x"`, "bad attribute name"},
		{"PATHWAY-ID", "cdn-b", "PATHWAY-ID: must be a quoted string"},
		{"PATHWAY-ID", `"a"b"`, "bad value"},
		{"PATHWAY-ID", "\"a\nb\"", "line break"},
		{"X-CUSTOM", "a,b", "bad value"},
		{"X-CUSTOM", "a b", "bad unquoted value"},
		{"BANDWIDTH", "-1", "bad integer"},
	}
	for _, tt := range bad {
		before := v
		err := v.SetAttr(tt.key, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.frag) || !strings.HasPrefix(err.Error(), "segment: ") {
			t.Errorf("SetAttr(%q, %q) = %v, want error with %q", tt.key, tt.value, err, tt.frag)
		}
		if !reflect.DeepEqual(before, v) {
			t.Errorf("SetAttr(%q, %q) changed the variant on error", tt.key, tt.value)
		}
	}
}

func TestVariantSetAttrByHand(t *testing.T) {
	v := Variant{URI: "a.m3u8", Bandwidth: 1000, Codecs: "avc1"}
	if err := v.SetAttr("PATHWAY-ID", `"p"`); err != nil {
		t.Fatal(err)
	}
	want := []Attr{{"BANDWIDTH", "1000"}, {"CODECS", `"avc1"`}, {"PATHWAY-ID", `"p"`}}
	if !reflect.DeepEqual(v.Attrs, want) {
		t.Errorf("Attrs = %v, want %v", v.Attrs, want)
	}
	p := &MasterPlaylist{Variants: []Variant{v}}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	p.Variants[0].Bandwidth = 2000 // typed field changed behind Attrs' back
	if err := p.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("Validate = %v, want disagreement", err)
	}
}

// hugeMaster is a master playlist of 20 variants whose EXT-X-STREAM-INF
// each have attrs attributes: with 5,000 (under the line length limit)
// about 1 MiB, which the quadratic duplicate check took seconds on.
func hugeMaster(attrs int) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n")
	for v := range 20 {
		b.WriteString("#EXT-X-STREAM-INF:BANDWIDTH=1000")
		for i := range attrs {
			fmt.Fprintf(&b, ",X-A%d=1", i)
		}
		fmt.Fprintf(&b, "\n%d/index.m3u8\n", v)
	}
	return []byte(b.String())
}

// manyVariants is a master with n variants and n audio renditions.
func manyVariants(n int) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n")
	for i := range n {
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a%d\",NAME=\"en\",URI=\"a%d/index.m3u8\"\n", i, i)
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AUDIO=\"a%d\"\nv%d/index.m3u8\n", 1000+i, i, i)
	}
	return []byte(b.String())
}

// TestAttributeFlood: a tag with more attributes than any real tag has is
// refused with a clear error (not parsed in quadratic time).
func TestAttributeFlood(t *testing.T) {
	_, err := ParseMaster(hugeMaster(5000))
	if err == nil || !strings.Contains(err.Error(), "more than 256") {
		t.Fatalf("tags with 5,000 attributes: %v", err)
	}
	if _, err := ParseMaster(hugeMaster(200)); err != nil {
		t.Fatalf("200 attributes: %v", err)
	}
	if _, err := ParseMaster(manyVariants(5000)); err != nil {
		t.Fatalf("5,000 variants: %v", err)
	}
}

func BenchmarkParseHugeMaster(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{{"20x5k-attrs", hugeMaster(5000)}, {"5k-variants", manyVariants(5000)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				ParseMaster(tc.data)
			}
		})
	}
}
