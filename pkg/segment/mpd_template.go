package segment

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// maxMPDURL is the longest URL or URL template, in bytes, the MPD
// helpers work on: longer ones are rejected before any work, so that the
// work per Representation stays bounded.
const maxMPDURL = 4 * MaxPathLen

// MaxTemplateWidth is the widest $Number%0Nd$ (or $Time$, $Bandwidth$)
// format a SegmentTemplate may ask for.
const MaxTemplateWidth = 32

// templateValues are what a SegmentTemplate URL's identifiers stand for.
type templateValues struct {
	repID                   string
	number, time, bandwidth uint64
	// pattern keeps $Number$, $Time$ and $$ as written: the result is
	// the template of one Representation's media segments.
	pattern bool
}

// templateIdent is one $...$ identifier of a template.
type templateIdent struct {
	name  string // RepresentationID, Number, Time, Bandwidth; "" for $$
	width int    // of %0Nd; 0 when not given
}

// nextIdent finds the first identifier of t at or after i: it returns
// where it starts and ends (after its closing '$'); start is -1 when
// there is none.
func nextIdent(t string, i int) (start, end int, id templateIdent, err error) {
	j := strings.IndexByte(t[i:], '$')
	if j < 0 {
		return -1, len(t), id, nil
	}
	start = i + j
	k := strings.IndexByte(t[start+1:], '$')
	if k < 0 {
		return start, 0, id, fmt.Errorf("unterminated identifier %q", clipText([]byte(t[start:])))
	}
	end = start + 1 + k + 1
	raw := t[start+1 : end-1]
	name, format, hasFormat := strings.Cut(raw, "%")
	switch name {
	case "":
		if hasFormat {
			return start, end, id, fmt.Errorf("unknown identifier $%s$", clipText([]byte(raw)))
		}
	case "RepresentationID":
		if hasFormat {
			return start, end, id, errors.New("$RepresentationID$ takes no format")
		}
	case "Number", "Time", "Bandwidth":
		if hasFormat {
			digits, ok := strings.CutSuffix(strings.TrimPrefix(format, "0"), "d")
			w, err := strconv.Atoi(digits)
			if !ok || !strings.HasPrefix(format, "0") || !isDigits(digits) || err != nil || w < 1 || w > MaxTemplateWidth {
				return start, end, id, fmt.Errorf("bad format in $%s$: want %%0Nd with N from 1 to %d", clipText([]byte(raw)), MaxTemplateWidth)
			}
			id.width = w
		}
	default:
		return start, end, id, fmt.Errorf("unknown identifier $%s$", clipText([]byte(raw)))
	}
	id.name = name
	return start, end, id, nil
}

// expandTemplate appends t with its identifiers replaced by v.
func expandTemplate(dst []byte, t string, v templateValues) ([]byte, error) {
	if len(t) > maxMPDURL {
		return dst, fmt.Errorf("template of %d bytes: longer than %d", len(t), maxMPDURL)
	}
	for i := 0; i < len(t); {
		start, end, id, err := nextIdent(t, i)
		if err != nil {
			return dst, err
		}
		if start < 0 {
			return append(dst, t[i:]...), nil
		}
		dst = append(dst, t[i:start]...)
		i = end
		switch id.name {
		case "":
			if v.pattern {
				dst = append(dst, '$')
			}
			dst = append(dst, '$')
		case "RepresentationID":
			dst = append(dst, v.repID...)
		case "Bandwidth":
			dst = appendPadded(dst, v.bandwidth, id.width)
		default: // Number, Time
			switch {
			case v.pattern:
				dst = append(dst, t[start:end]...)
			case id.name == "Number":
				dst = appendPadded(dst, v.number, id.width)
			default:
				dst = appendPadded(dst, v.time, id.width)
			}
		}
	}
	return dst, nil
}

func appendPadded(dst []byte, n uint64, width int) []byte {
	var buf [20]byte
	d := strconv.AppendUint(buf[:0], n, 10)
	for i := len(d); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// templateUses reports which of $Number$ and $Time$ t uses.
func templateUses(t string) (number, time bool, err error) {
	if len(t) > maxMPDURL {
		return false, false, fmt.Errorf("template of %d bytes: longer than %d", len(t), maxMPDURL)
	}
	for i := 0; i < len(t); {
		start, end, id, err := nextIdent(t, i)
		if err != nil || start < 0 {
			return number, time, err
		}
		number = number || id.name == "Number"
		time = time || id.name == "Time"
		i = end
	}
	return number, time, nil
}

// checkRelativeRef applies the rule of playlist URIs (ResolveURI) to a
// URL an MPD names, more strictly: it must be a relative path without
// scheme, leading '/', backslash or ".." element.
func checkRelativeRef(ref string) error {
	q := quoteURL(ref)
	if len(ref) > maxMPDURL {
		return fmt.Errorf("%w: %s: longer than %d bytes", ErrBadPath, q, maxMPDURL)
	}
	if i := strings.IndexAny(ref, ":/?#"); i >= 0 && ref[i] == ':' {
		return fmt.Errorf("%w: %s is an absolute URL", ErrBadPath, q)
	}
	switch {
	case strings.HasPrefix(ref, "/"):
		return fmt.Errorf("%w: %s is not relative to the MPD", ErrBadPath, q)
	case strings.ContainsRune(ref, '\\'):
		return fmt.Errorf("%w: %s has a backslash", ErrBadPath, q)
	}
	for _, e := range strings.Split(stripQuery(ref), "/") {
		if e == ".." {
			return fmt.Errorf("%w: %s escapes the event", ErrBadPath, q)
		}
	}
	return nil
}

func quoteURL(s string) string {
	if len(s) > maxMPDQuoted {
		return fmt.Sprintf("%q... (%d bytes)", s[:maxMPDQuoted], len(s))
	}
	return strconv.Quote(s)
}

// maxMPDQuoted is the longest URL quoted whole in an error.
const maxMPDQuoted = 256

func stripQuery(ref string) string {
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		return ref[:i]
	}
	return ref
}

// resolveBase resolves a BaseURL against dir, a directory inside the
// event ("" for the root), and returns the directory it names: a
// BaseURL that does not end in '/' names its parent, as in RFC 3986.
func resolveBase(dir, ref string) (string, error) {
	ref = strings.Trim(ref, " \t\r\n")
	if err := checkRelativeRef(ref); err != nil {
		return "", err
	}
	p := stripQuery(ref)
	if p == "" {
		return dir, nil
	}
	joined := path.Join(dir, p)
	if !strings.HasSuffix(p, "/") {
		joined = path.Dir(joined)
	}
	if joined == "." {
		return "", nil
	}
	// The same rules as a file's directory: CheckPath on a file in it.
	if _, _, err := CheckPath(joined + "/a.m4s"); err != nil {
		return "", fmt.Errorf("BaseURL %s: %w", quoteURL(ref), err)
	}
	return joined, nil
}

// resolveFile resolves a file URL against dir, a directory inside the
// event, as ResolveURI does, after checkRelativeRef.
func resolveFile(dir, ref string) (string, error) {
	if err := checkRelativeRef(ref); err != nil {
		return "", err
	}
	p, err := ResolveURI(dir, ref)
	if err != nil {
		return "", fmt.Errorf("%s: %w", quoteURL(ref), err)
	}
	return p, nil
}
