// Package llcrowd is a load generator of low-latency HLS players
// (RFC 8216bis) for caches in front of an LL-HLS origin (bench/llorigin).
//
// Players join uniformly within a join window, each on one base URL
// (spread round-robin) and one rendition. A player loads the media
// playlist, then loops as an LL-HLS client does: it asks for the part
// after the newest one listed with a blocking reload
// (?_HLS_msn=M&_HLS_part=P, and _HLS_skip=YES for a delta update) and, at
// the same time, fetches the part the playlist's PRELOAD-HINT names; both
// are answered when the part is published, so each player reloads once per
// part (every 0.5 s). Every part body is checked with originsim's verifier.
//
// From the origin simulator's publication times the Report derives the
// wake latency (the part published at the origin → the player has the
// playlist that lists it), the part's time to first byte counted from
// when it could first be had (its publication, or the request if later),
// late parts and stalls; and it counts errors by kind, the origin's
// requests per (playlist, msn, part) and per part, the most requests it
// held at once, and, when given metrics URLs, the blocking requests
// parked on each Ringside node (its Prometheus gauges, sampled).
//
// Players speak HTTP/1.1 on their own keep-alive connections (one for
// playlists, one for parts), so that ten thousand parked players cost the
// generator a goroutine and a small buffer each.
package llcrowd
