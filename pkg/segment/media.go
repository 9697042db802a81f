package segment

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MediaPlaylist is an HLS media playlist: one rendition's window of
// segments. Fields modelled here are rendered by AppendTo in the order
// ffmpeg writes them; every other tag is kept verbatim in Tags,
// MediaSegment.Tags or TrailingTags, so nothing an encoder wrote is lost.
type MediaPlaylist struct {
	Version               int // 0: no EXT-X-VERSION tag (protocol version 1)
	TargetDuration        int // seconds
	MediaSequence         uint64
	DiscontinuitySequence uint64
	PlaylistType          string // "", "EVENT" or "VOD"
	IndependentSegments   bool
	EndList               bool
	Segments              []MediaSegment
	// Tags are the uninterpreted tags before the first segment's URI line
	// (EXT-X-SERVER-CONTROL, EXT-X-PART-INF, EXT-X-START, ...), in order,
	// except the segment-level ones listed in MediaSegment.Tags. AppendTo
	// writes them after the header tags it models.
	Tags []Tag
	// TrailingTags are the tags after the last segment's URI (LL-HLS parts
	// and preload hints of the segment in progress, rendition reports), in
	// order. Segment tags with no segment after them land here verbatim.
	TrailingTags []Tag
}

// MediaSegment is one media segment: its URI line and the tags before it.
type MediaSegment struct {
	URI      string
	Duration float64 // EXTINF, seconds
	// DurationRaw is the EXTINF number as written ("2.000000"), so rendering
	// round-trips byte for byte. Clear it when changing Duration.
	DurationRaw string
	Title       string
	// Discontinuity is an EXT-X-DISCONTINUITY before this segment.
	Discontinuity bool
	// ProgramDateTime is EXT-X-PROGRAM-DATE-TIME in UTC; zero when absent.
	ProgramDateTime time.Time
	// ProgramDateTimeRaw is the value as written; clear it when changing
	// ProgramDateTime.
	ProgramDateTimeRaw string
	// Map is an EXT-X-MAP written before this segment; nil means no new
	// init segment here (see MediaPlaylist.MapFor).
	Map       *Map
	ByteRange string // raw EXT-X-BYTERANGE value "n[@o]", "" if none
	// Tags are the uninterpreted tags between the previous segment's URI
	// line and this one's, in order. Before the first segment only
	// segment-level tags go here (EXT-X-KEY, EXT-X-DATERANGE, EXT-X-GAP,
	// EXT-X-BITRATE, EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-CUE-*,
	// EXT-X-PREFETCH, ...); the others are MediaPlaylist.Tags. AppendTo
	// writes them before the segment's modelled tags.
	Tags []Tag
}

// Map is an EXT-X-MAP: the init segment of the segments that follow it.
type Map struct {
	URI       string
	ByteRange string // "n[@o]" without quotes, "" if none
}

// SequenceOf returns the media sequence number of Segments[i].
func (p *MediaPlaylist) SequenceOf(i int) uint64 { return p.MediaSequence + uint64(i) }

// LastSequence returns the media sequence number of the last segment;
// ok is false when the playlist has no segments.
func (p *MediaPlaylist) LastSequence() (seq uint64, ok bool) {
	if len(p.Segments) == 0 {
		return 0, false
	}
	return p.SequenceOf(len(p.Segments) - 1), true
}

// Duration returns the sum of the segments' EXTINF durations in seconds.
func (p *MediaPlaylist) Duration() float64 {
	var d float64
	for i := range p.Segments {
		d += p.Segments[i].Duration
	}
	return d
}

// MapFor returns the EXT-X-MAP in effect for Segments[i]: the last one
// written at or before it. It is nil when there is none or i is out of
// range.
func (p *MediaPlaylist) MapFor(i int) *Map {
	if i < 0 || i >= len(p.Segments) {
		return nil
	}
	for ; i >= 0; i-- {
		if m := p.Segments[i].Map; m != nil {
			return m
		}
	}
	return nil
}

// segmentTags are uninterpreted tags that belong to the segment after them
// even before the first segment, so they are not mistaken for header tags.
var segmentTags = [...]string{
	"#EXT-X-KEY", "#EXT-X-DATERANGE", "#EXT-X-GAP", "#EXT-X-BITRATE",
	"#EXT-X-PART", "#EXT-X-PRELOAD-HINT", "#EXT-X-RENDITION-REPORT",
	"#EXT-X-PREFETCH", "#EXT-X-PREFETCH-DISCONTINUITY",
	"#EXT-X-CUE-OUT", "#EXT-X-CUE-OUT-CONT", "#EXT-X-CUE-IN",
}

func isSegmentTag(name string) bool {
	for _, n := range segmentTags {
		if n == name {
			return true
		}
	}
	return false
}

// header tag bits, to reject duplicates.
const (
	seenVersion = 1 << iota
	seenTarget
	seenSequence
	seenDiscSequence
	seenType
	seenIndependent
	seenEndList
)

// mediaParser holds the state of ParseMedia between lines.
type mediaParser struct {
	p       *MediaPlaylist
	line    int
	seen    int          // seen* bits
	seg     MediaSegment // segment being built
	hasInf  bool
	pending []Tag // every tag of seg in order, for TrailingTags at EOF
	gotURI  bool  // a segment URI has been read
}

// ParseMedia parses an HLS media playlist. It accepts CRLF, blank lines, a
// BOM and comments (dropped) and keeps unknown tags verbatim. Every error
// wraps ErrSyntax and names the line. The playlist's strings share one copy
// of data.
func ParseMedia(data []byte) (*MediaPlaylist, error) {
	sc, err := startScanner(string(data))
	if err != nil {
		return nil, err
	}
	n := min(strings.Count(sc.s, "#EXTINF:"), MaxSegments)
	mp := mediaParser{p: &MediaPlaylist{Segments: make([]MediaSegment, 0, n)}}
	if err := scanLines(&sc, &mp); err != nil {
		return nil, err
	}
	if mp.hasInf {
		return nil, errAt(sc.line, "#EXTINF", "no segment URI before end of playlist")
	}
	if len(mp.pending) > 0 {
		mp.p.TrailingTags = append([]Tag(nil), mp.pending...)
	}
	return mp.p, nil
}

func (mp *mediaParser) at(line int) { mp.line = line }

func (mp *mediaParser) tag(t Tag) error {
	switch t.Name {
	case "#EXTINF", "#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-DISCONTINUITY", "#EXT-X-MAP", "#EXT-X-BYTERANGE":
		if err := mp.segmentTag(t); err != nil {
			return err
		}
		mp.pending = append(mp.pending, t)
		return nil
	case "#EXT-X-STREAM-INF", "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF":
		return errAt(mp.line, t.Name, "master playlist tag in a media playlist")
	}
	if handled, err := mp.headerTag(t); handled || err != nil {
		return err
	}
	if !mp.gotURI && !isSegmentTag(t.Name) {
		mp.p.Tags = append(mp.p.Tags, t)
		return nil
	}
	mp.seg.Tags = append(mp.seg.Tags, t)
	mp.pending = append(mp.pending, t)
	return nil
}

// segmentTag applies a tag modelled in MediaSegment to the segment being
// built.
func (mp *mediaParser) segmentTag(t Tag) error {
	s := &mp.seg
	if !t.HasValue && t.Name != "#EXT-X-DISCONTINUITY" {
		return errAt(mp.line, t.Name, "missing value")
	}
	dup := false
	switch t.Name {
	case "#EXTINF":
		dup = mp.hasInf
		mp.hasInf = true
		raw, title, _ := strings.Cut(t.Value, ",")
		d, ok := parseDecimal(raw)
		if !ok {
			return errAt(mp.line, t.Name, "bad duration %q", raw)
		}
		s.Duration, s.DurationRaw, s.Title = d, raw, title
	case "#EXT-X-PROGRAM-DATE-TIME":
		dup = s.ProgramDateTimeRaw != ""
		pdt, ok := parseDateTime(t.Value)
		if !ok {
			return errAt(mp.line, t.Name, "bad date-time %q", t.Value)
		}
		s.ProgramDateTime, s.ProgramDateTimeRaw = pdt, t.Value
	case "#EXT-X-DISCONTINUITY":
		if t.HasValue {
			return errAt(mp.line, t.Name, "unexpected value %q", t.Value)
		}
		dup = s.Discontinuity
		s.Discontinuity = true
	case "#EXT-X-MAP":
		dup = s.Map != nil
		m, err := parseMap(t.Value)
		if err != nil {
			return errAt(mp.line, t.Name, "%v", err)
		}
		s.Map = m
	case "#EXT-X-BYTERANGE":
		dup = s.ByteRange != ""
		if !validByteRange(t.Value) {
			return errAt(mp.line, t.Name, "bad byte range %q", t.Value)
		}
		s.ByteRange = t.Value
	}
	if dup {
		return errAt(mp.line, t.Name, "more than one for the same segment")
	}
	return nil
}

// parseMap parses the attributes of EXT-X-MAP: URI (required) and
// BYTERANGE, both quoted.
func parseMap(v string) (*Map, error) {
	attrs, err := parseAttrs(v)
	if err != nil {
		return nil, err
	}
	m := &Map{}
	for _, a := range attrs {
		s, ok := unquote(a.Value)
		switch {
		case a.Key != "URI" && a.Key != "BYTERANGE":
			return nil, fmt.Errorf("unknown attribute %s", a.Key)
		case !ok:
			return nil, fmt.Errorf("%s must be a quoted string", a.Key)
		case a.Key == "URI":
			m.URI = s
		case !validByteRange(s):
			return nil, fmt.Errorf("bad BYTERANGE %q", s)
		default:
			m.ByteRange = s
		}
	}
	if m.URI == "" {
		return nil, fmt.Errorf("missing URI")
	}
	return m, nil
}

// headerTag applies a playlist-wide tag. handled is false for tags it does
// not model.
func (mp *mediaParser) headerTag(t Tag) (handled bool, err error) {
	p := mp.p
	var bit int
	switch t.Name {
	case "#EXTM3U":
		err = errors.New("more than one")
	case "#EXT-X-INDEPENDENT-SEGMENTS":
		bit, err = seenIndependent, noValue(t)
		p.IndependentSegments = true
	case "#EXT-X-ENDLIST":
		bit, err = seenEndList, noValue(t)
		p.EndList = true
	case "#EXT-X-VERSION":
		bit = seenVersion
		p.Version, err = intValue(t)
	case "#EXT-X-TARGETDURATION":
		bit = seenTarget
		p.TargetDuration, err = intValue(t)
	case "#EXT-X-MEDIA-SEQUENCE":
		bit = seenSequence
		p.MediaSequence, err = uintValue(t)
	case "#EXT-X-DISCONTINUITY-SEQUENCE":
		bit = seenDiscSequence
		p.DiscontinuitySequence, err = uintValue(t)
	case "#EXT-X-PLAYLIST-TYPE":
		bit = seenType
		if p.PlaylistType = t.Value; t.Value != "EVENT" && t.Value != "VOD" {
			err = fmt.Errorf("bad type %q", t.Value)
		}
	default:
		return false, nil
	}
	if err == nil && mp.seen&bit != 0 {
		err = errors.New("more than one")
	}
	if err != nil {
		return true, errAt(mp.line, t.Name, "%v", err)
	}
	mp.seen |= bit
	return true, nil
}

// noValue checks a tag that takes no value.
func noValue(t Tag) error {
	if t.HasValue {
		return fmt.Errorf("unexpected value %q", t.Value)
	}
	return nil
}

// intValue parses a decimal-integer tag value that fits an int32.
func intValue(t Tag) (int, error) {
	n, ok := parseUint(t.Value, 31)
	if !ok {
		return 0, fmt.Errorf("bad integer %q", t.Value)
	}
	return int(n), nil
}

// uintValue parses a decimal-integer tag value.
func uintValue(t Tag) (uint64, error) {
	n, ok := parseUint(t.Value, 64)
	if !ok {
		return 0, fmt.Errorf("bad integer %q", t.Value)
	}
	return n, nil
}

// uri ends the segment being built.
func (mp *mediaParser) uri(line string) error {
	if !mp.hasInf {
		return errAt(mp.line, "", "segment URI %q without EXTINF", line)
	}
	if len(mp.p.Segments) >= MaxSegments {
		return errAt(mp.line, "", "more than %d segments", MaxSegments)
	}
	mp.seg.URI = line
	mp.p.Segments = append(mp.p.Segments, mp.seg)
	mp.seg = MediaSegment{}
	mp.hasInf = false
	mp.pending = mp.pending[:0]
	mp.gotURI = true
	return nil
}
