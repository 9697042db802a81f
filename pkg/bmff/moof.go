package bmff

import "math/bits"

// tfhd flags (ISO/IEC 14496-12 8.8.7.1).
const (
	tfhdBaseDataOffset         = 0x000001
	tfhdSampleDescriptionIndex = 0x000002
	tfhdDefaultSampleDuration  = 0x000008
	tfhdDefaultSampleSize      = 0x000010
	tfhdDefaultSampleFlags     = 0x000020
)

// trun flags (8.8.8.1).
const (
	trunDataOffset       = 0x000001
	trunFirstSampleFlags = 0x000004
	trunSampleDuration   = 0x000100
	trunSampleSize       = 0x000200
	trunSampleFlags      = 0x000400
	trunSampleCTO        = 0x000800
)

// Sample flags (8.8.3.1): sample_depends_on occupies bits 24-25 and
// sample_is_non_sync_sample bit 16.
const (
	flagNonSync        = 0x00010000
	dependsOnShift     = 24
	dependsOnOthers    = 1
	sampleFlagsUnknown = 0
)

// isSync applies both signals: a sample is a sync sample unless it says it
// is not, or says it depends on other samples.
func isSync(flags uint32) bool {
	return flags&flagNonSync == 0 && flags>>dependsOnShift&3 != dependsOnOthers
}

// parseMoof reads the mfhd and every traf of a moof body. off is the
// stream offset of the moof box, bodyOff that of its payload.
func (s *Scanner) parseMoof(body []byte, off, bodyOff int64) (Fragment, error) {
	f := Fragment{MoofOffset: off}
	it := boxIter{b: body, base: bodyOff, path: [maxPath]fourcc{typMoof}, depth: 1}
	seenMfhd := false
	samples := 0
	for it.next() {
		switch it.typ {
		case typMfhd:
			c := cursor{b: it.body}
			c.fullBox()
			f.Sequence = c.u32()
			if c.short {
				return f, errorf(ErrTruncated, it.name(), it.off, "%d bytes, need 8", len(it.body))
			}
			seenMfhd = true
		case typTraf:
			if f.Tracks == nil {
				f.Tracks = make([]TrackFragment, 0, 1)
			}
			t, err := s.parseTraf(&it, &samples)
			if err != nil {
				return f, err
			}
			f.Tracks = append(f.Tracks, t)
		}
	}
	if it.err != nil {
		return f, it.err
	}
	if !seenMfhd {
		return f, errorf(ErrMalformed, "moof", off, "no mfhd")
	}
	return f, nil
}

func binary32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// trafDefaults are the per-sample values a trun falls back on.
type trafDefaults struct {
	duration    uint32
	hasDuration bool
	flags       uint32 // sampleFlagsUnknown (sync) when neither tfhd nor trex has one
}

// parseTraf reads tfhd, tfdt and the trun boxes of one traf; samples is
// the running total for the whole moof, checked against MaxSamples.
func (s *Scanner) parseTraf(traf *boxIter, samples *int) (TrackFragment, error) {
	var t TrackFragment
	var d trafDefaults
	seenTfhd, seenSample := false, false
	it := traf.child(0)
	for it.next() {
		switch it.typ {
		case typTfhd:
			if seenTfhd {
				return t, errorf(ErrMalformed, it.name(), it.off, "second tfhd")
			}
			seenTfhd = true
			var err error
			if t, d, err = s.parseTfhd(&it); err != nil {
				return t, err
			}
		case typTfdt:
			c := cursor{b: it.body}
			if v, _ := c.fullBox(); v == 1 {
				t.DecodeTime = c.u64()
			} else {
				t.DecodeTime = uint64(c.u32())
			}
			if c.short {
				return t, errorf(ErrTruncated, it.name(), it.off, "%d bytes, too short", len(it.body))
			}
			t.HasDecodeTime = true
		case typTrun:
			if !seenTfhd {
				return t, errorf(ErrMalformed, it.name(), it.off, "trun before tfhd")
			}
			if err := s.parseTrun(&it, &t, d, samples, &seenSample); err != nil {
				return t, err
			}
		}
	}
	if it.err != nil {
		return t, it.err
	}
	if !seenTfhd {
		return t, errorf(ErrMalformed, "moof/traf", traf.off, "no tfhd")
	}
	return t, nil
}

func (s *Scanner) parseTfhd(it *boxIter) (TrackFragment, trafDefaults, error) {
	var t TrackFragment
	var d trafDefaults
	c := cursor{b: it.body}
	_, flags := c.fullBox()
	t.TrackID = c.u32()
	if flags&tfhdBaseDataOffset != 0 {
		c.skip(8)
	}
	if flags&tfhdSampleDescriptionIndex != 0 {
		c.skip(4)
	}
	var tfhdDur, tfhdFlags uint32
	if flags&tfhdDefaultSampleDuration != 0 {
		tfhdDur = c.u32()
	}
	if flags&tfhdDefaultSampleSize != 0 {
		c.skip(4)
	}
	if flags&tfhdDefaultSampleFlags != 0 {
		tfhdFlags = c.u32()
	}
	if c.short {
		return t, d, errorf(ErrTruncated, it.name(), it.off, "%d bytes, too short for flags 0x%06x", len(it.body), flags)
	}
	d.flags = sampleFlagsUnknown
	if s.init != nil {
		tr := s.init.Track(t.TrackID)
		if tr == nil {
			return t, d, errorf(ErrMalformed, it.name(), it.off, "track %d is not in the init segment", t.TrackID)
		}
		t.Timescale = tr.Timescale
		if tr.HasDefaults {
			d.duration, d.hasDuration, d.flags = tr.DefaultSampleDuration, true, tr.DefaultSampleFlags
		}
	}
	if flags&tfhdDefaultSampleDuration != 0 {
		d.duration, d.hasDuration = tfhdDur, true
	}
	if flags&tfhdDefaultSampleFlags != 0 {
		d.flags = tfhdFlags
	}
	return t, d, nil
}

// parseTrun adds one trun's samples and duration to t; the first sample of
// the traf decides t.Independent.
func (s *Scanner) parseTrun(it *boxIter, t *TrackFragment, d trafDefaults, samples *int, seenSample *bool) error {
	c := cursor{b: it.body}
	_, flags := c.fullBox()
	count := c.u32()
	if flags&trunDataOffset != 0 {
		c.skip(4)
	}
	var firstFlags uint32
	if flags&trunFirstSampleFlags != 0 {
		firstFlags = c.u32()
	}
	if c.short {
		return errorf(ErrTruncated, it.name(), it.off, "%d bytes, too short for flags 0x%06x", len(it.body), flags)
	}
	if uint64(*samples)+uint64(count) > uint64(s.cfg.MaxSamples) {
		return errorf(ErrLimit, it.name(), it.off, "%d samples in this fragment, more than the limit of %d", uint64(*samples)+uint64(count), s.cfg.MaxSamples)
	}
	stride := 4 * bits.OnesCount32(flags&(trunSampleDuration|trunSampleSize|trunSampleFlags|trunSampleCTO))
	if uint64(len(c.b)) < uint64(count)*uint64(stride) {
		return errorf(ErrTruncated, it.name(), it.off, "%d samples of %d bytes need %d bytes, %d left", count, stride, uint64(count)*uint64(stride), len(c.b))
	}
	if count == 0 {
		return nil
	}
	*samples += int(count)
	t.Samples += int(count)

	if !*seenSample {
		*seenSample = true
		fl := d.flags
		switch {
		case flags&trunFirstSampleFlags != 0:
			fl = firstFlags
		case flags&trunSampleFlags != 0:
			at := 0
			if flags&trunSampleDuration != 0 {
				at += 4
			}
			if flags&trunSampleSize != 0 {
				at += 4
			}
			fl = binary32(c.b[at:])
		}
		t.Independent = isSync(fl)
	}

	if flags&trunSampleDuration == 0 {
		if !d.hasDuration {
			return errorf(ErrMalformed, it.name(), it.off, "track %d: no sample duration in trun, tfhd or trex", t.TrackID)
		}
		t.Duration += uint64(count) * uint64(d.duration)
		return nil
	}
	rec := c.b
	for i := uint32(0); i < count; i++ {
		t.Duration += uint64(binary32(rec))
		rec = rec[stride:]
	}
	return nil
}
