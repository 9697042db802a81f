package segment

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on what ParseMPD accepts, so a broken or hostile encoder cannot
// make the origin spend unbounded memory or time on one MPD. Parsing is
// linear in the size of the document.
const (
	// MaxMPDSize is the largest MPD, in bytes (the caller limits too).
	MaxMPDSize = 1 << 20
	// MaxMPDElements is the most elements an MPD may hold, all levels
	// and unmodelled elements included.
	MaxMPDElements = 200000
	// MaxMPDDepth is the deepest element nesting, the MPD element being 1.
	MaxMPDDepth = 32
	// MaxMPDAttrs is the most attributes one element may have.
	MaxMPDAttrs = 64
	// MaxMPDTimeline is the most S elements one SegmentTimeline may list.
	MaxMPDTimeline = 100000
	// MaxMPDTimelineSegments is the most segments one SegmentTimeline may
	// describe, repeats (S@r) included: Validate rejects more, so
	// helpers that walk the segments are bounded.
	MaxMPDTimelineSegments = 1 << 20
)

// xlinkNamespace is the namespace of xlink:href.
const xlinkNamespace = "http://www.w3.org/1999/xlink"

// mpdReader parses one MPD with xml.Decoder's RawToken, keeping its own
// namespace scope so that unmodelled elements and attributes keep the
// prefixes they were written with.
type mpdReader struct {
	data     []byte
	d        *xml.Decoder
	elements int
	ns       map[string][]string // prefix ("" for the default) -> declarations in scope, innermost last
	declared [][]string          // prefixes declared by each open element
	// ref, when set, is told of every URL in an unmodelled element or in
	// an xlink:href attribute (Validate checks them).
	ref func(line int, elem, attr, url string)
}

// ParseMPD parses an MPEG-DASH MPD. It never panics; errors wrap ErrSyntax
// and name the line and the element at fault
// (`segment: line 12: Representation: bandwidth: bad number "x"`).
// Documents larger than MaxMPDSize, deeper than MaxMPDDepth or with more
// than MaxMPDElements elements, MaxMPDAttrs attributes on one element or
// MaxMPDTimeline S elements in one SegmentTimeline are rejected, and so
// are DOCTYPE declarations, undeclared namespace prefixes, duplicate
// attributes, prefixed DASH elements and text where the schema has none.
// The root must be an MPD element in DASHNamespace (or in no namespace).
// Elements and attributes it does not model are kept (MPD.Attrs,
// MPD.Extra and the same fields at every level).
func ParseMPD(data []byte) (*MPD, error) { return parseMPD(data, nil) }

func parseMPD(data []byte, ref func(line int, elem, attr, url string)) (*MPD, error) {
	if len(data) > MaxMPDSize {
		return nil, fmt.Errorf("%w: MPD of %d bytes: more than %d", ErrSyntax, len(data), MaxMPDSize)
	}
	data = bytes.TrimPrefix(data, []byte(bom))
	r := &mpdReader{
		data: data,
		d:    xml.NewDecoder(bytes.NewReader(data)),
		ns:   map[string][]string{"": {DASHNamespace}, "xml": {"http://www.w3.org/XML/1998/namespace"}},
		ref:  ref,
	}
	var m *MPD
	for {
		tok, err := r.d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, r.xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if m != nil {
				return nil, r.fail(t.Name.Local, "second root element")
			}
			if t.Name.Space != "" || t.Name.Local != "MPD" {
				return nil, r.fail(qname(t.Name), "root element is not MPD")
			}
			for _, a := range t.Attr {
				if a.Name.Space == "" && a.Name.Local == "xmlns" && !strings.EqualFold(a.Value, DASHNamespace) {
					return nil, r.fail("MPD", "namespace %q is not %s", a.Value, DASHNamespace)
				}
			}
			if _, err := r.open(t); err != nil {
				return nil, err
			}
			if m, err = r.mpd(t); err != nil {
				return nil, err
			}
		case xml.CharData:
			if !isXMLSpace(t) {
				return nil, r.fail("", "text outside the MPD element")
			}
		case xml.Directive:
			return nil, r.fail("", "DOCTYPE and other declarations are not allowed")
		}
	}
	if m == nil {
		return nil, fmt.Errorf("%w: no MPD element", ErrSyntax)
	}
	return m, nil
}

func (r *mpdReader) line() int {
	line, _ := r.d.InputPos()
	return line
}

// fail returns a syntax error at the current line for element elem.
func (r *mpdReader) fail(elem, format string, args ...any) error {
	return errAt(r.line(), elem, format, args...)
}

func (r *mpdReader) xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return errAt(se.Line, "", "%s", se.Msg)
	}
	if err == io.EOF {
		return r.fail("", "unexpected end of document")
	}
	return r.fail("", "%v", err)
}

// qname returns a name as written, prefix included.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// open checks the limits for a start element just read, brings its
// namespace declarations into scope and reports whether it is a DASH
// element (unprefixed, in DASHNamespace).
func (r *mpdReader) open(se xml.StartElement) (dash bool, err error) {
	name := qname(se.Name)
	if r.elements++; r.elements > MaxMPDElements {
		return false, r.fail(name, "more than %d elements", MaxMPDElements)
	}
	if len(r.declared) >= MaxMPDDepth {
		return false, r.fail(name, "nested deeper than %d", MaxMPDDepth)
	}
	if len(se.Attr) > MaxMPDAttrs {
		return false, r.fail(name, "%d attributes: more than %d", len(se.Attr), MaxMPDAttrs)
	}
	var decl []string
	for i, a := range se.Attr {
		for _, b := range se.Attr[:i] { // at most MaxMPDAttrs²/2 per element
			if a.Name == b.Name {
				return false, r.fail(name, "duplicate attribute %s", qname(a.Name))
			}
		}
		switch {
		case a.Name.Space == "xmlns":
			if a.Name.Local == "xmlns" || a.Name.Local == "xml" || a.Value == "" {
				return false, r.fail(name, "bad namespace declaration %s=%q", qname(a.Name), a.Value)
			}
			decl = append(decl, a.Name.Local)
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			decl = append(decl, "")
		}
	}
	r.declared = append(r.declared, decl)
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" {
			r.ns[a.Name.Local] = append(r.ns[a.Name.Local], a.Value)
		} else if a.Name.Space == "" && a.Name.Local == "xmlns" {
			r.ns[""] = append(r.ns[""], a.Value)
		}
	}
	for _, a := range se.Attr {
		if a.Name.Space != "" && a.Name.Space != "xmlns" && r.lookup(a.Name.Space) == "" {
			return false, r.fail(name, "attribute %s: undeclared namespace prefix %q", qname(a.Name), a.Name.Space)
		}
	}
	if r.ref != nil {
		for _, a := range se.Attr {
			if a.Name.Local == "href" && a.Name.Space != "" && r.lookup(a.Name.Space) == xlinkNamespace {
				r.ref(r.line(), name, qname(a.Name), a.Value)
			}
		}
	}
	uri := r.lookup(se.Name.Space)
	switch {
	case se.Name.Space == "":
		return strings.EqualFold(uri, DASHNamespace), nil
	case uri == "":
		return false, r.fail(name, "undeclared namespace prefix %q", se.Name.Space)
	case strings.EqualFold(uri, DASHNamespace):
		return false, r.fail(name, "prefixed DASH elements are not supported")
	}
	return false, nil
}

// close ends the scope of the innermost open element.
func (r *mpdReader) close() {
	last := len(r.declared) - 1
	for _, p := range r.declared[last] {
		s := r.ns[p]
		r.ns[p] = s[:len(s)-1]
	}
	r.declared = r.declared[:last]
}

func (r *mpdReader) lookup(prefix string) string {
	s := r.ns[prefix]
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func isXMLSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// childFunc handles a child element of the element being read: start is
// its offset in the document, dash whether it is a DASH element. It must
// consume the child up to its end tag (r.content or r.raw).
type childFunc func(se xml.StartElement, start int, dash bool) error

// content reads the content of the element se, already opened, up to its
// end tag. Text goes to *text; with text nil, only white space is
// allowed.
func (r *mpdReader) content(se xml.StartElement, text *string, child childFunc) error {
	var b strings.Builder // text may come in many pieces (between comments)
	for {
		start := int(r.d.InputOffset())
		tok, err := r.d.RawToken()
		if err != nil {
			return r.xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			dash, err := r.open(t)
			if err != nil {
				return err
			}
			if child == nil {
				return r.fail(se.Name.Local, "unexpected element %s", qname(t.Name))
			}
			if err := child(t, start, dash); err != nil {
				return err
			}
		case xml.EndElement:
			if t.Name != se.Name {
				return r.fail(qname(se.Name), "closed by </%s>", qname(t.Name))
			}
			r.close()
			if text != nil {
				*text = b.String()
			}
			return nil
		case xml.CharData:
			switch {
			case text != nil:
				b.Write(t)
			case !isXMLSpace(t):
				return r.fail(se.Name.Local, "unexpected text %q", clipText(bytes.TrimSpace(t)))
			}
		case xml.Directive:
			return r.fail(se.Name.Local, "declarations are not allowed")
		}
	}
}

func clipText(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// raw reads the element se, already opened at offset start, and returns
// it as written. It tells r.ref of the URLs it holds.
func (r *mpdReader) raw(se xml.StartElement, start, after int) (RawElement, error) {
	type open struct {
		name xml.Name
		url  bool // its text is a URL (Location, BaseURL, ...)
	}
	stack := []open{{se.Name, se.Name.Space == "" && urlTextElement(se.Name.Local)}}
	if r.ref != nil {
		r.rawRefs(se)
	}
	var text strings.Builder
	for len(stack) > 0 {
		tok, err := r.d.RawToken()
		if err != nil {
			return RawElement{}, r.xmlError(err)
		}
		top := &stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if _, err := r.open(t); err != nil {
				return RawElement{}, err
			}
			if r.ref != nil {
				r.rawRefs(t)
			}
			stack = append(stack, open{t.Name, t.Name.Space == "" && urlTextElement(t.Name.Local)})
			text.Reset()
		case xml.EndElement:
			if t.Name != top.name {
				return RawElement{}, r.fail(qname(top.name), "closed by </%s>", qname(t.Name))
			}
			if top.url && r.ref != nil {
				r.ref(r.line(), top.name.Local, "", strings.TrimSpace(text.String()))
			}
			text.Reset()
			stack = stack[:len(stack)-1]
			r.close()
		case xml.CharData:
			if top.url && r.ref != nil && text.Len() < MaxPathLen*4 {
				text.Write(t)
			}
		case xml.Directive:
			return RawElement{}, r.fail(se.Name.Local, "declarations are not allowed")
		}
	}
	return RawElement{After: after, XML: string(r.data[start:r.d.InputOffset()])}, nil
}

// urlTextElement reports whether the text of an unmodelled DASH element
// is a URL a player would follow.
func urlTextElement(name string) bool {
	return name == "BaseURL" || name == "Location" || name == "PatchLocation"
}

// rawRefs tells r.ref of the URL attributes of an unmodelled element:
// sourceURL (Initialization, RepresentationIndex, ...), SegmentURL's
// media and index, SegmentTemplate's and SegmentList's templates, and
// (xlink:href, on any element, is reported by open).
func (r *mpdReader) rawRefs(se xml.StartElement) {
	for _, a := range se.Attr {
		switch {
		case a.Name.Space != "" || se.Name.Space != "": // xlink:href: see open
		case a.Name.Local == "sourceURL",
			se.Name.Local == "SegmentURL" && (a.Name.Local == "media" || a.Name.Local == "index"),
			(se.Name.Local == "SegmentTemplate" || se.Name.Local == "SegmentList" || se.Name.Local == "SegmentBase") &&
				(a.Name.Local == "media" || a.Name.Local == "initialization" || a.Name.Local == "index" ||
					a.Name.Local == "bitstreamSwitching"):
			r.ref(r.line(), se.Name.Local, a.Name.Local, a.Value)
		}
	}
}
