package segment

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// FileKind says what role a file plays in a rendition. It drives the content
// type, the cache lifetime and the validation a file gets on ingest.
type FileKind uint8

const (
	// KindUnknown is a file whose extension is not on the allow-list.
	KindUnknown FileKind = iota
	// KindPlaylist is an HLS master or media playlist (.m3u8).
	KindPlaylist
	// KindManifest is a DASH MPD (.mpd).
	KindManifest
	// KindInit is an fMP4 initialisation segment (.mp4 named init*, or any .mp4).
	KindInit
	// KindSegment is a media segment (.ts, .m4s, .aac, .m4a, .m4v, .vtt).
	KindSegment
)

// String returns the lower-case name used in metrics labels.
func (k FileKind) String() string {
	switch k {
	case KindPlaylist:
		return "playlist"
	case KindManifest:
		return "manifest"
	case KindInit:
		return "init"
	case KindSegment:
		return "segment"
	default:
		return "unknown"
	}
}

// Immutable reports whether a file of this kind never changes once
// published (segments and init segments), so it may be cached for long.
func (k FileKind) Immutable() bool { return k == KindInit || k == KindSegment }

type extInfo struct {
	ext         string
	kind        FileKind
	contentType string
}

// exts is the ingest and serving allow-list. ffmpeg sends no Content-Type,
// so the extension is the only source of the type.
var exts = [...]extInfo{
	{".m3u8", KindPlaylist, "application/vnd.apple.mpegurl"},
	{".mpd", KindManifest, "application/dash+xml"},
	{".ts", KindSegment, "video/mp2t"},
	{".m4s", KindSegment, "video/iso.segment"},
	{".mp4", KindInit, "video/mp4"},
	{".m4v", KindSegment, "video/mp4"},
	{".m4a", KindSegment, "audio/mp4"},
	{".aac", KindSegment, "audio/aac"},
	{".vtt", KindSegment, "text/vtt"},
}

// KindOf returns the kind and content type of a file name by its extension.
// Unknown extensions return KindUnknown and "".
func KindOf(name string) (FileKind, string) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return KindUnknown, ""
	}
	ext := name[dot:]
	for i := range exts {
		if exts[i].ext == ext {
			return exts[i].kind, exts[i].contentType
		}
	}
	return KindUnknown, ""
}

// Path limits for files inside an event.
const (
	MaxPathLen   = 256
	MaxPathDepth = 4
)

// ErrBadPath is returned by CheckPath for names that are not allowed.
var ErrBadPath = errors.New("segment: bad path")

// CheckPath validates a file path relative to an event ("0/index12.ts",
// "master.m3u8"): at most MaxPathDepth elements of [A-Za-z0-9._-] that do
// not start with a dot (so no "..", no hidden files, no traversal), at most
// MaxPathLen bytes, and an allowed extension. It returns the file's kind and
// content type.
func CheckPath(p string) (FileKind, string, error) {
	if p == "" {
		return KindUnknown, "", fmt.Errorf("%w: empty", ErrBadPath)
	}
	if len(p) > MaxPathLen {
		return KindUnknown, "", fmt.Errorf("%w: longer than %d bytes", ErrBadPath, MaxPathLen)
	}
	depth := 1
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			c := p[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '_' || c == '-' || c == '.'
			if !ok {
				return KindUnknown, "", fmt.Errorf("%w: character %q not allowed", ErrBadPath, c)
			}
			continue
		}
		elem := p[start:i]
		if elem == "" {
			return KindUnknown, "", fmt.Errorf("%w: empty path element", ErrBadPath)
		}
		if elem[0] == '.' {
			return KindUnknown, "", fmt.Errorf("%w: element %q starts with a dot", ErrBadPath, elem)
		}
		if i < len(p) {
			depth++
			if depth > MaxPathDepth {
				return KindUnknown, "", fmt.Errorf("%w: deeper than %d", ErrBadPath, MaxPathDepth)
			}
		}
		start = i + 1
	}
	kind, ct := KindOf(p)
	if kind == KindUnknown {
		return KindUnknown, "", fmt.Errorf("%w: extension of %q not allowed", ErrBadPath, path.Base(p))
	}
	return kind, ct, nil
}

// ResolveURI resolves a URI listed in a playlist at dir (the playlist's
// directory inside the event, "" for the event root) to a path inside the
// event. Absolute URLs, rooted paths and anything escaping the event are
// rejected.
func ResolveURI(dir, uri string) (string, error) {
	if strings.Contains(uri, "://") || strings.HasPrefix(uri, "/") {
		return "", fmt.Errorf("%w: %q is not relative to the playlist", ErrBadPath, uri)
	}
	if q := strings.IndexAny(uri, "?#"); q >= 0 {
		uri = uri[:q]
	}
	joined := path.Join(dir, uri)
	if joined == "." || strings.HasPrefix(joined, "../") || joined == ".." {
		return "", fmt.Errorf("%w: %q escapes the event", ErrBadPath, uri)
	}
	if _, _, err := CheckPath(joined); err != nil {
		return "", err
	}
	return joined, nil
}
