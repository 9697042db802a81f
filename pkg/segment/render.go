package segment

import "strconv"

// pdtLayout formats a ProgramDateTime that has no raw text: RFC 3339 with
// milliseconds, which every player reads.
const pdtLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTo appends the playlist in HLS text form to dst and returns the
// extended buffer. Header tags come in the order ffmpeg writes them
// (EXTM3U, VERSION, TARGETDURATION, MEDIA-SEQUENCE, DISCONTINUITY-SEQUENCE,
// PLAYLIST-TYPE, INDEPENDENT-SEGMENTS), then Tags; each segment is written
// as Tags, MAP, DISCONTINUITY, EXTINF, BYTERANGE, PROGRAM-DATE-TIME, URI;
// then TrailingTags and ENDLIST. Blank lines are not written, so ffmpeg's
// playlists come back byte for byte. It does not allocate when dst has
// room. AppendTo does not validate: call Validate first on a playlist built
// by hand.
func (p *MediaPlaylist) AppendTo(dst []byte) []byte {
	dst = append(dst, "#EXTM3U\n"...)
	if p.Version > 0 {
		dst = appendIntLine(dst, "#EXT-X-VERSION:", int64(p.Version))
	}
	dst = appendIntLine(dst, "#EXT-X-TARGETDURATION:", int64(p.TargetDuration))
	dst = append(dst, "#EXT-X-MEDIA-SEQUENCE:"...)
	dst = strconv.AppendUint(dst, p.MediaSequence, 10)
	dst = append(dst, '\n')
	if p.DiscontinuitySequence > 0 {
		dst = append(dst, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		dst = strconv.AppendUint(dst, p.DiscontinuitySequence, 10)
		dst = append(dst, '\n')
	}
	if p.PlaylistType != "" {
		dst = append(dst, "#EXT-X-PLAYLIST-TYPE:"...)
		dst = append(dst, p.PlaylistType...)
		dst = append(dst, '\n')
	}
	if p.IndependentSegments {
		dst = append(dst, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}
	dst = appendTags(dst, p.Tags)
	for i := range p.Segments {
		dst = p.Segments[i].appendTo(dst)
	}
	dst = appendTags(dst, p.TrailingTags)
	if p.EndList {
		dst = append(dst, "#EXT-X-ENDLIST\n"...)
	}
	return dst
}

// appendTo writes one segment in the order ffmpeg writes it.
func (s *MediaSegment) appendTo(dst []byte) []byte {
	dst = appendTags(dst, s.Tags)
	if m := s.Map; m != nil {
		dst = append(dst, `#EXT-X-MAP:URI="`...)
		dst = append(dst, m.URI...)
		if m.ByteRange != "" {
			dst = append(dst, `",BYTERANGE="`...)
			dst = append(dst, m.ByteRange...)
		}
		dst = append(dst, "\"\n"...)
	}
	if s.Discontinuity {
		dst = append(dst, "#EXT-X-DISCONTINUITY\n"...)
	}
	dst = append(dst, "#EXTINF:"...)
	if s.DurationRaw != "" {
		dst = append(dst, s.DurationRaw...)
	} else {
		dst = strconv.AppendFloat(dst, s.Duration, 'f', -1, 64)
	}
	dst = append(dst, ',')
	dst = append(dst, s.Title...)
	dst = append(dst, '\n')
	if s.ByteRange != "" {
		dst = append(dst, "#EXT-X-BYTERANGE:"...)
		dst = append(dst, s.ByteRange...)
		dst = append(dst, '\n')
	}
	switch {
	case s.ProgramDateTimeRaw != "":
		dst = append(dst, "#EXT-X-PROGRAM-DATE-TIME:"...)
		dst = append(dst, s.ProgramDateTimeRaw...)
		dst = append(dst, '\n')
	case !s.ProgramDateTime.IsZero():
		dst = append(dst, "#EXT-X-PROGRAM-DATE-TIME:"...)
		dst = s.ProgramDateTime.UTC().AppendFormat(dst, pdtLayout)
		dst = append(dst, '\n')
	}
	dst = append(dst, s.URI...)
	return append(dst, '\n')
}

// AppendTo appends the playlist in HLS text form to dst and returns the
// extended buffer: EXTM3U, VERSION, INDEPENDENT-SEGMENTS, Tags, the
// renditions (EXT-X-MEDIA), then each variant's Tags, EXT-X-STREAM-INF and
// URI. Attributes are written from Attrs as they were read, so ffmpeg's
// playlists come back byte for byte (blank lines dropped). It does not
// allocate when dst has room and every variant and rendition has Attrs.
// AppendTo does not validate: call Validate first on a playlist built by
// hand.
func (p *MasterPlaylist) AppendTo(dst []byte) []byte {
	dst = append(dst, "#EXTM3U\n"...)
	if p.Version > 0 {
		dst = appendIntLine(dst, "#EXT-X-VERSION:", int64(p.Version))
	}
	if p.IndependentSegments {
		dst = append(dst, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}
	dst = appendTags(dst, p.Tags)
	for i := range p.Media {
		r := &p.Media[i]
		attrs := r.Attrs
		if len(attrs) == 0 {
			attrs = r.typedAttrs()
		}
		dst = append(dst, "#EXT-X-MEDIA:"...)
		dst = appendAttrs(dst, attrs)
	}
	for i := range p.Variants {
		v := &p.Variants[i]
		attrs := v.Attrs
		if len(attrs) == 0 {
			attrs = v.typedAttrs()
		}
		dst = appendTags(dst, v.Tags)
		dst = append(dst, "#EXT-X-STREAM-INF:"...)
		dst = appendAttrs(dst, attrs)
		dst = append(dst, v.URI...)
		dst = append(dst, '\n')
	}
	return dst
}

// appendAttrs writes an attribute list and ends the line.
func appendAttrs(dst []byte, attrs []Attr) []byte {
	for i, a := range attrs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, a.Key...)
		dst = append(dst, '=')
		dst = append(dst, a.Value...)
	}
	return append(dst, '\n')
}

func appendTags(dst []byte, tags []Tag) []byte {
	for _, t := range tags {
		dst = append(dst, t.Name...)
		if t.HasValue {
			dst = append(dst, ':')
			dst = append(dst, t.Value...)
		}
		dst = append(dst, '\n')
	}
	return dst
}

func appendIntLine(dst []byte, prefix string, n int64) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\n')
}
