// Command llorigin serves a simulated low-latency HLS packager on a
// loopback address for cache benchmarks (see package
// bench/llorigin): parts published on the wall clock, blocking playlist
// reloads, delta updates, held hinted parts, and GET /_stats with the
// requests per (playlist, msn, part), per part, and each part's
// publication time.
package main
