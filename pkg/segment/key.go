package segment

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Directives are the LL-HLS delivery directives of a media playlist
// request (RFC 8216bis 6.2.5.2): block until segment MSN (and part Part of
// it) is in the playlist, and send a delta update (Skip).
type Directives struct {
	MSN  int64  // -1: absent
	Part int64  // -1: absent; needs MSN
	Skip string // "", "YES" or "v2"
}

// ErrDirective: a request's LL-HLS directives are malformed; the server
// answers 400 (RFC 8216bis 6.2.5.2).
var ErrDirective = errors.New("segment: bad LL-HLS directive")

// maxDirective bounds _HLS_msn and _HLS_part: media sequence numbers fit
// in 63 bits, and no live edge is anywhere near this.
const maxDirective = 1 << 53

// ParseDirectives reads _HLS_msn, _HLS_part and _HLS_skip from rawQuery.
// present is false when none is there. A malformed value, a part without
// an msn or a parameter given twice is ErrDirective.
func ParseDirectives(rawQuery string) (d Directives, present bool, err error) {
	d = Directives{MSN: -1, Part: -1}
	if !strings.Contains(rawQuery, "_HLS_") {
		return d, false, nil
	}
	seen := 0
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		var bit int
		switch k {
		case "_HLS_msn", "_HLS_part":
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || n > maxDirective || v[0] < '0' || v[0] > '9' || (len(v) > 1 && v[0] == '0') {
				return d, true, fmt.Errorf("%w: %s=%q is not a decimal integer", ErrDirective, k, v)
			}
			if k == "_HLS_msn" {
				d.MSN, bit = n, 1
			} else {
				d.Part, bit = n, 2
			}
		case "_HLS_skip":
			if v != "YES" && v != "v2" {
				return d, true, fmt.Errorf("%w: _HLS_skip=%q: want YES or v2", ErrDirective, v)
			}
			d.Skip, bit = v, 4
		default:
			if strings.HasPrefix(k, "_HLS_") && k != "_HLS_pathway" && k != "_HLS_throughput" {
				return d, true, fmt.Errorf("%w: unknown %s", ErrDirective, k)
			}
			continue
		}
		if seen&bit != 0 {
			return d, true, fmt.Errorf("%w: %s given twice", ErrDirective, k)
		}
		seen |= bit
	}
	if seen == 0 {
		return d, false, nil
	}
	if d.Part >= 0 && d.MSN < 0 {
		return d, true, fmt.Errorf("%w: _HLS_part without _HLS_msn", ErrDirective)
	}
	return d, true, nil
}

// AppendKey appends the cache key of a playlist request with directives d
// to dst: the path, then the directives present in one canonical form, so
// equal requests share one key however their query is spelled. It does not
// allocate when dst has room.
func (d Directives) AppendKey(dst []byte, reqPath string) []byte {
	dst = append(dst, reqPath...)
	sep := byte('?')
	if d.MSN >= 0 {
		dst = append(dst, "?_HLS_msn="...)
		dst = strconv.AppendInt(dst, d.MSN, 10)
		sep = '&'
		if d.Part >= 0 {
			dst = append(dst, "&_HLS_part="...)
			dst = strconv.AppendInt(dst, d.Part, 10)
		}
	}
	if d.Skip != "" {
		dst = append(dst, sep)
		dst = append(dst, "_HLS_skip="...)
		dst = append(dst, d.Skip...)
	}
	return dst
}

// Query is the directives as a query string ("" for none), for the
// upstream request.
func (d Directives) Query() string {
	k := d.AppendKey(nil, "")
	if len(k) == 0 {
		return ""
	}
	return string(k[1:])
}

var (
	tagMediaSeq = []byte("#EXT-X-MEDIA-SEQUENCE:")
	tagInf      = []byte("#EXTINF:")
	tagStream   = []byte("#EXT-X-STREAM-INF:")
)

// LastMSN scans a media playlist for the media sequence number of its
// last complete segment (EXT-X-MEDIA-SEQUENCE plus the segments listed,
// minus one); ok is false for a master playlist or one without segments.
// It is a scan, not a parse: cheap enough for every blocking request.
func LastMSN(playlist []byte) (last int64, ok bool) {
	if bytes.Contains(playlist, tagStream) {
		return 0, false
	}
	n := int64(bytes.Count(playlist, tagInf))
	if n == 0 {
		return 0, false
	}
	var seq int64
	if i := bytes.Index(playlist, tagMediaSeq); i >= 0 {
		v := playlist[i+len(tagMediaSeq):]
		if j := bytes.IndexAny(v, "\r\n"); j >= 0 {
			v = v[:j]
		}
		s, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || s < 0 {
			return 0, false
		}
		seq = s
	}
	return seq + n - 1, true
}

var (
	tagPart = []byte("#EXT-X-PART:")
	tagSkip = []byte("#EXT-X-SKIP:")
)

// Has reports whether a media playlist already answers a blocking request
// for segment msn (part < 0) or part part of it (RFC 8216bis 6.2.5.2): the
// segment is complete in it, or the part is listed (a part index past a
// complete segment's last part means the next segment's first, so any
// part of a segment followed by one that has begun is there). false when
// it cannot tell: the request then waits for a newer playlist. It is a
// scan, not a parse, and does not allocate.
func Has(playlist []byte, msn, part int64) bool {
	if msn < 0 || bytes.Contains(playlist, tagSkip) {
		return false
	}
	last, ok := LastMSN(playlist)
	if !ok {
		return false
	}
	if part < 0 || msn < last {
		return msn <= last
	}
	// The parts listed after the last complete segment's URI line belong
	// to the segment in progress, last+1.
	tail := int64(0)
	if i := bytes.LastIndex(playlist, tagInf); i >= 0 {
		rest := playlist[i:]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 { // the EXTINF line
			rest = rest[j+1:]
			for len(rest) > 0 && rest[0] == '#' { // tags before the URI line
				k := bytes.IndexByte(rest, '\n')
				if k < 0 {
					rest = nil
					break
				}
				rest = rest[k+1:]
			}
			tail = int64(bytes.Count(rest, tagPart))
		}
	}
	switch msn {
	case last:
		if tail > 0 {
			return true
		}
		// Its own parts: those between the previous segment's URI line and
		// its EXTINF. A playlist that lists none for it has it whole.
		n := partsBefore(playlist)
		return n == 0 || part < n
	case last + 1:
		return part < tail
	}
	return false
}

// partsBefore counts the EXT-X-PART tags between the last EXTINF and the
// URI line before it.
func partsBefore(playlist []byte) int64 {
	i := bytes.LastIndex(playlist, tagInf)
	if i < 0 {
		return 0
	}
	head := playlist[:i]
	start := 0
	if j := bytes.LastIndex(head, tagInf); j >= 0 {
		start = j
	}
	n := int64(0)
	for rest := head[start:]; len(rest) > 0; {
		line := rest
		if k := bytes.IndexByte(rest, '\n'); k >= 0 {
			line, rest = rest[:k], rest[k+1:]
		} else {
			rest = nil
		}
		switch {
		case len(line) > 0 && line[0] != '#':
			n = 0 // the previous segment's URI: count from here
		case bytes.HasPrefix(line, tagPart):
			n++
		}
	}
	return n
}
