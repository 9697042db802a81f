package bmff

import (
	"fmt"
	"math/bits"
	"strings"
)

var (
	typEncv = fcc("encv")
	typEnca = fcc("enca")
	typAvc1 = fcc("avc1")
	typAvc3 = fcc("avc3")
	typAvcC = fcc("avcC")
	typHvc1 = fcc("hvc1")
	typHev1 = fcc("hev1")
	typHvcC = fcc("hvcC")
	typAv01 = fcc("av01")
	typAv1C = fcc("av1C")
	typVp09 = fcc("vp09")
	typVp08 = fcc("vp08")
	typVpcC = fcc("vpcC")
	typMp4a = fcc("mp4a")
	typEsds = fcc("esds")
	typOpus = fcc("Opus")
	typDOps = fcc("dOps")
	typAc3  = fcc("ac-3")
	typDac3 = fcc("dac3")
	typEc3  = fcc("ec-3")
	typDec3 = fcc("dec3")
	typFLaC = fcc("fLaC")
)

// Sizes of the fixed fields of sample entries before their child boxes
// (ISO/IEC 14496-12 12.1.3, 12.2.3).
const (
	visualEntryFixed = 78
	audioEntryFixed  = 28
)

// parseStsd fills the codec fields of t from the first sample entry.
func parseStsd(t *Track, stsd *boxIter) error {
	it := stsd.child(8) // FullBox header, entry_count
	if !it.next() {
		if it.err != nil {
			return it.err
		}
		return errorf(ErrMalformed, stsd.name(), stsd.off, "no sample entry")
	}
	format := it.typ
	children, err := entryFields(t, &it)
	if err != nil {
		return err
	}
	if children == nil { // neither audio nor video: the fourcc is all we say
		t.SampleEntry = format.String()
		t.Codec = t.SampleEntry
		return nil
	}
	// Collect the configuration boxes; an encrypted entry names its
	// original format in sinf/frma.
	cfg := map[fourcc][]byte{}
	for children.next() {
		if children.typ != typSinf {
			if _, dup := cfg[children.typ]; !dup {
				cfg[children.typ] = children.body
			}
			continue
		}
		frma, err := find(children, typFrma)
		if err != nil {
			return err
		}
		if len(frma.body) >= 4 && (format == typEncv || format == typEnca) {
			format = fourccOf(frma.body)
			t.Encrypted = true
		}
	}
	if children.err != nil {
		return children.err
	}
	if format == typEncv || format == typEnca {
		t.Encrypted = true
	}
	t.SampleEntry = format.String()
	t.Codec = codecString(t, format, cfg)
	return nil
}

// entryFields reads the fixed fields of a visual or audio sample entry
// and returns an iterator over its child boxes, or nil for other handlers.
func entryFields(t *Track, it *boxIter) (*boxIter, error) {
	c := cursor{b: it.body}
	var children boxIter
	switch t.Handler {
	case HandlerVideo:
		c.skip(24)
		w, h := int(c.u16()), int(c.u16())
		if c.short || len(it.body) < visualEntryFixed {
			return nil, errorf(ErrTruncated, it.name(), it.off, "visual sample entry of %d bytes", len(it.body))
		}
		if t.Width == 0 || t.Height == 0 {
			t.Width, t.Height = w, h
		}
		children = it.child(visualEntryFixed)
	case HandlerAudio:
		c.skip(8)
		qtVersion := c.u16()
		c.skip(6)
		t.Channels = int(c.u16())
		c.skip(6)
		t.SampleRate = int(c.u32() >> 16)
		if c.short {
			return nil, errorf(ErrTruncated, it.name(), it.off, "audio sample entry of %d bytes", len(it.body))
		}
		skip := audioEntryFixed
		switch qtVersion { // QuickTime sound descriptions carry more fields
		case 1:
			skip += 16
		case 2:
			skip += 36
		}
		children = it.child(skip)
	default:
		return nil, nil
	}
	return &children, nil
}

// codecString builds the RFC 6381 codecs parameter, falling back to the
// sample entry's fourcc.
func codecString(t *Track, format fourcc, cfg map[fourcc][]byte) string {
	name := format.String()
	switch format {
	case typAvc1, typAvc3:
		if b := cfg[typAvcC]; len(b) >= 4 {
			return fmt.Sprintf("%s.%02x%02x%02x", name, b[1], b[2], b[3])
		}
	case typHvc1, typHev1:
		if b := cfg[typHvcC]; len(b) >= 13 {
			return name + "." + hevcParams(b)
		}
	case typAv01:
		if b := cfg[typAv1C]; len(b) >= 3 {
			return av1Params(b)
		}
	case typVp09, typVp08:
		if b := cfg[typVpcC]; len(b) >= 7 && b[0] == 1 { // version 1 only
			return fmt.Sprintf("%s.%02d.%02d.%02d", name, b[4], b[5], b[6]>>4)
		}
	case typMp4a:
		if b, ok := cfg[typEsds]; ok {
			return mp4aCodec(t, b)
		}
		return "mp4a.40.2" // no esds: the only sane guess is AAC-LC
	case typOpus:
		if b := cfg[typDOps]; len(b) >= 2 && b[1] > 0 {
			t.Channels = int(b[1])
		}
		t.SampleRate = 48000 // Opus always decodes at 48 kHz
		return "opus"
	case typAc3:
		if b := cfg[typDac3]; len(b) >= 3 {
			ac3Config(t, b)
		}
		return "ac-3"
	case typEc3:
		if b := cfg[typDec3]; len(b) >= 5 {
			ec3Config(t, b)
		}
		return "ec-3"
	case typFLaC:
		return "flac"
	}
	return name
}

// hevcParams renders hvcC per ISO/IEC 14496-15 Annex E:
// [A-C]<profile_idc>.<compatibility flags, bit-reversed, hex>.<L|H><level_idc>[.<constraint byte>]...
// with trailing zero constraint bytes left out.
func hevcParams(b []byte) string {
	var sb strings.Builder
	if space := b[1] >> 6; space > 0 {
		sb.WriteByte('A' + space - 1)
	}
	fmt.Fprintf(&sb, "%d.%X.", b[1]&0x1f, bits.Reverse32(uint32(b[2])<<24|uint32(b[3])<<16|uint32(b[4])<<8|uint32(b[5])))
	if b[1]&0x20 != 0 {
		sb.WriteByte('H')
	} else {
		sb.WriteByte('L')
	}
	fmt.Fprintf(&sb, "%d", b[12])
	constraints := b[6:12]
	n := len(constraints)
	for n > 0 && constraints[n-1] == 0 {
		n--
	}
	for _, c := range constraints[:n] {
		fmt.Fprintf(&sb, ".%X", c)
	}
	return sb.String()
}

// av1Params renders av1C as av01.<profile>.<level><tier>.<bit depth>.
func av1Params(b []byte) string {
	profile, level := b[1]>>5, b[1]&0x1f
	tier := byte('M')
	if b[2]&0x80 != 0 {
		tier = 'H'
	}
	depth := 8
	if b[2]&0x40 != 0 {
		depth = 10
		if profile == 2 && b[2]&0x20 != 0 {
			depth = 12
		}
	}
	return fmt.Sprintf("av01.%d.%02d%c.%02d", profile, level, tier, depth)
}

// ac3Config reads channels and sample rate from dac3 (ETSI TS 102 366 F.4).
func ac3Config(t *Track, b []byte) {
	v := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	fscod := v >> 22
	acmod := v >> 11 & 7
	lfe := v >> 10 & 1
	if rate := [...]int{48000, 44100, 32000, 0}[fscod]; rate > 0 {
		t.SampleRate = rate
	}
	t.Channels = [...]int{2, 1, 2, 3, 3, 4, 4, 5}[acmod] + int(lfe)
}

// ec3Config reads the first independent substream of dec3 (ETSI TS 102
// 366 F.6): its sample rate, its channels and those its dependent
// substreams add (chan_loc: bit 0 Lc/Rc, 1 Lrs/Rrs, 2 Cs, 3 Ts, 4 Lsd/Rsd,
// 5 Lw/Rw, 6 Lvh/Rvh, 7 Cvh, 8 LFE2).
func ec3Config(t *Track, b []byte) {
	r := bitReader{b: b}
	r.read(13 + 3) // data_rate, num_ind_sub
	fscod := r.read(2)
	r.read(5 + 1 + 1 + 3) // bsid, reserved, asvc, bsmod
	acmod, lfe := r.read(3), r.read(1)
	r.read(3)
	channels := [...]int{2, 1, 2, 3, 3, 4, 4, 5}[acmod] + int(lfe)
	if r.read(4) > 0 { // num_dep_sub
		loc := r.read(9)
		for bit, n := range [...]int{2, 2, 1, 1, 2, 2, 2, 1, 1} {
			if loc>>bit&1 != 0 {
				channels += n
			}
		}
	}
	if r.short {
		return
	}
	t.Channels = channels
	if rate := [...]int{48000, 44100, 32000, 0}[fscod]; rate > 0 {
		t.SampleRate = rate
	}
}

// mp4aCodec reads an esds (ISO/IEC 14496-1 descriptors) for the object
// type and, for MPEG-4 audio, the AudioSpecificConfig.
func mp4aCodec(t *Track, esds []byte) string {
	c := cursor{b: esds}
	c.fullBox()
	es, ok := descriptor(&c, 0x03)
	if !ok {
		return "mp4a"
	}
	ec := cursor{b: es}
	ec.u16() // ES_ID
	flags := ec.u8()
	if flags&0x80 != 0 {
		ec.skip(2)
	}
	if flags&0x40 != 0 {
		ec.skip(int(ec.u8()))
	}
	if flags&0x20 != 0 {
		ec.skip(2)
	}
	dc, ok := descriptor(&ec, 0x04)
	if !ok {
		return "mp4a"
	}
	d := cursor{b: dc}
	oti := d.u8()
	d.skip(12) // streamType, bufferSizeDB, maxBitrate, avgBitrate
	if d.short {
		return "mp4a"
	}
	if oti != 0x40 {
		return fmt.Sprintf("mp4a.%02x", oti)
	}
	asc, ok := descriptor(&d, 0x05)
	if !ok || len(asc) == 0 {
		return "mp4a.40"
	}
	aot, rate, channels := audioSpecificConfig(asc)
	if aot == 0 {
		return "mp4a.40"
	}
	if rate > 0 {
		t.SampleRate = rate
	}
	if channels > 0 {
		t.Channels = channels
	}
	return fmt.Sprintf("mp4a.40.%d", aot)
}

// descriptor finds the next descriptor with the given tag among those left
// in c, skipping others, and returns its payload.
func descriptor(c *cursor, tag uint8) ([]byte, bool) {
	for len(c.b) > 0 && !c.short {
		t := c.u8()
		size := 0
		for i := 0; i < 4; i++ {
			b := c.u8()
			size = size<<7 | int(b&0x7f)
			if b&0x80 == 0 {
				break
			}
		}
		if size > len(c.b) {
			size = len(c.b) // writers get this wrong; trust the parent's bound
		}
		p := c.take(size)
		if c.short {
			return nil, false
		}
		if t == tag {
			return p, true
		}
	}
	return nil, false
}

var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// audioSpecificConfig reads the object type, output sample rate and
// channel count (ISO/IEC 14496-3 1.6.2.1). Zeros mean unknown.
func audioSpecificConfig(b []byte) (aot, rate, channels int) {
	r := bitReader{b: b}
	aot = objectType(&r)
	rate = samplingFrequency(&r)
	channels = int(r.read(4))
	if aot == 5 || aot == 29 { // explicit SBR (and PS): the output rate is the extension's
		if ext := samplingFrequency(&r); ext > 0 {
			rate = ext
		}
		if aot == 29 {
			channels = 2
		}
	}
	switch {
	case channels == 7:
		channels = 8
	case channels > 7:
		channels = 0
	}
	if r.short {
		return aot, 0, 0
	}
	return aot, rate, channels
}

func objectType(r *bitReader) int {
	aot := int(r.read(5))
	if aot == 31 {
		aot = 32 + int(r.read(6))
	}
	return aot
}

func samplingFrequency(r *bitReader) int {
	i := r.read(4)
	if i == 0xf {
		return int(r.read(24))
	}
	if int(i) < len(aacRates) {
		return aacRates[i]
	}
	return 0
}

type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for ; n > 0; n-- {
		if r.pos>>3 >= len(r.b) {
			r.short = true
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos>>3]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v
}
