package bmff

import (
	"encoding/binary"
	"slices"
)

// Hand-made boxes for tests. Sizes are computed, so a test that wants a
// lie patches the bytes afterwards.

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func box(typ string, payload ...[]byte) []byte {
	body := slices.Concat(payload...)
	return slices.Concat(u32(uint32(8+len(body))), []byte(typ), body)
}

// largeBox writes the 64-bit largesize form.
func largeBox(typ string, payload ...[]byte) []byte {
	body := slices.Concat(payload...)
	return slices.Concat(u32(1), []byte(typ), u64(uint64(16+len(body))), body)
}

func fullBox(typ string, version uint8, flags uint32, payload ...[]byte) []byte {
	return box(typ, append([][]byte{u32(uint32(version)<<24 | flags)}, payload...)...)
}

func zeros(n int) []byte { return make([]byte, n) }

// testTrack describes a track of a hand-made init segment.
type testTrack struct {
	id        uint32
	handler   string
	timescale uint32
	entry     []byte // the sample entry box
	trex      []byte // nil: no trex
}

func visualEntry(typ string, w, h uint16, children ...[]byte) []byte {
	fixed := slices.Concat(zeros(6), u16(1), zeros(16), u16(w), u16(h), u32(0x00480000), u32(0x00480000),
		zeros(4), u16(1), zeros(32), u16(0x18), u16(0xffff))
	return box(typ, append([][]byte{fixed}, children...)...)
}

func audioEntry(typ string, channels, rate uint16, children ...[]byte) []byte {
	fixed := slices.Concat(zeros(6), u16(1), zeros(8), u16(channels), u16(16), zeros(4), u32(uint32(rate)<<16))
	return box(typ, append([][]byte{fixed}, children...)...)
}

func trex(id, dur, size, flags uint32) []byte {
	return fullBox("trex", 0, 0, u32(id), u32(1), u32(dur), u32(size), u32(flags))
}

func initSegment(tracks ...testTrack) []byte {
	var traks, trexes [][]byte
	for _, t := range tracks {
		tkhd := fullBox("tkhd", 0, 3, zeros(8), u32(t.id), zeros(4), zeros(4), zeros(8), zeros(8), zeros(36), u32(0), u32(0))
		mdhd := fullBox("mdhd", 0, 0, zeros(8), u32(t.timescale), zeros(4), u16(0x55c4), zeros(2))
		hdlr := fullBox("hdlr", 0, 0, zeros(4), []byte(t.handler), zeros(12), []byte("h\x00"))
		stsd := fullBox("stsd", 0, 0, u32(1), t.entry)
		traks = append(traks, box("trak", tkhd, box("mdia", mdhd, hdlr, box("minf", box("stbl", stsd)))))
		if t.trex != nil {
			trexes = append(trexes, t.trex)
		}
	}
	mvhd := fullBox("mvhd", 0, 0, zeros(8), u32(1000), zeros(4), zeros(80))
	moov := box("moov", append(append([][]byte{mvhd}, traks...), box("mvex", trexes...))...)
	return slices.Concat(box("ftyp", []byte("iso5"), u32(512), []byte("iso6mp41")), moov)
}

// avcInit is an init segment with one 1280x720 H.264 track, id 1,
// timescale 90000, trex defaults: 3000 per sample, non-sync.
func avcInit() []byte {
	avcC := box("avcC", []byte{1, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0})
	return initSegment(testTrack{id: 1, handler: "vide", timescale: 90000,
		entry: visualEntry("avc1", 1280, 720, avcC), trex: trex(1, 3000, 0, 0x01010000)})
}

// testTrun describes one trun: per-sample fields are present when their
// slices are non-nil.
type testTrun struct {
	durations  []uint32
	sizes      []uint32
	flags      []uint32
	firstFlags *uint32
	count      int // used when no per-sample slice is given
}

func (r testTrun) bytes() []byte {
	var flags uint32 = trunDataOffset
	n := r.count
	var head [][]byte
	if r.firstFlags != nil {
		flags |= trunFirstSampleFlags
	}
	if r.durations != nil {
		flags |= trunSampleDuration
		n = len(r.durations)
	}
	if r.sizes != nil {
		flags |= trunSampleSize
		n = len(r.sizes)
	}
	if r.flags != nil {
		flags |= trunSampleFlags
		n = len(r.flags)
	}
	head = append(head, u32(uint32(n)), u32(0))
	if r.firstFlags != nil {
		head = append(head, u32(*r.firstFlags))
	}
	for i := 0; i < n; i++ {
		if r.durations != nil {
			head = append(head, u32(r.durations[i]))
		}
		if r.sizes != nil {
			head = append(head, u32(r.sizes[i]))
		}
		if r.flags != nil {
			head = append(head, u32(r.flags[i]))
		}
	}
	return fullBox("trun", 0, flags, head...)
}

// testTraf describes one traf; tfhd defaults are written when non-nil.
type testTraf struct {
	id         uint32
	decodeTime uint64
	noTfdt     bool
	defDur     *uint32
	defFlags   *uint32
	truns      []testTrun
}

func (tf testTraf) bytes() []byte {
	flags := uint32(0x020000) // default-base-is-moof
	fields := [][]byte{u32(tf.id)}
	if tf.defDur != nil {
		flags |= tfhdDefaultSampleDuration
		fields = append(fields, u32(*tf.defDur))
	}
	if tf.defFlags != nil {
		flags |= tfhdDefaultSampleFlags
		fields = append(fields, u32(*tf.defFlags))
	}
	parts := [][]byte{fullBox("tfhd", 0, flags, fields...)}
	if !tf.noTfdt {
		parts = append(parts, fullBox("tfdt", 1, 0, u64(tf.decodeTime)))
	}
	for _, r := range tf.truns {
		parts = append(parts, r.bytes())
	}
	return box("traf", parts...)
}

func moof(seq uint32, trafs ...testTraf) []byte {
	parts := [][]byte{fullBox("mfhd", 0, 0, u32(seq))}
	for _, tf := range trafs {
		parts = append(parts, tf.bytes())
	}
	return box("moof", parts...)
}

func ptr(v uint32) *uint32 { return &v }
