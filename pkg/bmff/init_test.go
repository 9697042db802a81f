package bmff

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func TestParseInitTestdata(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Track
	}{
		{"init-video.mp4", Track{ID: 1, Handler: "vide", Timescale: 10240, Language: "und", SampleEntry: "avc1",
			Codec: "avc1.42c00a", Width: 64, Height: 36, DefaultSampleDuration: 0, DefaultSampleFlags: 0, HasDefaults: true}},
		{"init-audio.mp4", Track{ID: 1, Handler: "soun", Timescale: 8000, Language: "und", SampleEntry: "mp4a",
			Codec: "mp4a.40.2", SampleRate: 8000, Channels: 1, HasDefaults: true}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			in, err := ParseInit(b)
			if err != nil {
				t.Fatal(err)
			}
			if !in.Fragmented || len(in.Tracks) != 1 || in.MajorBrand != "iso5" {
				t.Fatalf("init = %+v", in)
			}
			if got := in.Tracks[0]; got != tc.want {
				t.Fatalf("track:\n got %+v\nwant %+v", got, tc.want)
			}
			if in.Codecs() != tc.want.Codec {
				t.Fatalf("Codecs() = %q", in.Codecs())
			}
		})
	}
}

func TestParseInitHandMade(t *testing.T) {
	in, err := ParseInit(avcInit())
	if err != nil {
		t.Fatal(err)
	}
	want := Track{ID: 1, Handler: "vide", Timescale: 90000, Language: "und", SampleEntry: "avc1",
		Codec: "avc1.64001f", Width: 1280, Height: 720,
		DefaultSampleDuration: 3000, DefaultSampleFlags: 0x01010000, HasDefaults: true}
	if got := *in.Track(1); got != want {
		t.Fatalf("track:\n got %+v\nwant %+v", got, want)
	}
	if in.Track(2) != nil || in.Timescale != 1000 || !slices.Equal(in.CompatibleBrands, []string{"iso6", "mp41"}) {
		t.Fatalf("init = %+v", in)
	}
}

// esds builds an esds around an AudioSpecificConfig, with multi-byte
// descriptor sizes as some writers use.
func esds(oti uint8, asc []byte) []byte {
	dsi := slices.Concat([]byte{0x05, 0x80, 0x80, byte(len(asc))}, asc)
	dcd := slices.Concat([]byte{oti, 0x15}, zeros(11), dsi)
	dcd = slices.Concat([]byte{0x04, 0x80, 0x80, byte(len(dcd))}, dcd)
	es := slices.Concat(u16(1), []byte{0}, dcd, []byte{0x06, 1, 2})
	es = slices.Concat([]byte{0x03, byte(len(es))}, es)
	return fullBox("esds", 0, 0, es)
}

func TestCodecStrings(t *testing.T) {
	hvcC := func(b1 byte, compat uint32, constraints []byte, level byte) []byte {
		return box("hvcC", []byte{1, b1}, u32(compat), constraints, []byte{level}, zeros(10))
	}
	for _, tc := range []struct {
		name     string
		handler  string
		entry    []byte
		codec    string
		rate, ch int
		enc      bool
	}{
		{"avc3", "vide", visualEntry("avc3", 640, 360, box("avcC", []byte{1, 0x4d, 0x40, 0x1e})), "avc3.4d401e", 0, 0, false},
		{"avc1 without avcC", "vide", visualEntry("avc1", 640, 360), "avc1", 0, 0, false},
		// ISO/IEC 14496-15 Annex E examples.
		{"hevc main", "vide", visualEntry("hvc1", 640, 360, hvcC(0x01, 0x60000000, []byte{0xb0, 0, 0, 0, 0, 0}, 93)), "hvc1.1.6.L93.B0", 0, 0, false},
		{"hevc space tier", "vide", visualEntry("hev1", 640, 360, hvcC(0x40|0x20|4, 0x82000000, []byte{0xb0, 0x23, 0, 0, 0, 0}, 120)), "hev1.A4.41.H120.B0.23", 0, 0, false},
		{"hevc no constraints", "vide", visualEntry("hvc1", 640, 360, hvcC(0x02, 0x20000000, zeros(6), 150)), "hvc1.2.4.L150", 0, 0, false},
		{"av1", "vide", visualEntry("av01", 640, 360, box("av1C", []byte{0x81, 0x04, 0x0c, 0})), "av01.0.04M.08", 0, 0, false},
		{"av1 high 10", "vide", visualEntry("av01", 640, 360, box("av1C", []byte{0x81, 0x28, 0xc0, 0})), "av01.1.08H.10", 0, 0, false},
		{"vp9", "vide", visualEntry("vp09", 640, 360, fullBox("vpcC", 1, 0, []byte{0, 31, 0x82}, zeros(5))), "vp09.00.31.08", 0, 0, false},
		{"encrypted avc", "vide", visualEntry("encv", 640, 360, box("avcC", []byte{1, 0x64, 0, 0x28}),
			box("sinf", box("frma", []byte("avc1")), fullBox("schm", 0, 0, []byte("cenc"), u32(0x10000)))), "avc1.640028", 0, 0, true},
		{"unknown video", "vide", visualEntry("xyzw", 640, 360), "xyzw", 0, 0, false},
		{"aac lc", "soun", audioEntry("mp4a", 2, 48000, esds(0x40, []byte{0x12, 0x08})), "mp4a.40.2", 44100, 1, false},
		{"he-aac v2", "soun", audioEntry("mp4a", 2, 24000, esds(0x40, []byte{0xeb, 0x09, 0x88})), "mp4a.40.29", 48000, 2, false},
		{"aot escape", "soun", audioEntry("mp4a", 2, 48000, esds(0x40, []byte{0xf8, 0x06, 0x40})), "mp4a.40.32", 48000, 2, false},
		{"mp3 in mp4", "soun", audioEntry("mp4a", 2, 44100, esds(0x6b, nil)), "mp4a.6b", 44100, 2, false},
		{"opus", "soun", audioEntry("Opus", 2, 48000, box("dOps", []byte{0, 6}, u16(312), u32(48000), zeros(3))), "opus", 48000, 6, false},
		{"ac-3 5.1", "soun", audioEntry("ac-3", 2, 48000, box("dac3", []byte{0x10, 0x3d, 0xe0})), "ac-3", 48000, 6, false},
		// 5.1 (acmod 7, lfe), plus a dependent substream adding Lrs/Rrs and Cs.
		{"ec-3 5.1 plus Lrs/Rrs, Cs", "soun", audioEntry("ec-3", 2, 48000, box("dec3", []byte{0x0c, 0x00, 0x20, 0x0f, 0x02, 0x06})), "ec-3", 48000, 9, false},
		{"ec-3 short dec3", "soun", audioEntry("ec-3", 6, 48000, box("dec3", zeros(2))), "ec-3", 48000, 6, false},
		{"flac", "soun", audioEntry("fLaC", 2, 44100), "flac", 44100, 2, false},
		{"subtitles", "subt", box("stpp", zeros(8)), "stpp", 0, 0, false},
		{"control bytes", "text", box("\x01abc", zeros(8)), "0x01616263", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := initSegment(testTrack{id: 7, handler: tc.handler, timescale: 1000, entry: tc.entry})
			in, err := ParseInit(b)
			if err != nil {
				t.Fatal(err)
			}
			tr := in.Tracks[0]
			if tr.Codec != tc.codec || tr.SampleRate != tc.rate || tr.Channels != tc.ch || tr.Encrypted != tc.enc {
				t.Fatalf("got codec %q rate %d channels %d encrypted %v, want %q %d %d %v",
					tr.Codec, tr.SampleRate, tr.Channels, tr.Encrypted, tc.codec, tc.rate, tc.ch, tc.enc)
			}
			if tr.HasDefaults {
				t.Fatal("HasDefaults without trex")
			}
			if tc.handler == "vide" && (tr.Width != 640 || tr.Height != 360) {
				t.Fatalf("size %dx%d from the sample entry, want 640x360", tr.Width, tr.Height)
			}
		})
	}
}

func TestParseInitErrors(t *testing.T) {
	good := avcInit()
	moovAt := 8 + 4 + 4 + 8          // after ftyp
	nest := func(depth int) []byte { // depth trak boxes, each inside the one before
		b := make([]byte, 0, 8*depth)
		for i := 0; i < depth; i++ {
			b = append(b, u32(uint32(8*(depth-i)))...)
			b = append(b, "trak"...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"ftyp only", good[:moovAt], ErrMalformed},
		{"cut in moov", good[:len(good)-5], ErrTruncated},
		{"cut in header", good[:moovAt+5], ErrTruncated},
		{"size below header", slices.Concat(u32(4), []byte("moov")), ErrMalformed},
		{"largesize below header", slices.Concat(u32(1), []byte("moov"), u64(12)), ErrMalformed},
		{"largesize cut", slices.Concat(u32(1), []byte("moov"), u32(0)), ErrTruncated},
		{"largesize huge", slices.Concat(u32(1), []byte("moov"), u64(1<<62)), ErrTruncated},
		{"no trak", box("moov", fullBox("mvhd", 0, 0, zeros(96))), ErrMalformed},
		{"two moovs", slices.Concat(good, box("moov")), ErrMalformed},
		{"trak without mdhd", box("moov", box("trak", fullBox("tkhd", 0, 0, zeros(80)))), ErrMalformed},
		{"nesting bomb", box("moov", nest(100_000)), ErrMalformed},
		{"child past parent", slices.Concat(u32(16), []byte("moov"), u32(100), []byte("trak")), ErrTruncated},
		{"timescale 0", initSegment(testTrack{id: 1, handler: "soun", timescale: 0, entry: audioEntry("mp4a", 2, 48000)}), ErrMalformed},
		{"short tkhd", box("moov", box("trak", fullBox("tkhd", 0, 0, zeros(10)))), ErrTruncated},
		{"short sample entry", initSegment(testTrack{id: 1, handler: "vide", timescale: 1, entry: box("avc1", zeros(20))}), ErrTruncated},
		{"duplicate track", initSegment(
			testTrack{id: 1, handler: "soun", timescale: 1, entry: audioEntry("mp4a", 2, 1)},
			testTrack{id: 1, handler: "soun", timescale: 1, entry: audioEntry("mp4a", 2, 1)}), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := ParseInit(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseInit = %+v, %v; want %v", in, err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestParseInitLargesizeAndSizeZero(t *testing.T) {
	good := avcInit()
	ftyp, moov := good[:24], good[24:]
	// moov in largesize form.
	large := slices.Concat(ftyp, u32(1), []byte("moov"), u64(uint64(len(moov)+8)), moov[8:])
	// moov with size 0: to the end of the file.
	toEnd := slices.Concat(ftyp, u32(0), moov[4:])
	for name, b := range map[string][]byte{"largesize": large, "size 0": toEnd} {
		in, err := ParseInit(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if in.Tracks[0].Codec != "avc1.64001f" {
			t.Fatalf("%s: %+v", name, in.Tracks[0])
		}
	}
}
