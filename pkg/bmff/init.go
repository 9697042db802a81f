package bmff

import (
	"strings"
)

// Handler types (hdlr) of the tracks a live packager meets.
const (
	HandlerVideo    = "vide"
	HandlerAudio    = "soun"
	HandlerSubtitle = "subt"
	HandlerText     = "text"
)

// Init is what an init segment (ftyp + moov) says about its tracks.
type Init struct {
	MajorBrand       string
	CompatibleBrands []string
	// Timescale is the movie timescale (mvhd); track times use Track.Timescale.
	Timescale uint32
	// Fragmented is true when moov has an mvex: media comes in moof+mdat.
	Fragmented bool
	Tracks     []Track
}

// Track is one trak of an init segment, with its trex defaults.
type Track struct {
	ID uint32
	// Handler is the hdlr handler_type: HandlerVideo, HandlerAudio or
	// anything else, verbatim (non-printable bytes escaped).
	Handler string
	// Timescale is the media timescale (mdhd): units per second of every
	// decode time and duration of this track. Never 0.
	Timescale uint32
	// Language is the mdhd ISO 639-2/T code ("und", "eng"), "" if unset.
	Language string
	// SampleEntry is the fourcc of the first sample entry (stsd), such as
	// "avc1" or "mp4a"; for an encrypted track ("encv", "enca") it is the
	// original format named by sinf/frma and Encrypted is true.
	SampleEntry string
	Encrypted   bool
	// Codec is the RFC 6381 codecs parameter for this track ("avc1.64001f",
	// "hvc1.1.6.L93.90", "mp4a.40.2", "av01.0.04M.08", "vp09.00.10.08",
	// "opus", "ac-3", "ec-3", "flac"), or SampleEntry when the
	// configuration box is unknown or missing.
	Codec string
	// Width and Height (video) are the display size from tkhd, or the
	// coded size from the sample entry when tkhd says 0.
	Width, Height int
	// SampleRate (Hz) and Channels (audio) come from the decoder
	// configuration (AudioSpecificConfig, dOps, dac3) when there is one,
	// else from the sample entry.
	SampleRate int
	Channels   int
	// The trex defaults, used by fragments whose tfhd and trun give no
	// per-sample value. HasDefaults is false when mvex has no trex for
	// this track.
	DefaultSampleDuration uint32
	DefaultSampleSize     uint32
	DefaultSampleFlags    uint32
	HasDefaults           bool
}

// Track returns the track with the given ID, or nil.
func (in *Init) Track(id uint32) *Track {
	for i := range in.Tracks {
		if in.Tracks[i].ID == id {
			return &in.Tracks[i]
		}
	}
	return nil
}

// Codecs joins the tracks' codec strings with commas, in track order, as
// the CODECS attribute of an HLS variant wants them.
func (in *Init) Codecs() string {
	cs := make([]string, len(in.Tracks))
	for i, t := range in.Tracks {
		cs[i] = t.Codec
	}
	return strings.Join(cs, ",")
}

// ParseInit reads an init segment: ftyp (optional) and moov with one trak
// per track. Boxes it does not need are skipped; media boxes (moof, mdat)
// after the moov are ignored, so a whole progressive file parses too. It
// never panics and wraps ErrMalformed or ErrTruncated on failure.
func ParseInit(b []byte) (*Init, error) {
	in := &Init{}
	seenMoov := false
	it := boxIter{b: b}
	for it.next() {
		switch it.typ {
		case typFtyp:
			parseFtyp(in, it.body)
		case typMoov:
			if seenMoov {
				return nil, errorf(ErrMalformed, "moov", it.off, "second moov")
			}
			seenMoov = true
			if err := parseMoov(in, &it); err != nil {
				return nil, err
			}
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	if !seenMoov {
		return nil, errorf(ErrMalformed, "", -1, "init segment has no moov")
	}
	return in, nil
}

func parseFtyp(in *Init, body []byte) {
	if len(body) < 8 {
		return
	}
	in.MajorBrand = fourccOf(body).String()
	for p := body[8:]; len(p) >= 4; p = p[4:] {
		in.CompatibleBrands = append(in.CompatibleBrands, fourccOf(p).String())
	}
}

func fourccOf(p []byte) fourcc {
	return fourcc(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
}

func parseMoov(in *Init, moov *boxIter) error {
	it := moov.child(0)
	for it.next() {
		switch it.typ {
		case typMvhd:
			c := cursor{b: it.body}
			if v, _ := c.fullBox(); v == 1 {
				c.skip(16)
			} else {
				c.skip(8)
			}
			in.Timescale = c.u32()
			if c.short {
				return errorf(ErrTruncated, it.name(), it.off, "too short for its timescale")
			}
		case typTrak:
			t, err := parseTrak(&it)
			if err != nil {
				return err
			}
			if in.Track(t.ID) != nil {
				return errorf(ErrMalformed, it.name(), it.off, "track ID %d used twice", t.ID)
			}
			in.Tracks = append(in.Tracks, t)
		case typMvex:
			in.Fragmented = true
		}
	}
	if it.err != nil {
		return it.err
	}
	if len(in.Tracks) == 0 {
		return errorf(ErrMalformed, "moov", moov.off, "no trak")
	}
	// Read mvex again now that every track is known (mvex may come first).
	it = moov.child(0)
	for it.next() {
		if it.typ == typMvex {
			if err := parseMvex(in, &it); err != nil {
				return err
			}
		}
	}
	return it.err
}

// parseMvex sets the trex defaults of the tracks it names.
func parseMvex(in *Init, mvex *boxIter) error {
	it := mvex.child(0)
	for it.next() {
		if it.typ != typTrex {
			continue
		}
		c := cursor{b: it.body}
		c.fullBox()
		id := c.u32()
		c.u32() // default_sample_description_index
		dur, size, flags := c.u32(), c.u32(), c.u32()
		if c.short {
			return errorf(ErrTruncated, it.name(), it.off, "%d bytes, need 24", len(it.body))
		}
		if t := in.Track(id); t != nil {
			t.DefaultSampleDuration, t.DefaultSampleSize, t.DefaultSampleFlags = dur, size, flags
			t.HasDefaults = true
		}
	}
	return it.err
}

func parseTrak(trak *boxIter) (Track, error) {
	var t Track
	var seenTkhd, seenMdia bool
	it := trak.child(0)
	for it.next() {
		switch it.typ {
		case typTkhd:
			if err := parseTkhd(&t, &it); err != nil {
				return t, err
			}
			seenTkhd = true
		case typMdia:
			if err := parseMdia(&t, &it); err != nil {
				return t, err
			}
			seenMdia = true
		}
	}
	switch {
	case it.err != nil:
		return t, it.err
	case !seenTkhd:
		return t, errorf(ErrMalformed, "moov/trak", trak.off, "no tkhd")
	case !seenMdia:
		return t, errorf(ErrMalformed, "moov/trak", trak.off, "track %d has no mdia", t.ID)
	}
	return t, nil
}

func parseTkhd(t *Track, it *boxIter) error {
	c := cursor{b: it.body}
	if v, _ := c.fullBox(); v == 1 {
		c.skip(16)
		t.ID = c.u32()
		c.skip(4 + 8)
	} else {
		c.skip(8)
		t.ID = c.u32()
		c.skip(4 + 4)
	}
	c.skip(8 + 2 + 2 + 2 + 2 + 36) // reserved, layer, group, volume, reserved, matrix
	t.Width, t.Height = int(c.u32()>>16), int(c.u32()>>16)
	if c.short {
		return errorf(ErrTruncated, it.name(), it.off, "%d bytes, too short", len(it.body))
	}
	return nil
}

// parseMdia reads mdhd and hdlr, then the sample description
// (minf/stbl/stsd), which needs the handler.
func parseMdia(t *Track, mdia *boxIter) error {
	var seenMdhd, seenHdlr bool
	var stsd boxIter
	it := mdia.child(0)
	for it.next() {
		switch it.typ {
		case typMdhd:
			c := cursor{b: it.body}
			if v, _ := c.fullBox(); v == 1 {
				c.skip(16)
				t.Timescale = c.u32()
				c.skip(8)
			} else {
				c.skip(8)
				t.Timescale = c.u32()
				c.skip(4)
			}
			t.Language = language(c.u16())
			if c.short {
				return errorf(ErrTruncated, it.name(), it.off, "%d bytes, too short", len(it.body))
			}
			if t.Timescale == 0 {
				return errorf(ErrMalformed, it.name(), it.off, "timescale 0")
			}
			seenMdhd = true
		case typHdlr:
			if len(it.body) < 12 {
				return errorf(ErrTruncated, it.name(), it.off, "%d bytes, need 12", len(it.body))
			}
			t.Handler = fourccOf(it.body[8:]).String()
			seenHdlr = true
		case typMinf:
			var err error
			if stsd, err = find(&it, typStbl, typStsd); err != nil {
				return err
			}
		}
	}
	switch {
	case it.err != nil:
		return it.err
	case !seenMdhd:
		return errorf(ErrMalformed, "moov/trak/mdia", mdia.off, "track %d has no mdhd", t.ID)
	case !seenHdlr:
		return errorf(ErrMalformed, "moov/trak/mdia", mdia.off, "track %d has no hdlr", t.ID)
	case stsd.body == nil:
		return errorf(ErrMalformed, "moov/trak/mdia", mdia.off, "track %d has no minf/stbl/stsd", t.ID)
	}
	return parseStsd(t, &stsd)
}

// find descends from parent through the first child of each type in path
// and returns an iterator positioned on the last; its body is nil when
// some box is missing.
func find(parent *boxIter, path ...fourcc) (boxIter, error) {
	cur := *parent
	for _, typ := range path {
		it := cur.child(0)
		found := false
		for !found && it.next() {
			found = it.typ == typ
		}
		if it.err != nil {
			return boxIter{}, it.err
		}
		if !found {
			return boxIter{}, nil
		}
		cur = it
	}
	return cur, nil
}

// language decodes mdhd's packed ISO 639-2/T code.
func language(v uint16) string {
	if v == 0 {
		return ""
	}
	b := [3]byte{byte(v>>10&31) + 0x60, byte(v>>5&31) + 0x60, byte(v&31) + 0x60}
	for _, c := range b {
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	return string(b[:])
}
