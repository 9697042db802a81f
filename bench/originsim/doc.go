// Package originsim simulates the origin of a live HLS packager for cache
// benchmarks: a master playlist, one rolling media playlist per rendition
// whose media sequence advances with the clock, and segments whose bytes are
// derived from their path so that a client can check every body it receives
// (Body, Verify, NewVerifier) without keeping a copy.
//
// The simulator can be made slow the way a real packager is under load: a
// delay before the headers of segments and of playlists, and a per-connection
// bandwidth cap that writes a segment body in paced chunks. It counts the
// requests it receives per path (GET /_stats, POST /_stats/reset), which is
// how a benchmark sees whether a cache in front of it coalesced requests.
//
// It uses the standard library only; the clock is injected.
package originsim
