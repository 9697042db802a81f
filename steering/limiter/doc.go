// Package limiter sheds requests per client network: every network (an
// IPv4 address, an IPv6 /48 by default) has its own token bucket, so one
// greedy client is refused while everyone else is served.
//
// The buckets live in a fixed table (Config.Entries), set-associative with
// a seeded hash: memory does not grow with the number of clients, and the
// least recently used network of a full set makes room for a new one. A
// network that loses its entry that way starts again with a full bucket;
// a network that keeps asking is never the least recently used, so it
// keeps its empty bucket.
//
// It uses the standard library only; the caller passes the time.
package limiter
