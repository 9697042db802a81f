package control

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ringside-live/ringside/pkg/poll"
)

// applyLog hands one log entry to f as Raft would.
func applyLog(t testing.TB, f *fsm, index, term uint64, e entry) applyResponse {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := f.Apply(&raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: data}).(applyResponse)
	return resp
}

func testFSM() *fsm {
	return newFSM(slog.New(slog.DiscardHandler), func() time.Time { return t0 })
}

// applyLocal changes this voter's state machine as if its log held an
// entry the others do not have: the divergence checks must catch.
func (f *fsm) applyLocal(t testing.TB, c Command) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.st.apply(entry{Cmd: c, At: t0}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckCompare(t *testing.T) {
	// Entries 3..5 in term 2, as a voter applied them.
	setup := func(t *testing.T) (*fsm, checkpoint) {
		f := testFSM()
		applyLog(t, f, 3, 2, entry{Cmd: cmd(t, CmdPutEvent, pushEvent("a")), At: t0})
		applyLog(t, f, 4, 2, entry{Cmd: cmd(t, CmdPutEvent, pushEvent("b")), At: t0})
		applyLog(t, f, 5, 2, entry{Cmd: cmd(t, CmdDeleteEvent, EventRef{ID: "nope"}), At: t0}) // fails: no change
		c, ok := f.checkpoint("n0")
		if !ok || c.Index != 5 || c.Term != 2 {
			t.Fatalf("checkpoint = %+v, %v", c, ok)
		}
		return f, c
	}
	other := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name     string
		change   func(c checkpoint) checkpoint
		compared bool
		diverged bool
	}{
		{"same", func(c checkpoint) checkpoint { return c }, true, false},
		{"earlier entry, same", func(c checkpoint) checkpoint { c.Index = 4; return c }, true, false},
		{"other digest", func(c checkpoint) checkpoint { c.Digest = other; return c }, true, true},
		{"other term", func(c checkpoint) checkpoint { c.Term = 3; return c }, true, true},
		{"earlier entry, other digest", func(c checkpoint) checkpoint { c.Index = 3; return c }, true, true},
		{"not in the ring", func(c checkpoint) checkpoint { c.Index = 2; c.Digest = other; return c }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := setup(t)
			c = tc.change(c)
			doc, hist, idem, watch := f.st.doc, len(f.st.history), len(f.st.idem), f.board.watch()
			if resp := applyLog(t, f, 6, 2, entry{Check: &c, At: t0}); resp.err != nil {
				t.Fatalf("check entry: %v", resp.err)
			}
			// A check entry changes nothing in the replicated state.
			if f.st.doc != doc || f.st.doc.Version != 2 || len(f.st.history) != hist || len(f.st.idem) != idem {
				t.Fatal("the check entry changed the state")
			}
			select {
			case <-watch:
				t.Fatal("the check entry published a document")
			default:
			}
			ck := f.divergence()
			if got := ck.compared == 1; got != tc.compared {
				t.Fatalf("compared = %d", ck.compared)
			}
			d, found := ck.first, ck.found
			if found != tc.diverged || (ck.divergences == 1) != tc.diverged {
				t.Fatalf("divergence = %+v, %v (%d)", d, found, ck.divergences)
			}
			if found && (d.Index != c.Index || d.Term != c.Term || d.LocalTerm != 2 || d.Remote != c.Digest ||
				d.Local == d.Remote && d.Term == d.LocalTerm || d.Leader != "n0" || !d.At.Equal(t0)) {
				t.Fatalf("divergence = %+v for %+v", d, c)
			}
			// Nothing new since the check: the leader proposes none.
			if c, ok := f.checkpoint("n0"); ok {
				t.Fatalf("checkpoint right after a check = %+v", c)
			}
		})
	}
}

// One alarm per run of mismatching checks; a matching check ends the run.
func TestCheckAlarmOncePerDivergence(t *testing.T) {
	f := testFSM()
	bad := strings.Repeat("f", 64)
	idx := uint64(1)
	next := func(digest string) {
		t.Helper()
		applyLog(t, f, idx, 1, entry{Cmd: cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "e", Drain: idx%4 == 1}), At: t0})
		c, _ := f.checkpoint("n0")
		if digest != "" {
			c.Digest = digest
		}
		applyLog(t, f, idx+1, 1, entry{Check: &c, At: t0})
		idx += 2
	}
	next(bad)
	first := f.divergence().first
	next(bad)
	if ck := f.divergence(); ck.divergences != 2 || ck.first != first || ck.first.Index != 1 {
		t.Fatalf("second mismatch: %+v", ck)
	}
	next("")
	next(bad)
	if ck := f.divergence(); ck.compared != 4 || ck.divergences != 3 || ck.first.Index != 7 {
		t.Fatalf("after agreeing again: %+v", ck)
	}
}

func TestDigestIsOfTheEncodedDocument(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdSeed, seedDoc()))
	sum, err := digestOf(st.doc)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := EncodeDocument(st.doc)
	if sum != sha256.Sum256(enc) {
		t.Fatal("not the digest of EncodeDocument's encoding")
	}
	// A document rebuilt from its encoding (a snapshot, another voter)
	// has the same digest.
	back, err := DecodeDocument(enc)
	if err != nil {
		t.Fatal(err)
	}
	if sum2, _ := digestOf(back); sum2 != sum {
		t.Fatalf("digest changed in a round trip: %s vs %s", hex.EncodeToString(sum[:]), hex.EncodeToString(sum2[:]))
	}
}

// Documents are kept for the checks only while they are among the latest:
// a check naming an older one still compares the terms.
func TestCheckForgottenDocument(t *testing.T) {
	for _, tc := range []struct {
		name     string
		term     uint64
		compared bool
		diverged bool
	}{
		{"same term", 1, false, false},
		{"other term", 2, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFSM()
			f.docs.max = 2
			for i := range 4 {
				applyLog(t, f, uint64(i+1), 1, entry{Cmd: cmd(t, CmdPutEvent, pushEvent(fmt.Sprint("e", i))), At: t0})
			}
			if len(f.docs.kept) != 2 {
				t.Fatalf("%d documents kept", len(f.docs.kept))
			}
			latest, ok := f.checkpoint("n0") // the latest document is kept
			if !ok || latest.Index != 4 {
				t.Fatalf("checkpoint = %+v, %v", latest, ok)
			}
			c := checkpoint{Index: 1, Term: tc.term, Digest: strings.Repeat("a", 64), Leader: "n0"}
			applyLog(t, f, 5, 2, entry{Check: &c, At: t0})
			ck := f.divergence()
			if (ck.compared == 1) != tc.compared || ck.found != tc.diverged || ck.found && ck.first.Local != "" {
				t.Fatalf("checks = %+v", ck)
			}
			applyLog(t, f, 6, 2, entry{Check: &latest, At: t0})
			if after := f.divergence(); after.compared != ck.compared+1 || after.divergences != ck.divergences {
				t.Fatalf("check of the latest document: %+v", after)
			}
		})
	}
}

// lastWrite is the index of the last entry other than a check that s's
// state machine applied: a check names such an entry, never another
// check, so a wait for a check at or after the last entry applied would
// never end when the leader's check ticker appended one after the last
// write.
func lastWrite(s *Store) uint64 {
	s.fsm.mu.Lock()
	defer s.fsm.mu.Unlock()
	for i := s.fsm.ring.n - 1; i >= 0; i-- {
		if a := s.fsm.ring.at(i); !a.check {
			return a.index
		}
	}
	return 0
}

// waitChecked waits until every live voter compared a check at or after
// index.
func waitChecked(t *testing.T, c *testCluster, index uint64) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("every voter to compare a check at index %d or later", index), 10*time.Second, func() bool {
		for _, s := range c.live() {
			if s.fsm.divergence().lastIndex < index {
				return false
			}
		}
		return true
	})
}

func TestNoDivergenceUnderWrites(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.Leader()
	ctx := testCtx(t, 20*time.Second)
	for i := range 100 {
		if _, err := leader.Apply(ctx, cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: fmt.Sprintf("e%d", i%7), Drain: i%2 == 0})); err != nil {
			t.Fatal(err)
		}
	}
	waitChecked(t, c, lastWrite(leader))
	for _, s := range c.live() {
		if d, ok := s.Divergence(); ok {
			t.Errorf("%s: divergence %+v", s.cfg.NodeID, d)
		}
		if st := s.Stats(); st.Checks == 0 || st.Divergences != 0 {
			t.Errorf("%s: stats %+v", s.cfg.NodeID, st)
		}
	}
}

func TestDivergenceDetected(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.Leader()
	ctx := testCtx(t, 20*time.Second)
	if _, err := leader.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("a"))); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged(1)
	var bad *Store
	for _, s := range c.live() {
		if s != leader {
			bad = s
			break
		}
	}
	// One voter applies an entry the log does not have.
	bad.fsm.applyLocal(t, cmd(t, CmdPutEvent, pushEvent("rogue")))
	if _, err := leader.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("b"))); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the alarm on the diverged voter", 10*time.Second, func() bool {
		_, ok := bad.Divergence()
		return ok
	})
	d, _ := bad.Divergence()
	if d.Leader != leader.cfg.NodeID || d.Local == d.Remote || d.Index == 0 || d.Term != d.LocalTerm {
		t.Fatalf("divergence = %+v", d)
	}
	waitChecked(t, c, d.Index)
	for _, s := range c.live() {
		if s == bad {
			continue
		}
		if d, ok := s.Divergence(); ok {
			t.Errorf("%s: divergence %+v", s.cfg.NodeID, d)
		}
		if st := s.Stats(); st.Divergences != 0 {
			t.Errorf("%s: stats %+v", s.cfg.NodeID, st)
		}
	}
	if st := bad.Stats(); st.Divergences == 0 {
		t.Fatalf("diverged voter's stats: %+v", st)
	}
}
