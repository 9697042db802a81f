// Package poll is the one polling helper of the project's tests: wait for
// a condition, never for a fixed time.
package poll

import (
	"testing"
	"time"
)

// Until calls cond until it reports true, and fails t if it has not within
// the limit. It polls quickly at first (1 ms), then backs off to 50 ms, so
// fast conditions are seen at once and slow ones cost little CPU.
func Until(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
