package manifest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/ringside-live/ringside/steering"
)

// ErrNotMPD: the document is not XML with an MPD root element.
var ErrNotMPD = errors.New("manifest: not an MPD")

// mpdChild is a direct child element of MPD, by byte offsets: ws is where
// the whitespace before it starts, start and end bound the element.
type mpdChild struct {
	name           string
	ws, start, end int
	text           string // character data (BaseURL's URL)
}

// SteerMPD returns mpd with DASH content steering: a
// <ContentSteering defaultServiceLocation="defaultLoc"
// queryBeforeStart="true">serverURI</ContentSteering> element and one
// <BaseURL serviceLocation="id"> per location (pathway) with its BaseURL,
// placed after any ProgramInformation at the top of the MPD. Existing
// MPD-level BaseURL and ContentSteering elements are replaced; when the
// MPD had one relative BaseURL it is resolved against each location's URL.
// Everything else is kept byte for byte. Locations that are clones, have
// an invalid or repeated id or no BaseURL are skipped; when none is left
// the MPD's own BaseURLs stay.
func SteerMPD(mpd []byte, serverURI, defaultLoc string, locations []steering.Pathway) ([]byte, error) {
	root, children, err := scanMPD(mpd)
	if err != nil {
		return nil, err
	}
	relative := ""
	var keep []mpdChild
	for _, c := range children {
		switch c.name {
		case "BaseURL":
			if u, err := url.Parse(strings.TrimSpace(c.text)); err == nil && !u.IsAbs() && relative == "" {
				relative = u.String()
			}
		case "ContentSteering":
		default:
			keep = append(keep, c)
		}
	}
	// Insert before the first kept child that is not ProgramInformation.
	at, indent := root.end, "\n"
	for _, c := range keep {
		indent = string(mpd[c.ws:c.start])
		if c.name != "ProgramInformation" {
			at = c.ws
			break
		}
		at = c.end
	}
	if strings.TrimSpace(indent) != "" {
		indent = "\n"
	}
	var ins bytes.Buffer
	for _, p := range usable(locations) {
		base := baseURL(p.BaseURL)
		if base == nil {
			continue
		}
		u := base.String()
		if relative != "" {
			u = resolve(base, relative)
		}
		fmt.Fprintf(&ins, `%s<BaseURL serviceLocation="%s">%s</BaseURL>`, indent, escape(p.ID), escape(u))
	}
	replaceBase := ins.Len() > 0 // without a location, the MPD keeps its BaseURLs
	fmt.Fprintf(&ins, `%s<ContentSteering defaultServiceLocation="%s" queryBeforeStart="true">%s</ContentSteering>`,
		indent, escape(defaultLoc), escape(serverURI))
	var drop []mpdChild
	for _, c := range children {
		if c.name == "ContentSteering" || c.name == "BaseURL" && replaceBase {
			drop = append(drop, c)
		}
	}
	return splice(mpd, drop, at, ins.Bytes()), nil
}

// splice copies mpd without the elements in drop (and the whitespace
// before them), inserting ins at offset at.
func splice(mpd []byte, drop []mpdChild, at int, ins []byte) []byte {
	out := make([]byte, 0, len(mpd)+len(ins))
	pos := 0
	for _, c := range drop {
		if at <= c.ws && at >= pos {
			out = append(out, mpd[pos:at]...)
			out = append(out, ins...)
			pos, ins = at, nil
		}
		out = append(out, mpd[pos:c.ws]...)
		pos = c.end
	}
	if ins != nil {
		out = append(out, mpd[pos:at]...)
		out = append(out, ins...)
		pos = at
	}
	return append(out, mpd[pos:]...)
}

// scanMPD finds the MPD root (start tag bounds in root.start and
// root.end) and its direct children.
func scanMPD(mpd []byte) (root mpdChild, children []mpdChild, err error) {
	d := xml.NewDecoder(bytes.NewReader(mpd))
	depth, last := 0, 0
	var cur *mpdChild
	for {
		off := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return root, nil, fmt.Errorf("%w: %v", ErrNotMPD, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "MPD" {
					return root, nil, fmt.Errorf("%w: root element %s", ErrNotMPD, t.Name.Local)
				}
				root = mpdChild{name: "MPD", start: off, end: int(d.InputOffset())}
			case 2:
				children = append(children, mpdChild{name: t.Name.Local, ws: last, start: off})
				cur = &children[len(children)-1]
			}
		case xml.EndElement:
			depth--
			if depth == 1 && cur != nil {
				cur.end = int(d.InputOffset())
				cur = nil
			}
		case xml.CharData:
			if depth == 2 && cur != nil {
				cur.text += string(t)
			}
		}
		// Whitespace before a child starts where the previous child (or
		// the MPD start tag, or a comment) ended.
		if _, text := tok.(xml.CharData); depth == 1 && !text {
			last = int(d.InputOffset())
		}
	}
	if root.name == "" {
		return root, nil, ErrNotMPD
	}
	return root, children, nil
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
