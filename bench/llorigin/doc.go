// Package llorigin simulates the origin of a low-latency HLS packager
// (RFC 8216bis) for cache benchmarks: renditions that publish a part every
// PartDuration (PartsPerSegment parts make a segment), media playlists with
// EXT-X-VERSION 9, SERVER-CONTROL (CAN-BLOCK-RELOAD, PART-HOLD-BACK,
// CAN-SKIP-UNTIL), PART-INF, MAP, parts as their own URIs, a PRELOAD-HINT
// and RENDITION-REPORTs, and the server side of the delivery directives:
//
//   - a blocking reload (_HLS_msn, _HLS_part) is held until the part (or
//     the whole segment) is published, 400 when it asks more than two
//     segments or the Advance Part Limit beyond the live edge, 503 when the
//     part did not come within HoldLimit (three target durations);
//   - _HLS_skip=YES (or v2) gives a delta update with EXT-X-SKIP;
//   - a request for the hinted part is held until the part exists.
//
// Part and segment bytes are originsim bodies (a function of the path), so
// a client verifies every body it gets. The simulator counts what reaches
// it: blocking playlist requests per (playlist, msn, part), requests per
// part, plain playlist requests, statuses, and the most requests it held at
// once; and it records when each part was published, so that a load
// generator can tell how long after publication its players had the
// playlist listing a part (GET /_stats, POST /_stats/reset).
//
// Parts are published by Run on the wall clock, or by Advance with any
// clock (tests). It uses the standard library and bench/originsim only.
package llorigin
