// Package shield is Ringside's cache tier: a byte-bounded store (ristretto,
// cost = bytes), request coalescing, read-while-writer streaming to every
// waiter, TTLs by kind of file, playlists that never go back in media
// sequence, and stale-if-error. It fetches misses through a Fetcher, so it
// knows peers and origins only through that small interface (package route
// decides whether the next tier up is a shield owner or the origin, and
// resumes bodies that break). It has no HTTP client code.
//
// Coalescing: N concurrent requests for one key make exactly one upstream
// fetch. The fetch runs on its own context with its own deadline, so a
// waiter that leaves does not cancel it; every waiter receives the bytes as
// they arrive, woken by the writer (no polling).
package shield
