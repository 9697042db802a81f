// Package faults is Ringside's multi-host fault suite: real `ringside node`
// processes on seven hosts made of Linux network namespaces (five nodes, an
// origin and a client), joined by a switch the test runs itself, which
// delays, drops, reorders and cuts frames between groups of hosts. The
// scenarios (a shield partitioned during a crowd, the Raft leader's host
// partitioned away, 200 ms RTT and 2% loss between regions, an ingest host
// killed and restarted, a full disk) assert behaviours and record their
// figures in bench/FAULTS.md.
//
// It needs root, ip(8) and network namespaces, and runs only when
// RINGSIDE_FAULTS=1 (make faults); plain `go test ./...` skips it and says
// why.
package faults
