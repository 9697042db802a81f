// Package soak is the hardening soak test: a 3-node mesh of `ringside node`
// processes (each with 4096 descriptors) under a mixed crowd for about a
// minute: good players following the live edge on every node, readers
// that pipeline requests and never read, connection flooders, cache
// busters (random queries, LL-HLS directives, missing files and events) and
// uploaders that cut their bodies short or use a wrong stream key. It
// checks that the good players see no error and every byte right, that no
// node exits, and that each node's resident memory stays under
// cache.max_bytes + ingest.live_bytes + 128 MiB (sampled from /proc every
// 250 ms; the nodes are built without the race detector, which multiplies
// memory). RINGSIDE_SOAK_S sets the duration (45 s by default); -short
// skips it.
package soak
