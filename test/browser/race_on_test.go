//go:build unix && race

package browser

// raceEnabled: the test runs under the race detector, and so does the demo.
const raceEnabled = true
