// Package ingest is the encoder-attached origin. It takes HLS pushes from an
// encoder (ffmpeg's `-method PUT`: chunked bodies, no Content-Type, playlists
// that may finish arriving before the segments they list), authenticates
// them by a per-event stream key, holds uploads that are still arriving as
// pending objects that readers can follow, validates every playlist against
// the one it replaces before publishing it (every URI it names must stay
// inside the event), and keeps the live window in a byte-bounded store:
// each event has its share of the live budget, every byte is reserved
// before it is allocated, and nothing published is evicted to make room. Segments that leave the window are retired to a
// ristretto cache (cost = bytes), so they are the first to be evicted.
//
// The package knows nothing about HTTP servers: the node adapts requests to
// Put, Delete and Get, and maps the sentinel errors to status codes.
package ingest
