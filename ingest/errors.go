package ingest

import "errors"

// Sentinel errors; the node maps them to HTTP status codes.
var (
	// ErrUnauthorized: missing or wrong stream key (401). Nothing is stored.
	ErrUnauthorized = errors.New("ingest: missing or wrong stream key")
	// ErrNoEvent: the event does not exist or is not a push event here, or
	// was removed while the upload arrived (404).
	ErrNoEvent = errors.New("ingest: no such push event")
	// ErrBadPath: path not allowed (400).
	ErrBadPath = errors.New("ingest: path not allowed")
	// ErrTooLarge: body over the configured limit (413).
	ErrTooLarge = errors.New("ingest: body too large")
	// ErrStoreFull: the live budget, the event's share of it or the
	// event's file count has no room left (507). Nothing published is
	// evicted to make room.
	ErrStoreFull = errors.New("ingest: live store full")
	// ErrInvalidPlaylist: the playlist does not parse or does not follow the
	// one it would replace (422). The previous playlist stays live.
	ErrInvalidPlaylist = errors.New("ingest: playlist rejected")
	// ErrAborted: the upload ended before its body was complete (400).
	ErrAborted = errors.New("ingest: upload aborted")
	// ErrConflict: another upload of the same new file is in progress (409).
	ErrConflict = errors.New("ingest: upload of this file already in progress")
	// ErrInactive: the event has received no upload on this node (yet).
	ErrInactive = errors.New("ingest: no encoder pushes this event here")
	// ErrNotFound: no such file (404).
	ErrNotFound = errors.New("ingest: not found")
)

// Reject reasons used in metrics labels.
const (
	reasonUnauthorized = "unauthorized"
	reasonNoEvent      = "no_event"
	reasonBadPath      = "bad_path"
	reasonTooLarge     = "too_large"
	reasonStoreFull    = "store_full"
	reasonPlaylist     = "invalid_playlist"
	reasonAborted      = "aborted"
	reasonConflict     = "conflict"
)

func reasonOf(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{ErrUnauthorized, reasonUnauthorized}, {ErrNoEvent, reasonNoEvent}, {ErrBadPath, reasonBadPath},
		{ErrTooLarge, reasonTooLarge}, {ErrStoreFull, reasonStoreFull}, {ErrInvalidPlaylist, reasonPlaylist},
		{ErrConflict, reasonConflict},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return reasonAborted
}
