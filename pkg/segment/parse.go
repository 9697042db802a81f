package segment

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on what the parsers accept, so a broken or hostile encoder cannot
// make the origin spend unbounded memory or time on one playlist.
const (
	// MaxLineLen is the longest line, in bytes, a playlist may contain.
	MaxLineLen = 64 << 10
	// MaxSegments is the most media segments a media playlist may list.
	MaxSegments = 100000
	// MaxVariants is the most EXT-X-STREAM-INF plus EXT-X-MEDIA entries a
	// master playlist may hold.
	MaxVariants = 10000
)

// ErrSyntax is wrapped by every error of Detect, ParseMedia and ParseMaster.
// The message names the line and the tag at fault:
// `segment: line 7: EXTINF: bad duration "abc"`.
var ErrSyntax = errors.New("segment: syntax error")

// syntaxError is a parse failure at one line. It matches ErrSyntax.
type syntaxError struct {
	line int
	tag  string // tag name without '#', or "" for URI lines
	msg  string
}

func (e *syntaxError) Error() string {
	if e.tag == "" {
		return fmt.Sprintf("segment: line %d: %s", e.line, e.msg)
	}
	return fmt.Sprintf("segment: line %d: %s: %s", e.line, e.tag, e.msg)
}

func (e *syntaxError) Unwrap() error { return ErrSyntax }

var _ error = (*syntaxError)(nil)

// errAt returns a syntax error at line for the tag named name ("#EXTINF",
// or "" for URI lines).
func errAt(line int, name, format string, args ...any) error {
	return &syntaxError{line: line, tag: strings.TrimPrefix(name, "#"), msg: fmt.Sprintf(format, args...)}
}

// Tag is a playlist tag kept as written: Name is the text before the first
// ':' ("#EXT-X-PART"), Value the text after it. HasValue tells "#EXT-X-FOO"
// from "#EXT-X-FOO:" so both render back unchanged.
type Tag struct {
	Name     string
	Value    string
	HasValue bool
}

// splitTag cuts a tag line at its first colon.
func splitTag(line string) Tag {
	name, value, ok := strings.Cut(line, ":")
	return Tag{Name: name, Value: value, HasValue: ok}
}

// Attr is one attribute of an attribute list (EXT-X-STREAM-INF,
// EXT-X-MEDIA). Value is raw: a quoted string keeps its quotes.
type Attr struct {
	Key   string
	Value string
}

const bom = "\xef\xbb\xbf"

// scanner yields the non-blank lines of a playlist, trailing whitespace
// (including the CR of CRLF) removed, and counts lines for errors.
type scanner struct {
	s    string
	pos  int
	line int // number of the line last returned, from 1
}

// startScanner checks the #EXTM3U first line (after an optional BOM) and
// returns a scanner positioned after it.
func startScanner(s string) (scanner, error) {
	sc := scanner{s: strings.TrimPrefix(s, bom)}
	first, ok, err := sc.next()
	if err != nil {
		return sc, err
	}
	if !ok || sc.line != 1 || first != "#EXTM3U" {
		return sc, errAt(1, "", "playlist must start with #EXTM3U")
	}
	return sc, nil
}

// next returns the next non-blank line; ok is false at the end of input.
func (sc *scanner) next() (line string, ok bool, err error) {
	for sc.pos < len(sc.s) {
		rest := sc.s[sc.pos:]
		end := strings.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
			sc.pos = len(sc.s)
		} else {
			sc.pos += end + 1
		}
		sc.line++
		if end > MaxLineLen {
			return "", false, errAt(sc.line, "", "line longer than %d bytes", MaxLineLen)
		}
		line = strings.TrimRight(rest[:end], " \t\r")
		if line != "" {
			return line, true, nil
		}
	}
	return "", false, nil
}

// isTag reports whether a line is a tag; other lines starting with '#' are
// comments and are dropped.
func isTag(line string) bool { return strings.HasPrefix(line, "#EXT") }

// PlaylistKind says whether a playlist is a master or a media playlist.
type PlaylistKind uint8

const (
	// PlaylistUnknown is returned with an error by Detect.
	PlaylistUnknown PlaylistKind = iota
	// PlaylistMaster lists variant streams (EXT-X-STREAM-INF, EXT-X-MEDIA).
	PlaylistMaster
	// PlaylistMedia lists media segments (EXTINF, EXT-X-TARGETDURATION).
	PlaylistMedia
)

// String returns "master", "media" or "unknown".
func (k PlaylistKind) String() string {
	switch k {
	case PlaylistMaster:
		return "master"
	case PlaylistMedia:
		return "media"
	default:
		return "unknown"
	}
}

// Detect tells a master from a media playlist without parsing it fully. The
// first line must be #EXTM3U (after an optional BOM). A playlist with
// EXT-X-STREAM-INF or EXT-X-MEDIA is a master playlist; one with EXTINF or
// EXT-X-TARGETDURATION is a media playlist; one with both or neither is an
// error wrapping ErrSyntax.
func Detect(data []byte) (PlaylistKind, error) {
	data = bytes.TrimPrefix(data, []byte(bom))
	if len(data) == 0 {
		return PlaylistUnknown, errAt(1, "", "playlist must start with #EXTM3U")
	}
	var master, media bool
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if n == 1 && string(line) != "#EXTM3U" {
			return PlaylistUnknown, errAt(1, "", "playlist must start with #EXTM3U")
		}
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			line = line[:i]
		}
		switch string(line) {
		case "#EXT-X-STREAM-INF", "#EXT-X-MEDIA":
			master = true
		case "#EXTINF", "#EXT-X-TARGETDURATION":
			media = true
		}
	}
	switch {
	case master && media:
		return PlaylistUnknown, fmt.Errorf("%w: playlist mixes master and media tags", ErrSyntax)
	case master:
		return PlaylistMaster, nil
	case media:
		return PlaylistMedia, nil
	}
	return PlaylistUnknown, fmt.Errorf("%w: playlist has neither variants nor segments", ErrSyntax)
}

// parseAttrs splits an attribute list (KEY=VALUE,KEY="quoted, value") into
// attributes with raw values. Names must be [A-Z0-9-], each at most once.
// MaxAttrs bounds the attributes of one tag (counted as '=' signs, quoted
// ones included).
const MaxAttrs = 256

// MaxTargetDuration is the longest EXT-X-TARGETDURATION, in seconds, a
// valid media playlist may have: a live segment is seconds long, and the
// target duration sets every cache's freshness of the playlist (RFC 8216
// sets no bound; without one a playlist asked to be kept for 34 years).
const MaxTargetDuration = 120

func parseAttrs(s string) ([]Attr, error) {
	if s == "" {
		return nil, errors.New("no attributes")
	}
	// Bounded up front: the duplicate check below is quadratic, and no tag
	// of RFC 8216bis has a tenth of this many attributes.
	if n := strings.Count(s, "="); n > MaxAttrs {
		return nil, fmt.Errorf("%d attributes: more than %d", n, MaxAttrs)
	}
	attrs := make([]Attr, 0, strings.Count(s, "="))
	for {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, fmt.Errorf("attribute %q has no value", s)
		}
		key := s[:eq]
		if !validAttrName(key) {
			return nil, fmt.Errorf("bad attribute name %q", key)
		}
		for _, a := range attrs {
			if a.Key == key {
				return nil, fmt.Errorf("duplicate attribute %s", key)
			}
		}
		s = s[eq+1:]
		n, err := attrValueLen(s)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", key, err)
		}
		attrs = append(attrs, Attr{Key: key, Value: s[:n]})
		s = s[n:]
		if s == "" {
			return attrs, nil
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("attribute %s: want ',' after value", key)
		}
		if s = s[1:]; s == "" {
			return nil, errors.New("trailing ',' in attribute list")
		}
	}
}

// attrValueLen returns the length of the attribute value at the start of s:
// a quoted string, or an unquoted run (no quotes or whitespace) up to the
// next ','.
func attrValueLen(s string) (int, error) {
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return 0, errors.New("unterminated quoted string")
		}
		if strings.ContainsAny(s[1:end+1], "\r\n") {
			return 0, errors.New("line break in quoted string")
		}
		return end + 2, nil
	}
	end := strings.IndexByte(s, ',')
	if end < 0 {
		end = len(s)
	}
	if end == 0 {
		return 0, errors.New("empty value")
	}
	if strings.ContainsAny(s[:end], "\" \t\r\n") {
		return 0, fmt.Errorf("bad unquoted value %q", s[:end])
	}
	return end, nil
}

// checkAttrValue reports whether v can be written as an attribute value and
// read back unchanged.
func checkAttrValue(v string) error {
	n, err := attrValueLen(v)
	if err == nil && n != len(v) {
		err = fmt.Errorf("bad value %q", v)
	}
	return err
}

func validAttrName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// unquote returns the text of a quoted-string attribute value.
func unquote(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	return v[1 : len(v)-1], true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseUint parses an RFC 8216 decimal-integer: digits only, no sign.
func parseUint(s string, bits int) (uint64, bool) {
	if !isDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, bits)
	return n, err == nil
}

// parseDecimal parses a non-negative decimal-floating-point ("2", "2.",
// "2.000000"): no sign, no exponent, no NaN or Inf.
func parseDecimal(s string) (float64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if !isDigits(whole) || frac != "" && !isDigits(frac) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// validByteRange reports whether s is an RFC 8216 byte range, n[@o].
func validByteRange(s string) bool {
	n, o, hasOffset := strings.Cut(s, "@")
	if _, ok := parseUint(n, 64); !ok {
		return false
	}
	if hasOffset {
		_, ok := parseUint(o, 64)
		return ok
	}
	return true
}

// parseDateTime parses an EXT-X-PROGRAM-DATE-TIME value: RFC 3339 with an
// optional fraction and a zone of Z, +hh:mm or +hhmm (ffmpeg writes the
// latter). The result is in UTC. It does not allocate.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := fixedInt(s[0:4])
	month, ok2 := fixedInt(s[5:7])
	day, ok3 := fixedInt(s[8:10])
	hour, ok4 := fixedInt(s[11:13])
	minute, ok5 := fixedInt(s[14:16])
	sec, ok6 := fixedInt(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 ||
		day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		for j := i; j <= 9; j++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	offset, ok := parseZone(rest)
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // February 30th and friends
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// parseZone parses Z, ±hh:mm or ±hhmm into seconds east of UTC.
func parseZone(z string) (int, bool) {
	if z == "Z" {
		return 0, true
	}
	var hh, mm string
	switch {
	case len(z) == 6 && z[3] == ':':
		hh, mm = z[1:3], z[4:6]
	case len(z) == 5:
		hh, mm = z[1:3], z[3:5]
	default:
		return 0, false
	}
	h, ok1 := fixedInt(hh)
	m, ok2 := fixedInt(mm)
	if !ok1 || !ok2 || h > 23 || m > 59 || z[0] != '+' && z[0] != '-' {
		return 0, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return off, true
}

// fixedInt parses a short run of digits.
func fixedInt(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

// lineHandler takes the lines of one kind of playlist.
type lineHandler interface {
	at(line int) // the number of the line about to be handed over
	tag(t Tag) error
	uri(line string) error
}

// scanLines hands every tag and URI line of sc to h (comments and blank
// lines are skipped) and stops at the first error.
func scanLines(sc *scanner, h lineHandler) error {
	for {
		line, ok, err := sc.next()
		if err != nil || !ok {
			return err
		}
		h.at(sc.line)
		switch {
		case isTag(line):
			err = h.tag(splitTag(line))
		case line[0] != '#':
			err = h.uri(line)
		}
		if err != nil {
			return err
		}
	}
}
