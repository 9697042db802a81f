package object

import (
	"strconv"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

// SegmentMaxAge is what players and downstream caches are told to keep an
// immutable segment or init segment for. A day, not a year: an encoder that
// restarts reuses names like index0.ts, and a day bounds that mistake.
const SegmentMaxAge = 24 * time.Hour

// CacheControl returns the Cache-Control value for a file of kind in a
// rendition whose target duration is td seconds (0 if unknown). Playlists
// get a max-age strictly below half the target duration, so a cache never
// holds a playlist across a whole segment.
func CacheControl(kind segment.FileKind, td int) string {
	switch kind {
	case segment.KindSegment, segment.KindInit:
		return segmentCC
	case segment.KindPlaylist, segment.KindManifest:
		if td <= 0 {
			return "public, max-age=0"
		}
		return "public, max-age=" + strconv.Itoa((td-1)/2)
	default:
		return "no-store"
	}
}

var segmentCC = "public, max-age=" + strconv.Itoa(int(SegmentMaxAge/time.Second)) + ", immutable"

// PlaylistTTL is how long a tier may serve a playlist from its own cache
// before refetching: 45% of the target duration, below half as the design
// asks, and never under 100 ms.
func PlaylistTTL(td int) time.Duration {
	if td <= 0 {
		return 500 * time.Millisecond
	}
	ttl := time.Duration(td) * time.Second * 45 / 100
	return max(ttl, 100*time.Millisecond)
}
