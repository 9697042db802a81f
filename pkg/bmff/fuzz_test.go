package bmff

import (
	"os"
	"reflect"
	"slices"
	"testing"
)

func readTestdata(f *testing.F, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseInit(f *testing.F) {
	for _, name := range []string{"init-video.mp4", "init-audio.mp4"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(avcInit())
	f.Add(initSegment(testTrack{id: 2, handler: "soun", timescale: 48000,
		entry: audioEntry("mp4a", 2, 48000, esds(0x40, []byte{0xeb, 0x09, 0x88})), trex: trex(2, 1024, 0, 0)}))
	f.Add(initSegment(testTrack{id: 3, handler: "vide", timescale: 1000,
		entry: visualEntry("hvc1", 1, 1, box("hvcC", []byte{1, 0x61}, zeros(20)))}))
	f.Add(initSegment(testTrack{id: 4, handler: "vide", timescale: 1000,
		entry: visualEntry("encv", 1, 1, box("sinf", box("frma", []byte("av01"))), box("av1C", []byte{0x81, 0x28, 0xc0, 0}))}))
	f.Add(initSegment(testTrack{id: 5, handler: "soun", timescale: 1000,
		entry: audioEntry("ec-3", 2, 48000, box("dec3", []byte{0x0c, 0x00, 0x20, 0x0f, 0x02, 0x06}))}))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := ParseInit(b)
		if err != nil {
			if in != nil {
				t.Fatal("an error and an Init")
			}
			return
		}
		if len(in.Tracks) == 0 {
			t.Fatal("no tracks and no error")
		}
		ids := map[uint32]bool{}
		for _, tr := range in.Tracks {
			if tr.Timescale == 0 || tr.Codec == "" || tr.Handler == "" || ids[tr.ID] {
				t.Fatalf("bad track %+v", tr)
			}
			ids[tr.ID] = true
			if in.Track(tr.ID).ID != tr.ID {
				t.Fatal("Track(id) finds another track")
			}
		}
		_ = in.Codecs()
	})
}

// FuzzScanner feeds the input whole and in chunks of the fuzzed size and
// requires the same fragments and the same error from both; fragments
// must lie in the input, in order, without overlap.
func FuzzScanner(f *testing.F) {
	videoInit, err := ParseInit(readTestdata(f, "init-video.mp4"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"seg-video.m4s", "seg-audio.m4s"} {
		f.Add(readTestdata(f, name), uint16(7), true)
	}
	m := moof(3, testTraf{id: 1, defDur: ptr(512), truns: []testTrun{{firstFlags: ptr(0x02000000), count: 3}, {durations: []uint32{1, 2}, flags: []uint32{0, 0x10000}}}})
	f.Add(slices.Concat(box("styp"), fullBox("prft", 1, 0, u32(1), u64(1), u64(2)), m, box("mdat", zeros(9))), uint16(1), true)
	f.Add(slices.Concat(largeBox("moof", m[8:]), largeBox("mdat", zeros(3))), uint16(3), false)
	f.Add(slices.Concat(m, u32(0), []byte("mdat"), zeros(5)), uint16(2), true)
	f.Add(slices.Concat(m, m, box("mdat")), uint16(100), false)
	cfg := DefaultConfig()
	cfg.MaxBoxSize, cfg.MaxMoofSize, cfg.MaxSamples = 1<<20, 4096, 1000
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, withInit bool) {
		in := videoInit
		if !withInit {
			in = nil
		}
		whole, werr := scanAll(t, cfg, in, data, nil)
		size := int(chunk%4096) + 1
		pieces, perr := scanAll(t, cfg, in, data, func() int { return size })
		if !reflect.DeepEqual(whole, pieces) || (werr == nil) != (perr == nil) || (werr != nil && werr.Error() != perr.Error()) {
			t.Fatalf("whole: %+v, %v\nin %d-byte pieces: %+v, %v", whole, werr, size, pieces, perr)
		}
		var end int64
		for _, fr := range whole {
			if fr.Offset < end || fr.Size <= 0 || fr.Offset+fr.Size > int64(len(data)) || fr.MoofOffset < fr.Offset {
				t.Fatalf("fragment %+v after offset %d in %d bytes", fr, end, len(data))
			}
			n := 0
			for _, tr := range fr.Tracks {
				n += tr.Samples
			}
			if n > cfg.MaxSamples {
				t.Fatalf("%d samples in a fragment", n)
			}
			end = fr.Offset + fr.Size
		}
	})
}
