// Package telemetry turns what players report (CMCD, CTA-5004) and what an
// edge measures about each response into a mesh-wide view of the viewers'
// experience, and that view into health signals.
//
// A Parser reads the CMCD of a request (query parameter or headers)
// without allocating; StripQuery keeps CMCD out of cache keys. A Recorder
// on each node takes one Observation per request and keeps counters, a
// startup-time histogram and a HyperLogLog Sketch of sessions per series
// (event × region × pathway × rendition), lock-free and bounded in series.
// Every second the node cuts a Delta (what changed since the previous one)
// and sends its compact encoding to the steer and control nodes, where a
// Merger folds the deltas of every node into per-second rings and reads
// them back (View): viewers, startups and their p50/p90, rebuffer ratio,
// error rates, bitrate and throughput over the last 10 s and 60 s.
// HealthInputs gives per (pathway, region) interval stats; a HealthTracker
// applies hysteresis (HealthConfig.Step is the pure state machine).
//
// The clock is passed in (Delta takes the time, the Merger has a Now
// func), there is no package-level state, and the only dependency is the
// standard library.
package telemetry
