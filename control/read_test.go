package control

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

func TestReadConsistent(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.Leader()
	ctx := testCtx(t, 10*time.Second)
	res, err := leader.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("a")))
	if err != nil {
		t.Fatal(err)
	}
	d, err := leader.ReadConsistent(ctx)
	if err != nil || d.Version < res.Version || d.Events["a"].ID != "a" {
		t.Fatalf("on the leader: %v, %+v", err, d)
	}
	lid, laddr := leader.Leader()
	for _, s := range c.live() {
		if s == leader {
			continue
		}
		_, err := s.ReadConsistent(ctx)
		var nl *NotLeaderError
		if !errors.As(err, &nl) || nl.LeaderID != lid || nl.LeaderAddr != laddr || nl.InFlight {
			t.Fatalf("on %s: %v", s.cfg.NodeID, err)
		}
	}
}

// notLeaderOrCtx reports whether err is an answer a read that cannot be
// confirmed may give.
func notLeaderOrCtx(err error) bool {
	return errors.Is(err, ErrNotLeader) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// A leader paused while the others elect a new one and acknowledge a write
// must not answer a consistent read with what it has: while paused, or
// as it resumes.
func TestReadConsistentOnResumedOldLeader(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := testCtx(t, 20*time.Second)
	i := c.LeaderIndex()
	old := c.Store(i)
	if _, err := old.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("before"))); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged(1)

	// Pause it: its disk stalls under a write, so its main loop stops where
	// it stands and it still believes it leads; then cut it off.
	entered := c.StallDisk(i)
	stuck := make(chan error, 1)
	go func() {
		_, err := old.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("stuck")))
		stuck <- err
	}()
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("the write never reached the disk")
	}
	c.Isolate(i)

	// The others elect a leader and acknowledge a write the old one lacks.
	var next *Store
	poll.Until(t, "a new leader", 10*time.Second, func() bool {
		for _, s := range c.live() {
			if s != old && s.IsLeader() {
				next = s
				return true
			}
		}
		return false
	})
	acked, err := next.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("after")))
	if err != nil {
		t.Fatal(err)
	}
	if !old.IsLeader() {
		t.Fatal("the paused leader stepped down: nothing left to test")
	}

	// Paused: no answer.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	d, err := old.ReadConsistent(short)
	cancel()
	if err == nil || !notLeaderOrCtx(err) {
		t.Fatalf("paused old leader answered: %v, version %d (acknowledged: %d)", err, versionOf(d), acked.Version)
	}

	// Resuming: a read in flight gets no stale answer either.
	inFlight := make(chan error, 1)
	go func() {
		d, err := old.ReadConsistent(ctx)
		if err == nil && d.Version < acked.Version {
			err = errors.New("stale")
		}
		inFlight <- err
	}()
	c.ResumeDisk(i)
	c.Rejoin(i)
	if err := <-inFlight; err != nil && !notLeaderOrCtx(err) {
		t.Fatalf("read while resuming: %v", err)
	}
	if err := <-stuck; !errors.Is(err, ErrNotLeader) {
		t.Fatalf("the paused write: %v", err)
	}

	// Resumed: it follows, and says who leads.
	poll.Until(t, "the old leader to follow the new one", 10*time.Second, func() bool {
		id, _ := old.Leader()
		return !old.IsLeader() && id == next.cfg.NodeID
	})
	_, err = old.ReadConsistent(ctx)
	var nl *NotLeaderError
	if !errors.As(err, &nl) || nl.LeaderID != next.cfg.NodeID {
		t.Fatalf("resumed old leader: %v", err)
	}
	c.WaitConverged(next.Current().Version)
	for _, s := range c.live() {
		if _, ok := s.Current().Events["after"]; !ok {
			t.Errorf("%s lost the acknowledged write", s.cfg.NodeID)
		}
	}
}

func versionOf(d *Document) uint64 {
	if d == nil {
		return 0
	}
	return d.Version
}
