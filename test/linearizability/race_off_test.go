//go:build unix && !race

package linearizability

// raceEnabled: the test runs under the race detector, and so do the nodes.
const raceEnabled = false
