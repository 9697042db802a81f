//go:build race

package childproc

// raceEnabled: the test runs under the race detector, and so do its children.
const raceEnabled = true
