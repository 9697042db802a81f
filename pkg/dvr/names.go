package dvr

import (
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// Input bounds. They keep every log record small (see maxRecord) and every
// name on disk under the 255-byte limit of common file systems.
const (
	maxEventLen = 64   // escaped, at most 3*64+2 bytes of directory name
	maxPathLen  = 1024 // event-relative paths, renditions, maps
	maxTypeLen  = 255  // content types
	maxNameLen  = 255  // pin names
)

const eventDirPrefix = "e-"

// checkEvent accepts any UTF-8 event id of 1..maxEventLen bytes without
// control characters; eventDir escapes it for the file system.
func checkEvent(event string) error {
	switch {
	case event == "":
		return fmt.Errorf("%w: empty event id", ErrInvalid)
	case len(event) > maxEventLen:
		return fmt.Errorf("%w: event id %.20q... longer than %d bytes", ErrInvalid, event, maxEventLen)
	case !utf8.ValidString(event) || strings.ContainsFunc(event, isControl):
		return fmt.Errorf("%w: event id %q: not printable UTF-8", ErrInvalid, event)
	}
	return nil
}

// checkPath accepts an event-relative slash-separated path: no leading or
// trailing slash, no empty, "." or ".." element, no backslash, no control
// character. what names the argument in the error.
func checkPath(what, p string) error {
	reason := ""
	switch {
	case p == "":
		reason = "empty"
	case len(p) > maxPathLen:
		return fmt.Errorf("%w: %s %.40q... longer than %d bytes", ErrInvalid, what, p, maxPathLen)
	case strings.HasPrefix(p, "/"):
		reason = "absolute paths are not allowed"
	case strings.Contains(p, `\`):
		reason = "backslash is not allowed"
	case !utf8.ValidString(p) || strings.ContainsFunc(p, isControl):
		reason = "not printable UTF-8"
	case !fs.ValidPath(p):
		reason = `"..", "." and empty elements are not allowed`
	default:
		return nil
	}
	return fmt.Errorf("%w: %s %q: %s", ErrInvalid, what, p, reason)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// eventDir is the directory name of an event: "e-" and the id with every
// byte outside [A-Za-z0-9._-] written as %XX. The escape is injective and
// the prefix keeps "." and ".." impossible.
func eventDir(event string) string {
	var b strings.Builder
	b.WriteString(eventDirPrefix)
	for i := 0; i < len(event); i++ {
		c := event[i]
		if isPlain(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// eventFromDir inverts eventDir; it refuses names eventDir cannot produce.
func eventFromDir(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, eventDirPrefix)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(rest) {
			return "", false
		}
		var v byte
		if _, err := fmt.Sscanf(rest[i+1:i+3], "%02X", &v); err != nil {
			return "", false
		}
		b.WriteByte(v)
		i += 2
	}
	event := b.String()
	if eventDir(event) != name || checkEvent(event) != nil {
		return "", false
	}
	return event, true
}

func isPlain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}
