package bmff

import "time"

// Fragment is one movie fragment of a media stream: the moof, its mdat and
// the boxes that came just before the moof (styp, sidx, prft, emsg, ...),
// so that consecutive fragments tile the stream.
type Fragment struct {
	// Offset is the stream offset of the fragment's first box and Size its
	// length through the end of the mdat: bytes [Offset, Offset+Size).
	Offset, Size int64
	// MoofOffset is the stream offset of the moof box (trun data offsets
	// with default-base-is-moof count from here).
	MoofOffset int64
	// Sequence is the mfhd sequence_number.
	Sequence uint32
	// Tracks has one entry per traf, in order.
	Tracks []TrackFragment
	// Producer is the last prft before the moof, nil if none.
	Producer *ProducerReference
}

// TrackFragment is what one traf says about its samples.
type TrackFragment struct {
	TrackID uint32
	// Timescale is the track's media timescale from the init segment, 0
	// when the scanner has no init segment (or no such track).
	Timescale uint32
	// DecodeTime is the tfdt baseMediaDecodeTime; HasDecodeTime is false
	// when the traf has no tfdt.
	DecodeTime    uint64
	HasDecodeTime bool
	// Duration is the sum of the sample durations in Timescale units.
	Duration uint64
	Samples  int
	// Independent is true when the first sample is a sync sample: its
	// flags (trun first-sample-flags, else its own flags, else the tfhd
	// then trex defaults, else none, meaning sync) have
	// sample_is_non_sync_sample clear and sample_depends_on != 1.
	Independent bool
}

// Seconds is Duration in seconds, 0 if the timescale is unknown.
func (t TrackFragment) Seconds() float64 {
	if t.Timescale == 0 {
		return 0
	}
	return float64(t.Duration) / float64(t.Timescale)
}

// Seconds is the longest track duration of the fragment in seconds (the
// part duration of an LL-HLS part made from it).
func (f *Fragment) Seconds() float64 {
	var s float64
	for _, t := range f.Tracks {
		s = max(s, t.Seconds())
	}
	return s
}

// Independent reports whether the fragment can be decoded without the one
// before it: it has samples, and every track with samples starts with a
// sync sample (LL-HLS INDEPENDENT=YES).
func (f *Fragment) Independent() bool {
	some := false
	for _, t := range f.Tracks {
		if t.Samples == 0 {
			continue
		}
		if !t.Independent {
			return false
		}
		some = true
	}
	return some
}

// ProducerReference is a prft box: the wall-clock time (NTP format) at
// which the sample with decode time MediaTime of track TrackID was
// produced or captured.
type ProducerReference struct {
	TrackID   uint32
	NTP       uint64
	MediaTime uint64
}

// ntpEpochOffset is 1900-01-01 to 1970-01-01 in seconds.
const ntpEpochOffset = 2208988800

// Time converts the NTP timestamp to a time.Time.
func (p ProducerReference) Time() time.Time {
	secs := int64(p.NTP>>32) - ntpEpochOffset
	nanos := int64((p.NTP & 0xffffffff) * 1e9 >> 32)
	return time.Unix(secs, nanos).UTC()
}
