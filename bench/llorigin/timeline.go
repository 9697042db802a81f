package llorigin

import (
	"context"
	"sync"
	"time"
)

// pubRing is how many of the newest parts keep their publication time:
// 2048 half-second parts are 17 minutes, more than any bounded run.
const pubRing = 2048

// timeline is the publication state shared by every rendition (they
// publish their parts together): how many parts exist, when each of the
// newest was published, and a channel closed at every publication so that
// held requests wake at once.
type timeline struct {
	mu      sync.Mutex
	n       int64 // parts published: 0..n-1 exist
	changed chan struct{}
	pub     [pubRing]int64 // unix ns publication time of part a at a%pubRing
}

func newTimeline(n int64, scheduled func(a int64) time.Time) *timeline {
	tl := &timeline{n: n, changed: make(chan struct{})}
	for a := max(0, n-pubRing); a < n; a++ {
		tl.pub[a%pubRing] = scheduled(a).UnixNano()
	}
	return tl
}

// published returns how many parts exist.
func (tl *timeline) published() int64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.n
}

// publish makes parts up to (excluding) n exist, stamped at, and wakes
// every waiter. It reports how many it published.
func (tl *timeline) publish(n int64, at time.Time) int64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if n <= tl.n {
		return 0
	}
	added := n - tl.n
	for a := tl.n; a < n; a++ {
		tl.pub[a%pubRing] = at.UnixNano()
	}
	tl.n = n
	close(tl.changed)
	tl.changed = make(chan struct{})
	return added
}

// publishedAt returns the publication time of part a, false when a does
// not exist or is too old to be remembered.
func (tl *timeline) publishedAt(a int64) (int64, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if a < 0 || a >= tl.n || a < tl.n-pubRing {
		return 0, false
	}
	return tl.pub[a%pubRing], true
}

// await waits until part need exists (n > need), ctx ends or limit
// passes, and returns the number of parts published then.
func (tl *timeline) await(ctx context.Context, need int64, limit time.Duration) (int64, bool) {
	var timeout <-chan time.Time
	for {
		tl.mu.Lock()
		n, ch := tl.n, tl.changed
		tl.mu.Unlock()
		if n > need {
			return n, true
		}
		if timeout == nil {
			t := time.NewTimer(limit)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-timeout:
			return n, false
		case <-ctx.Done():
			return n, false
		}
	}
}
