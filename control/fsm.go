package control

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Sizes of the replicated memory. They are part of the state machine: every
// voter must use the same numbers.
const (
	// IdempotencyKeys is how many applied idempotency keys are remembered
	// (oldest forgotten first).
	IdempotencyKeys = 10000
	// HistoryLen is how many applied changes History keeps.
	HistoryLen = 1000
)

// Change is one applied command, for the audit history.
type Change struct {
	Version uint64    `json:"version"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Actor   string    `json:"actor,omitempty"`
	Summary string    `json:"summary"`
}

// entry is the content of one Raft log entry: the command and the leader's
// clock when it accepted it (so every replica stamps the same UpdatedAt).
type entry struct {
	Cmd Command `json:"cmd,omitzero"`
	// Check, when set, makes this a check entry (see checkpoint) and Cmd
	// is empty.
	Check *checkpoint `json:"check,omitempty"`
	// Timeline, when set, makes this an append to an event's output
	// timeline (see timeline.go) and Cmd is empty.
	Timeline *TimelineOp `json:"timeline,omitempty"`
	At       time.Time   `json:"at"`
}

// idemRecord remembers one applied idempotency key.
type idemRecord struct {
	Key     string `json:"key"`
	Digest  string `json:"digest"` // of type and payload, see commandDigest
	Version uint64 `json:"version"`
}

// state is the replicated state: the document plus what makes retries and
// audits work. Only the FSM goroutine changes it.
type state struct {
	doc     *Document
	idem    map[string]idemRecord
	order   []string // idempotency keys, oldest first
	history []Change // oldest first
	// timelines are the output timelines of events with feeds.
	timelines map[string]*Timeline
	maxIdem   int
	maxHist   int
}

func newState() *state {
	return &state{doc: emptyDocument(), idem: map[string]idemRecord{}, timelines: map[string]*Timeline{},
		maxIdem: IdempotencyKeys, maxHist: HistoryLen}
}

// apply runs one command: it is judged (duplicate check, Expect check,
// the command on a copy, validation of the whole copy), then the copy is
// swapped in. On error nothing changes.
func (s *state) apply(e entry) (Result, error) {
	cmd := e.Cmd
	rec, seen := s.recall(cmd.IdempotencyKey)
	v, err := judge(s.doc, rec, seen, cmd, e.At.UTC())
	switch {
	case err != nil:
		return Result{}, err
	case v.duplicate:
		return Result{Version: rec.Version, Duplicate: true, Doc: s.doc}, nil
	}
	next := v.next
	next.Version = s.doc.Version + 1
	next.UpdatedAt = e.At.UTC()
	s.doc = next
	s.dropTimelines()
	if cmd.IdempotencyKey != "" {
		s.remember(idemRecord{Key: cmd.IdempotencyKey, Digest: v.digest, Version: next.Version})
	}
	s.record(Change{Version: next.Version, At: next.UpdatedAt, Type: cmd.Type, Actor: cmd.Actor, Summary: v.summary})
	return Result{Version: next.Version, Doc: next}, nil
}

// recall finds the record of an applied idempotency key ("" never is).
func (s *state) recall(key string) (idemRecord, bool) {
	if key == "" {
		return idemRecord{}, false
	}
	rec, ok := s.idem[key]
	return rec, ok
}

// verdict is what a command would do to a document.
type verdict struct {
	duplicate bool      // its key was applied: it answers its first result
	next      *Document // else the changed copy, not yet numbered
	summary   string
	digest    string // of the command, when it has a key
}

// judge decides cmd, accepted by the leader at at, against doc, given the
// record of its idempotency key (seen: the key was applied). It changes
// nothing: the FSM swaps the verdict in, the leader's Store.Apply only
// looks at its error.
func judge(doc *Document, rec idemRecord, seen bool, cmd Command, at time.Time) (verdict, error) {
	var v verdict
	if cmd.IdempotencyKey != "" {
		v.digest = commandDigest(cmd)
	}
	if seen {
		if rec.Digest != v.digest {
			return verdict{}, fmt.Errorf("%w: key %q was used by another command (applied as version %d)",
				ErrIdempotencyMismatch, cut(cmd.IdempotencyKey, maxQuoted), rec.Version)
		}
		v.duplicate = true
		return v, nil
	}
	if cmd.Expect != 0 && cmd.Expect != doc.Version {
		return verdict{}, fmt.Errorf("%w: expected version %d, document is at %d", ErrConflict, cmd.Expect, doc.Version)
	}
	var err error
	if v.next, v.summary, err = doc.with(cmd, at); err != nil {
		return verdict{}, err
	}
	return v, nil
}

// with returns a copy of d changed by cmd, accepted by the leader at at,
// and validated whole. Retired signing keys whose end is at or before at
// leave the copy, whatever the command.
func (d *Document) with(cmd Command, at time.Time) (*Document, string, error) {
	if err := cmd.check(); err != nil {
		return nil, "", err
	}
	next := d.clone()
	next.UpdatedAt = at
	summary, err := commands[cmd.Type](next, cmd.Payload)
	if err != nil {
		return nil, "", err
	}
	next.Signing = next.Signing.pruned(at)
	if err := validateDocument(next); err != nil {
		return nil, "", err
	}
	return next, summary, nil
}

func (s *state) remember(r idemRecord) {
	s.idem[r.Key] = r
	s.order = append(s.order, r.Key)
	for len(s.order) > s.maxIdem {
		delete(s.idem, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *state) record(c Change) {
	s.history = append(s.history, c)
	if len(s.history) > s.maxHist {
		s.history = s.history[len(s.history)-s.maxHist:]
	}
}

// commandDigest identifies what a command does, for idempotency: its type
// and its payload (compacted JSON), except for a signing-key rotation,
// which is identified by the key id alone: the node that handles it
// generates a fresh secret, so a retry through another node carries
// another secret and must still be the same rotation, never a second one.
func commandDigest(c Command) string {
	var buf bytes.Buffer
	buf.WriteString(c.Type)
	buf.WriteByte('\n')
	var k RotateKeyArgs
	switch {
	case c.Type == CmdRotateSigningKey && decodeStrict(c.Payload, &k) == nil:
		buf.WriteString("id=")
		buf.WriteString(k.ID)
		if k.MaxTokenTTL != 0 {
			buf.WriteString(" max_token_ttl=")
			buf.WriteString(k.MaxTokenTTL.String())
		}
	case json.Compact(&buf, c.Payload) != nil:
		buf.Write(c.Payload)
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:16])
}

// applyResponse is what fsm.Apply hands back to the leader's Store.Apply.
type applyResponse struct {
	res      Result
	timeline TimelineResult // of a timeline append
	err      error
}

// fsm adapts state to raft.FSM, publishes each new document and keeps the
// ring of applied positions that check entries are compared with.
type fsm struct {
	log     *slog.Logger
	now     func() time.Time
	board   *board
	applied *appliedFile // nil: keep nothing on disk

	mu     sync.Mutex // guards everything below against the readers
	st     *state
	docs   recentDocs // the latest documents, for the checks' digests
	ring   ring
	checks checks
}

func newFSM(log *slog.Logger, now func() time.Time) *fsm {
	st := newState()
	return &fsm{log: log, now: now, st: st, board: newBoard(st.doc), docs: recentDocs{max: checkDocs}}
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	var e entry
	if err := json.Unmarshal(l.Data, &e); err != nil {
		// Deterministic on every replica: the entry is skipped everywhere.
		f.log.Error("undecodable log entry skipped", "index", l.Index, "err", err)
		f.mu.Lock()
		f.ring.add(position{index: l.Index, term: l.Term, doc: f.docs.note(f.st.doc)})
		f.mu.Unlock()
		return applyResponse{err: fmt.Errorf("control: log entry %d: %w", l.Index, err)}
	}
	if e.Timeline != nil {
		resp := f.applyTimeline(*e.Timeline, e.At.UTC())
		f.mu.Lock()
		f.ring.add(position{index: l.Index, term: l.Term, doc: f.docs.note(f.st.doc)})
		f.mu.Unlock()
		return resp
	}
	if e.Check != nil {
		f.mu.Lock()
		f.compare(*e.Check)
		f.ring.add(position{index: l.Index, term: l.Term, doc: f.docs.note(f.st.doc), check: true})
		f.mu.Unlock()
		return applyResponse{}
	}
	f.mu.Lock()
	res, err := f.st.apply(e)
	f.ring.add(position{index: l.Index, term: l.Term, doc: f.docs.note(f.st.doc)})
	f.mu.Unlock()
	if err == nil && !res.Duplicate {
		f.board.publish(res.Doc)
		f.applied.offer(l.Index, res.Doc)
	}
	return applyResponse{res: res, err: err}
}

// preview judges cmd against the state this voter has applied, without
// changing it (see Store.Apply). The document is immutable and only the
// key's record is read under the lock, so the FSM is not held up while
// the copy is validated.
func (f *fsm) preview(cmd Command) error {
	f.mu.Lock()
	doc := f.st.doc
	rec, seen := f.st.recall(cmd.IdempotencyKey)
	f.mu.Unlock()
	_, err := judge(doc, rec, seen, cmd, f.now().UTC())
	return err
}

// checkStats returns the check counters for Stats.
func (f *fsm) checkStats() (compared, divergences uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks.compared, f.checks.divergences
}

// history returns up to limit changes, newest first (limit <= 0: all).
func (f *fsm) history(limit int) []Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.st.history
	if limit <= 0 || limit > len(h) {
		limit = len(h)
	}
	out := make([]Change, limit)
	for i := range out {
		out[i] = h[len(h)-1-i]
	}
	return out
}

// Snapshot implements raft.FSM. It runs on the FSM goroutine, so copying
// the state here gives a consistent image while Persist runs concurrently
// with later Applies.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fsmSnapshot{img: f.st.image()}, nil
}

// Restore implements raft.FSM: it replaces the whole state.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := readImage(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.st = st
	// Positions applied before the snapshot may belong to another history.
	f.ring.reset()
	f.docs.reset()
	f.mu.Unlock()
	f.board.publish(st.doc)
	f.applied.offer(0, st.doc)
	f.log.Info("restored snapshot", "version", st.doc.Version)
	return nil
}

var _ raft.FSM = (*fsm)(nil)
