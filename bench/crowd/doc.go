// Package crowd is a flash-crowd load generator for live HLS caches.
//
// Players join uniformly within a join window, each on one base URL (spread
// round-robin) and one rendition. A player loads the media playlist, fetches
// the newest few segments (the join), then follows the live edge: it reloads
// the playlist about every target duration, with jitter, and fetches each
// new segment once. Every segment body is checked with originsim's verifier
// as it streams in, so a cache that serves the wrong bytes is caught.
//
// The Report holds time-to-first-byte percentiles for playlists, join
// segments and live segments, request, error, mismatch and byte counts, the
// generator's own CPU time, and, when given the origin simulator's stats URL,
// how many origin requests each segment cost: the measure of request
// coalescing.
package crowd
