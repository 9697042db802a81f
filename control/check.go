package control

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/hashicorp/raft"
)

// checkRingLen is how many applied log entries a voter remembers the
// position and document digest of, to compare with the leader's checks.
// At one check per CheckInterval, only the last few entries are ever asked
// for; the rest covers a voter that applies a long batch late.
const checkRingLen = 1024

// Divergence is a voter found holding a different state from the leader's
// at the same Raft log position: different entries at one index (the
// terms differ), or the same entries applied into different documents.
// Either way this voter's copy can no longer be trusted: rebuild it from
// the others (stop it, delete its DataDir, add it again).
type Divergence struct {
	Index uint64 `json:"index"` // the log index compared
	Term  uint64 `json:"term"`  // the leader's term for that entry
	// LocalTerm is this voter's term for that entry; it differs from Term
	// when the two logs hold different entries at Index.
	LocalTerm uint64    `json:"local_term"`
	Local     string    `json:"local"`  // sha256 of this voter's document after Index, hex; "" if no longer kept
	Remote    string    `json:"remote"` // the leader's
	Leader    string    `json:"leader"` // node id of the leader that sent the check
	At        time.Time `json:"at"`     // when this voter found it (its clock)
}

// checkpoint is the payload of a check entry: the proposing leader's
// latest applied entry and the digest of its document after it. Every
// voter applying the check compares it with its own ring. A check changes
// nothing in the replicated state: not the document, its Version, the
// history or the idempotency keys.
type checkpoint struct {
	Index  uint64 `json:"index"`
	Term   uint64 `json:"term"`
	Digest string `json:"digest"` // hex sha256 of the encoded document
	Leader string `json:"leader"`
}

// checks is what a voter learned from check entries.
type checks struct {
	compared    uint64 // checks whose index was still in the ring
	divergences uint64 // of those, how many did not match
	lastIndex   uint64 // index of the last entry compared
	diverged    bool   // the last check compared did not match
	first       Divergence
	found       bool
}

// compare checks c against this voter's ring, on the FSM goroutine with
// f.mu held. Only the first mismatch after agreement is logged: once
// diverged, every later check differs too.
func (f *fsm) compare(c checkpoint) {
	own, ok := f.ring.find(c.Index)
	if !ok {
		return // too old, or applied before a snapshot was restored
	}
	sum, known, err := own.doc.digest()
	if err != nil {
		f.log.Error("encoding the document for a log check", "index", c.Index, "err", err)
	}
	if !known && own.term == c.Term {
		return // the document is forgotten; the terms agree
	}
	var local string
	if known {
		local = hex.EncodeToString(sum[:])
	}
	ck := &f.checks
	ck.compared++
	ck.lastIndex = c.Index
	if own.term == c.Term && local == c.Digest {
		ck.diverged = false
		return
	}
	ck.divergences++
	if ck.diverged {
		return
	}
	ck.diverged, ck.found = true, true
	ck.first = Divergence{Index: c.Index, Term: c.Term, LocalTerm: own.term, Local: local, Remote: c.Digest,
		Leader: c.Leader, At: f.now()}
	f.log.Error("this voter diverged from the leader: its state can no longer be trusted",
		"index", c.Index, "term", c.Term, "local_term", own.term, "local_digest", local,
		"leader_digest", c.Digest, "leader", c.Leader)
}

// checkpoint returns what a leader's next check entry carries: its latest
// applied entry, unless that is a check itself (nothing new to compare).
func (f *fsm) checkpoint(leader string) (checkpoint, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.ring.last()
	if !ok || a.check {
		return checkpoint{}, false
	}
	sum, known, err := a.doc.digest()
	if !known {
		f.log.Error("no digest of the latest document for a log check", "index", a.index, "err", err)
		return checkpoint{}, false
	}
	return checkpoint{Index: a.index, Term: a.term, Digest: hex.EncodeToString(sum[:]), Leader: leader}, true
}

// divergence returns the checks' counters and the divergence found, if any.
func (f *fsm) divergence() checks {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks
}

// Divergence reports the first mismatch of the latest run of failed checks
// on this voter since it started (false: none). See Divergence.
func (s *Store) Divergence() (Divergence, bool) {
	ck := s.fsm.divergence()
	return ck.first, ck.found
}

// runChecks appends a check entry every interval while this store leads
// and something was applied since the last check. It returns when ctx
// ends.
func (s *Store) runChecks(ctx context.Context, r *raft.Raft, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last uint64 // index of the last entry proposed for checking
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.State() != raft.Leader {
			continue
		}
		c, ok := s.fsm.checkpoint(s.cfg.NodeID)
		if !ok || c.Index == last {
			continue
		}
		data, err := json.Marshal(entry{Check: &c, At: s.now().UTC()})
		if err != nil {
			s.log.Error("encode check", "err", err)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, every)
		err = wait(actx, r.Apply(data, every))
		cancel()
		if err != nil {
			s.log.Debug("check not committed", "index", c.Index, "err", err)
			continue
		}
		last = c.Index
	}
}
