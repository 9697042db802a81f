// Package nodetest starts N real Ringside nodes in one test process, on
// 127.0.0.1 with ephemeral ports and millisecond gossip timings, joined into
// one mesh. It offers Kill (a crash: no leave, connections cut) and
// Partition (gossip dropped between groups) for failure tests.
package nodetest
