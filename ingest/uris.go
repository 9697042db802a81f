package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/ringside-live/ringside/pkg/segment"
)

// uriRule says where a tag holds a URI.
type uriRule struct {
	attr string // the attribute holding it; "" when the whole value is one
	data bool   // an inline data: URI may stand there (keys)
}

// uriRuleOf returns the rule of a tag that names a URI a player or the
// mesh would follow.
func uriRuleOf(name string) (uriRule, bool) {
	switch name {
	case "#EXT-X-KEY", "#EXT-X-SESSION-KEY":
		return uriRule{attr: "URI", data: true}, true
	case "#EXT-X-MAP", "#EXT-X-PART", "#EXT-X-PRELOAD-HINT", "#EXT-X-RENDITION-REPORT",
		"#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF", "#EXT-X-SESSION-DATA":
		return uriRule{attr: "URI"}, true
	case "#EXT-X-CONTENT-STEERING":
		return uriRule{attr: "SERVER-URI"}, true
	case "#EXT-X-PREFETCH": // community LHLS, as ffmpeg's -lhls writes it
		return uriRule{}, true
	}
	return uriRule{}, false
}

// maxQuotedURI is the longest URI quoted whole in an error message.
const maxQuotedURI = 256

// checkURIs checks every URI a playlist names: the segment and variant URI
// lines and the URI attributes of the tags that hold one (uriRuleOf). Each
// must be relative and resolve inside the event (segment.ResolveURI from
// dir, the playlist's directory inside the event), because players and
// the mesh follow them in the event's name. Only keys may instead be an
// inline data: URI, which sends nobody anywhere. A URI attribute must be a
// quoted string, and the attribute list of such a tag must be well formed
// (upper-case names, no blanks), so no player can read a URI out of it
// that this check did not see. The error names the line and the tag, with
// lines counted as segment's parsers count them.
func checkURIs(data []byte, dir string) error {
	rest := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for n := 1; len(rest) > 0; n++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		switch {
		case len(line) == 0:
		case line[0] != '#':
			if err := checkURI(dir, string(line), false); err != nil {
				return fmt.Errorf("line %d: URI %w", n, err)
			}
		case bytes.HasPrefix(line, []byte("#EXT")):
			name, value, _ := strings.Cut(string(line), ":")
			rule, ok := uriRuleOf(name)
			if !ok {
				continue
			}
			if err := checkTagURIs(rule, dir, value); err != nil {
				return fmt.Errorf("line %d: %s: %w", n, strings.TrimPrefix(name, "#"), err)
			}
		}
	}
	return nil
}

// checkTagURIs checks the URIs in the value of one tag.
func checkTagURIs(rule uriRule, dir, value string) error {
	if rule.attr == "" {
		return checkURI(dir, value, rule.data)
	}
	seen := false
	return eachAttr(value, func(k, v string) error {
		if k != rule.attr {
			return nil
		}
		if seen {
			return fmt.Errorf("more than one %s", k)
		}
		seen = true
		uri, ok := strings.CutPrefix(v, `"`)
		if !ok {
			return fmt.Errorf("%s must be a quoted string", k)
		}
		if err := checkURI(dir, strings.TrimSuffix(uri, `"`), rule.data); err != nil {
			return fmt.Errorf("%s %w", k, err)
		}
		return nil
	})
}

// checkURI checks one URI; the error starts with the URI.
func checkURI(dir, uri string, data bool) error {
	quoted := fmt.Sprintf("%q", uri)
	if len(uri) > maxQuotedURI {
		quoted = fmt.Sprintf("%q... (%d bytes)", uri[:maxQuotedURI], len(uri))
	}
	if len(uri) >= 5 && strings.EqualFold(uri[:5], "data:") {
		switch {
		case !data:
			return fmt.Errorf("%s: a data: URI is allowed for keys only", quoted)
		case !strings.Contains(uri, ","):
			return fmt.Errorf("%s: data: URI without data", quoted)
		}
		return nil
	}
	if len(uri) > maxQuotedURI {
		return fmt.Errorf("%s: longer than %d bytes", quoted, maxQuotedURI)
	}
	if _, err := segment.ResolveURI(dir, uri); err != nil {
		return fmt.Errorf("%s: %w", quoted, err)
	}
	return nil
}

// eachAttr calls f with each attribute of an HLS attribute list, value as
// written (quoted strings keep their quotes). It is strict where players
// are lenient: names are [A-Z0-9-]+ right before '=', a quoted string ends
// at the next quote and is followed by ',' or the end.
func eachAttr(list string, f func(key, value string) error) error {
	for list != "" {
		eq := strings.IndexByte(list, '=')
		if eq < 0 {
			return fmt.Errorf("attribute %q has no value", clip(list))
		}
		key, rest := list[:eq], list[eq+1:]
		if !attrName(key) {
			return fmt.Errorf("bad attribute name %q", clip(key))
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return fmt.Errorf("%s: unterminated quoted string", key)
			}
			value, rest = rest[:end+2], rest[end+2:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
			if value == "" || strings.ContainsAny(value, "\" \t") {
				return fmt.Errorf("%s: bad value %q", key, clip(value))
			}
		}
		if err := f(key, value); err != nil {
			return err
		}
		if rest == "" {
			return nil
		}
		if rest[0] != ',' {
			return fmt.Errorf("%s: want ',' after the value, got %q", key, clip(rest))
		}
		list = rest[1:]
		if list == "" {
			return errors.New("attribute list ends with ','")
		}
	}
	return nil
}

func attrName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
