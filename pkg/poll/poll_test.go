package poll

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	var n atomic.Int32
	Until(t, "third call", time.Minute, func() bool { return n.Add(1) == 3 })
	if n.Load() != 3 {
		t.Fatalf("cond called %d times", n.Load())
	}
}

// recorder is a testing.TB that records a failure instead of stopping.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	panic(r)
}

func TestUntilFails(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() { recover() }()
		Until(r, "never", 10*time.Millisecond, func() bool { return false })
	}()
	if !r.failed {
		t.Fatal("a condition never met did not fail the test")
	}
}
