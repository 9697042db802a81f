package segment

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Errors of Validate and CheckNext.
var (
	// ErrInvalid is wrapped by every problem Validate reports: a playlist
	// breaking a rule of RFC 8216 that this package checks.
	ErrInvalid = errors.New("segment: invalid playlist")
	// ErrSequenceRegressed is returned by CheckNext when the next
	// playlist's EXT-X-MEDIA-SEQUENCE is lower than the current one's.
	ErrSequenceRegressed = errors.New("segment: media sequence regressed")
	// ErrTargetDurationChanged is returned by CheckNext when
	// EXT-X-TARGETDURATION changes, which RFC 8216 forbids.
	ErrTargetDurationChanged = errors.New("segment: target duration changed")
	// ErrInconsistent is returned by CheckNext when the next playlist
	// rewrites what the current one published: a segment's URI, duration,
	// discontinuity or init segment, the discontinuity sequence, segments
	// removed from the end, or anything after EXT-X-ENDLIST.
	ErrInconsistent = errors.New("segment: inconsistent playlist update")
)

// maxProblems caps how many problems Validate reports one by one.
const maxProblems = 20

// problems collects Validate findings, each wrapping ErrInvalid.
type problems struct {
	errs []error
	more int
}

func (ps *problems) add(format string, args ...any) {
	if len(ps.errs) == maxProblems {
		ps.more++
		return
	}
	ps.errs = append(ps.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
}

func (ps *problems) err() error {
	if ps.more > 0 {
		ps.errs = append(ps.errs, fmt.Errorf("%w: %d more problems", ErrInvalid, ps.more))
	}
	return errors.Join(ps.errs...)
}

// badText reports whether s cannot be written on one playlist line.
func badText(s string) bool { return strings.ContainsAny(s, "\r\n") }

// checkTags checks that tags can be written and read back as themselves:
// each name starts with #EXT, and neither name nor value breaks the line.
// Names listed in modelled belong in typed fields instead.
func (ps *problems) checkTags(where string, tags []Tag, modelled []string) {
	for _, t := range tags {
		switch {
		case !strings.HasPrefix(t.Name, "#EXT") || strings.ContainsAny(t.Name, ":\r\n"):
			ps.add("%s: bad tag name %q", where, t.Name)
		case badText(t.Value):
			ps.add("%s: %s: line break in value", where, t.Name)
		case contains(modelled, t.Name):
			ps.add("%s: %s belongs in a typed field, not in Tags", where, t.Name)
		}
	}
}

// Tag names a media playlist models, by where they may not appear as Tag.
var (
	mediaHeaderTags = []string{
		"#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE",
		"#EXT-X-DISCONTINUITY-SEQUENCE", "#EXT-X-PLAYLIST-TYPE", "#EXT-X-INDEPENDENT-SEGMENTS",
		"#EXT-X-ENDLIST", "#EXTINF", "#EXT-X-STREAM-INF", "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF",
	}
	mediaAllTags = append(mediaHeaderTags[:len(mediaHeaderTags):len(mediaHeaderTags)],
		"#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-DISCONTINUITY", "#EXT-X-MAP", "#EXT-X-BYTERANGE")
	masterModelled = []string{
		"#EXTM3U", "#EXT-X-VERSION", "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-STREAM-INF", "#EXT-X-MEDIA",
	}
)

// versionNeed tracks the lowest EXT-X-VERSION the features in use require
// (RFC 8216 section 7).
type versionNeed struct {
	version int
	feature string
}

func (n *versionNeed) require(version int, feature string) {
	if version > n.version {
		n.version, n.feature = version, feature
	}
}

// Validate checks the playlist against the rules of RFC 8216 that matter
// to an origin: a positive target duration that no segment's EXTINF
// exceeds once rounded, finite non-negative durations, non-empty URIs, an
// EXT-X-VERSION high enough for the features used, and fields that render
// back to themselves. It reports every problem (errors.Join), each
// wrapping ErrInvalid and naming the segment by sequence number and URI.
func (p *MediaPlaylist) Validate() error {
	var ps problems
	if p.TargetDuration <= 0 || p.TargetDuration > MaxTargetDuration {
		ps.add("EXT-X-TARGETDURATION %d, want 1 to %d", p.TargetDuration, MaxTargetDuration)
	}
	if p.Version < 0 {
		ps.add("EXT-X-VERSION %d", p.Version)
	}
	if p.PlaylistType != "" && p.PlaylistType != "EVENT" && p.PlaylistType != "VOD" {
		ps.add("EXT-X-PLAYLIST-TYPE %q, want EVENT or VOD", p.PlaylistType)
	}
	if p.MediaSequence > math.MaxUint64-uint64(len(p.Segments)) {
		ps.add("media sequence %d overflows", p.MediaSequence)
	}
	ps.checkTags("header", p.Tags, mediaAllTags)
	ps.checkTags("trailing", p.TrailingTags, mediaHeaderTags)
	iframes := false
	for _, t := range p.Tags {
		iframes = iframes || t.Name == "#EXT-X-I-FRAMES-ONLY"
	}
	var need versionNeed
	for i := range p.Segments {
		p.checkSegment(&ps, i, &need)
		p.checkSegmentExtras(&ps, i, &need, iframes)
	}
	if v := max(p.Version, 1); v < need.version {
		ps.add("EXT-X-VERSION %d too low for %s (needs %d)", v, need.feature, need.version)
	}
	return ps.err()
}

// checkSegment checks a segment's URI, duration and title.
func (p *MediaPlaylist) checkSegment(ps *problems, i int, need *versionNeed) {
	s := &p.Segments[i]
	seq := p.SequenceOf(i)
	if s.URI == "" || badText(s.URI) || strings.HasPrefix(s.URI, "#") {
		ps.add("sequence %d: bad URI %q", seq, s.URI)
	}
	d := s.Duration
	switch {
	case math.IsNaN(d) || math.IsInf(d, 0) || d < 0:
		ps.add("sequence %d (%s): bad duration %v", seq, s.URI, d)
	case p.TargetDuration > 0 && math.Round(d) > float64(p.TargetDuration):
		ps.add("sequence %d (%s): EXTINF %v rounds above target duration %d", seq, s.URI, d, p.TargetDuration)
	}
	if s.DurationRaw != "" {
		if f, ok := parseDecimal(s.DurationRaw); !ok || f != d {
			ps.add("sequence %d (%s): DurationRaw %q does not match Duration %v", seq, s.URI, s.DurationRaw, d)
		}
	}
	if strings.Contains(s.DurationRaw, ".") || s.DurationRaw == "" && d != math.Trunc(d) {
		need.require(3, "decimal EXTINF durations")
	}
	if badText(s.Title) {
		ps.add("sequence %d (%s): line break in title", seq, s.URI)
	}
}

// checkSegmentExtras checks a segment's optional tags.
func (p *MediaPlaylist) checkSegmentExtras(ps *problems, i int, need *versionNeed, iframes bool) {
	s := &p.Segments[i]
	seq := p.SequenceOf(i)
	if s.ProgramDateTimeRaw != "" {
		if t, ok := parseDateTime(s.ProgramDateTimeRaw); !ok || !t.Equal(s.ProgramDateTime) {
			ps.add("sequence %d (%s): ProgramDateTimeRaw %q does not match ProgramDateTime", seq, s.URI, s.ProgramDateTimeRaw)
		}
	} else if y := s.ProgramDateTime.Year(); !s.ProgramDateTime.IsZero() && (y < 0 || y > 9999) {
		ps.add("sequence %d (%s): program date-time year %d", seq, s.URI, y)
	}
	if s.ByteRange != "" {
		need.require(4, "EXT-X-BYTERANGE")
		switch {
		case !validByteRange(s.ByteRange):
			ps.add("sequence %d (%s): bad byte range %q", seq, s.URI, s.ByteRange)
		case !strings.Contains(s.ByteRange, "@") && (i == 0 || p.Segments[i-1].ByteRange == "" || p.Segments[i-1].URI != s.URI):
			ps.add("sequence %d (%s): byte range without offset must follow a range of the same URI", seq, s.URI)
		}
	}
	if m := s.Map; m != nil {
		if iframes {
			need.require(5, "EXT-X-MAP")
		} else {
			need.require(6, "EXT-X-MAP")
		}
		if m.URI == "" || strings.ContainsAny(m.URI, "\"\r\n") || m.ByteRange != "" && !validByteRange(m.ByteRange) {
			ps.add("sequence %d (%s): bad EXT-X-MAP URI %q BYTERANGE %q", seq, s.URI, m.URI, m.ByteRange)
		}
	}
	if len(s.Tags) > 0 {
		ps.checkTags(fmt.Sprintf("sequence %d (%s)", seq, s.URI), s.Tags, mediaAllTags)
	}
}

// Validate checks the master playlist: at least one variant, each with a
// positive BANDWIDTH and a URI; every EXT-X-MEDIA with TYPE, GROUP-ID and
// NAME (unique within its group); every AUDIO, VIDEO, SUBTITLES and
// CLOSED-CAPTIONS group a variant names defined by an EXT-X-MEDIA of that
// type; and typed fields that agree with Attrs. It reports every problem
// (errors.Join), each wrapping ErrInvalid.
func (p *MasterPlaylist) Validate() error {
	var ps problems
	if len(p.Variants) == 0 {
		ps.add("no variants (EXT-X-STREAM-INF)")
	}
	if p.Version < 0 {
		ps.add("EXT-X-VERSION %d", p.Version)
	}
	ps.checkTags("header", p.Tags, masterModelled)
	groups := make(map[string]bool, len(p.Media)) // TYPE/GROUP-ID
	names := make(map[string]bool, len(p.Media))  // TYPE/GROUP-ID/NAME
	for i := range p.Media {
		r := &p.Media[i]
		ps.checkRendition(i, r)
		groups[r.Type+"\x00"+r.GroupID] = true
		key := r.Type + "\x00" + r.GroupID + "\x00" + r.Name
		if names[key] {
			ps.add("EXT-X-MEDIA %d: NAME %q used twice in %s group %q", i, r.Name, r.Type, r.GroupID)
		}
		names[key] = true
	}
	for i := range p.Variants {
		v := &p.Variants[i]
		ps.checkVariant(i, v)
		for _, ref := range [...]struct{ typ, id string }{
			{"AUDIO", v.Audio}, {"VIDEO", v.Video}, {"SUBTITLES", v.Subtitles}, {"CLOSED-CAPTIONS", v.ClosedCaptions},
		} {
			if ref.id != "" && !(ref.typ == "CLOSED-CAPTIONS" && ref.id == "NONE") && !groups[ref.typ+"\x00"+ref.id] {
				ps.add("variant %d (%s): %s group %q has no EXT-X-MEDIA", i, v.URI, ref.typ, ref.id)
			}
		}
	}
	return ps.err()
}

// checkRendition checks one EXT-X-MEDIA.
func (ps *problems) checkRendition(i int, r *Rendition) {
	switch r.Type {
	case "AUDIO", "VIDEO":
	case "SUBTITLES":
		if r.URI == "" {
			ps.add("EXT-X-MEDIA %d (%q): SUBTITLES needs a URI", i, r.Name)
		}
	case "CLOSED-CAPTIONS":
		if r.URI != "" {
			ps.add("EXT-X-MEDIA %d (%q): CLOSED-CAPTIONS must not have a URI", i, r.Name)
		}
	default:
		ps.add("EXT-X-MEDIA %d (%q): bad TYPE %q", i, r.Name, r.Type)
	}
	if r.GroupID == "" || r.Name == "" {
		ps.add("EXT-X-MEDIA %d: missing GROUP-ID or NAME", i)
	}
	for _, s := range [...]string{r.GroupID, r.Name, r.Language, r.URI} {
		if strings.ContainsAny(s, "\"\r\n") {
			ps.add("EXT-X-MEDIA %d: bad quoted string %q", i, s)
		}
	}
	if len(r.Attrs) == 0 {
		return
	}
	t := Rendition{}
	err := checkAttrList(r.Attrs, func(a Attr) error { return setRenditionAttr(&t, a.Key, a.Value) })
	switch {
	case err != nil:
		ps.add("EXT-X-MEDIA %d (%q): %v", i, r.Name, err)
	case t.Type != r.Type || t.GroupID != r.GroupID || t.Name != r.Name || t.Language != r.Language ||
		t.URI != r.URI || t.Default != r.Default || t.Autoselect != r.Autoselect:
		ps.add("EXT-X-MEDIA %d (%q): typed fields disagree with Attrs", i, r.Name)
	}
}

// checkVariant checks one EXT-X-STREAM-INF and its URI.
func (ps *problems) checkVariant(i int, v *Variant) {
	if v.URI == "" || badText(v.URI) || strings.HasPrefix(v.URI, "#") {
		ps.add("variant %d: bad URI %q", i, v.URI)
	}
	if v.Bandwidth <= 0 || v.AverageBandwidth < 0 {
		ps.add("variant %d (%s): BANDWIDTH %d AVERAGE-BANDWIDTH %d, want > 0", i, v.URI, v.Bandwidth, v.AverageBandwidth)
	}
	if v.Width < 0 || v.Height < 0 || math.IsNaN(v.FrameRate) || math.IsInf(v.FrameRate, 0) || v.FrameRate < 0 {
		ps.add("variant %d (%s): bad RESOLUTION %dx%d or FRAME-RATE %v", i, v.URI, v.Width, v.Height, v.FrameRate)
	}
	for _, s := range [...]string{v.Codecs, v.Audio, v.Video, v.Subtitles, v.ClosedCaptions, v.PathwayID} {
		if strings.ContainsAny(s, "\"\r\n") {
			ps.add("variant %d (%s): bad quoted string %q", i, v.URI, s)
		}
	}
	if len(v.Tags) > 0 {
		ps.checkTags(fmt.Sprintf("variant %d (%s)", i, v.URI), v.Tags, masterModelled)
	}
	if len(v.Attrs) == 0 {
		return
	}
	t := Variant{}
	err := checkAttrList(v.Attrs, func(a Attr) error { return setVariantAttr(&t, a.Key, a.Value) })
	switch {
	case err != nil:
		ps.add("variant %d (%s): %v", i, v.URI, err)
	case t.Bandwidth != v.Bandwidth || t.AverageBandwidth != v.AverageBandwidth || t.Codecs != v.Codecs ||
		t.Width != v.Width || t.Height != v.Height || t.FrameRate != v.FrameRate ||
		t.Audio != v.Audio || t.Video != v.Video || t.Subtitles != v.Subtitles ||
		t.ClosedCaptions != v.ClosedCaptions || t.PathwayID != v.PathwayID:
		ps.add("variant %d (%s): typed fields disagree with Attrs (change attributes with SetAttr)", i, v.URI)
	}
}

// checkAttrList checks that attributes can be written and read back, then
// applies each with set.
func checkAttrList(attrs []Attr, set func(Attr) error) error {
	if len(attrs) > MaxAttrs {
		return fmt.Errorf("%d attributes: more than %d", len(attrs), MaxAttrs)
	}
	for i, a := range attrs {
		if !validAttrName(a.Key) {
			return fmt.Errorf("bad attribute name %q", a.Key)
		}
		if err := checkAttrValue(a.Value); err != nil {
			return fmt.Errorf("attribute %s: %w", a.Key, err)
		}
		for _, b := range attrs[:i] {
			if b.Key == a.Key {
				return fmt.Errorf("duplicate attribute %s", a.Key)
			}
		}
		if err := set(a); err != nil {
			return err
		}
	}
	return nil
}

// CheckNext reports whether next may replace prev as the live playlist of
// a rendition (RFC 8216 section 6.2.1). next must Validate; with prev nil
// that is all. Otherwise its media sequence must not go back
// (ErrSequenceRegressed), its target duration must not change
// (ErrTargetDurationChanged), and it must not rewrite what prev published
// (ErrInconsistent): every sequence number in both has the same URI,
// duration, discontinuity and init segment; no segment is removed from the
// end; the discontinuity sequence grows by exactly the discontinuities
// that left the window (at least that when the sequence jumps past prev's
// last segment); the playlist type does not change and an EVENT playlist
// removes nothing; after EXT-X-ENDLIST nothing changes at all. Errors name
// the sequence number and URI at fault.
func CheckNext(prev, next *MediaPlaylist) error {
	if next == nil {
		return fmt.Errorf("%w: no playlist", ErrInvalid)
	}
	if err := next.Validate(); err != nil || prev == nil {
		return err
	}
	if prev.MediaSequence > math.MaxUint64-uint64(len(prev.Segments)) {
		return fmt.Errorf("%w: previous media sequence %d overflows", ErrInvalid, prev.MediaSequence)
	}
	if next.MediaSequence < prev.MediaSequence {
		return fmt.Errorf("%w: media sequence %d, was %d", ErrSequenceRegressed, next.MediaSequence, prev.MediaSequence)
	}
	if next.TargetDuration != prev.TargetDuration {
		return fmt.Errorf("%w: %d s, was %d s", ErrTargetDurationChanged, next.TargetDuration, prev.TargetDuration)
	}
	if prev.EndList {
		return checkEnded(prev, next)
	}
	if next.PlaylistType != prev.PlaylistType {
		return fmt.Errorf("%w: playlist type %q, was %q", ErrInconsistent, next.PlaylistType, prev.PlaylistType)
	}
	if prev.PlaylistType == "EVENT" && next.MediaSequence != prev.MediaSequence {
		return fmt.Errorf("%w: EVENT playlist removed segments: media sequence %d, was %d",
			ErrInconsistent, next.MediaSequence, prev.MediaSequence)
	}
	if err := checkOverlap(prev, next); err != nil {
		return err
	}
	return checkDiscontinuitySequence(prev, next)
}

// end returns the sequence number after the last segment.
func (p *MediaPlaylist) end() uint64 { return p.MediaSequence + uint64(len(p.Segments)) }

// checkEnded allows only the same playlist again after EXT-X-ENDLIST.
func checkEnded(prev, next *MediaPlaylist) error {
	if !next.EndList {
		return fmt.Errorf("%w: playlist ended at sequence %d; the next one reopens it", ErrInconsistent, prev.end())
	}
	if next.MediaSequence != prev.MediaSequence || len(next.Segments) != len(prev.Segments) ||
		next.DiscontinuitySequence != prev.DiscontinuitySequence {
		return fmt.Errorf("%w: playlist ended; next lists sequences %d-%d, was %d-%d", ErrInconsistent,
			next.MediaSequence, next.end(), prev.MediaSequence, prev.end())
	}
	for i := range prev.Segments {
		a, b := &prev.Segments[i], &next.Segments[i]
		if a.URI != b.URI || a.Duration != b.Duration || a.Discontinuity != b.Discontinuity ||
			!sameMap(prev.MapFor(i), next.MapFor(i)) {
			return fmt.Errorf("%w: playlist ended; sequence %d (%s) changed", ErrInconsistent, prev.SequenceOf(i), a.URI)
		}
	}
	return nil
}

// checkOverlap compares the segments both playlists list.
func checkOverlap(prev, next *MediaPlaylist) error {
	prevEnd, nextEnd := prev.end(), next.end()
	if nextEnd < prevEnd {
		return fmt.Errorf("%w: sequence %d (%s) removed from the end", ErrInconsistent,
			nextEnd, prev.Segments[nextEnd-prev.MediaSequence].URI)
	}
	lo, hi := next.MediaSequence, min(prevEnd, nextEnd)
	if lo >= hi {
		return nil
	}
	pi := int(lo - prev.MediaSequence)
	pm, nm := prev.MapFor(pi), next.MapFor(0)
	for ni, seq := 0, lo; seq < hi; ni, pi, seq = ni+1, pi+1, seq+1 {
		a, b := &prev.Segments[pi], &next.Segments[ni]
		if a.Map != nil {
			pm = a.Map
		}
		if b.Map != nil {
			nm = b.Map
		}
		switch {
		case a.URI != b.URI:
			return fmt.Errorf("%w: sequence %d: URI %q, was %q", ErrInconsistent, seq, b.URI, a.URI)
		case a.Duration != b.Duration:
			return fmt.Errorf("%w: sequence %d (%s): duration %v, was %v", ErrInconsistent, seq, a.URI, b.Duration, a.Duration)
		case a.Discontinuity != b.Discontinuity:
			return fmt.Errorf("%w: sequence %d (%s): discontinuity %t, was %t", ErrInconsistent, seq, a.URI, b.Discontinuity, a.Discontinuity)
		case !sameMap(pm, nm):
			return fmt.Errorf("%w: sequence %d (%s): init segment %s, was %s", ErrInconsistent, seq, a.URI, mapName(nm), mapName(pm))
		}
	}
	return nil
}

// checkDiscontinuitySequence checks that EXT-X-DISCONTINUITY-SEQUENCE grew
// by the EXT-X-DISCONTINUITY tags of the segments that left the window.
func checkDiscontinuitySequence(prev, next *MediaPlaylist) error {
	gone := len(prev.Segments) // segments of prev no longer listed
	if next.MediaSequence < prev.end() {
		gone = int(next.MediaSequence - prev.MediaSequence)
	}
	var left uint64
	for i := range prev.Segments[:gone] {
		if prev.Segments[i].Discontinuity {
			left++
		}
	}
	want := prev.DiscontinuitySequence + left
	switch {
	case next.MediaSequence > prev.end() && next.DiscontinuitySequence < want:
		return fmt.Errorf("%w: discontinuity sequence %d at sequence %d, want at least %d (%d + %d discontinuities that left the window)",
			ErrInconsistent, next.DiscontinuitySequence, next.MediaSequence, want, prev.DiscontinuitySequence, left)
	case next.MediaSequence <= prev.end() && next.DiscontinuitySequence != want:
		return fmt.Errorf("%w: discontinuity sequence %d at sequence %d, want %d (%d + %d discontinuities that left the window)",
			ErrInconsistent, next.DiscontinuitySequence, next.MediaSequence, want, prev.DiscontinuitySequence, left)
	}
	return nil
}

func sameMap(a, b *Map) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func mapName(m *Map) string {
	if m == nil {
		return "(none)"
	}
	return m.URI
}
