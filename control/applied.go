package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
)

// appliedFileName is where a voter keeps its last applied document, in
// DataDir.
const appliedFileName = "applied.json"

// appliedRecord is the content of the applied-document file.
type appliedRecord struct {
	// Index is the Raft index of the entry that produced the document; 0
	// when it came from a snapshot (Raft does not tell the FSM its index).
	Index    uint64          `json:"index,omitempty"`
	Document json.RawMessage `json:"document"`
}

// appliedFile keeps the last applied document on disk so that a restarted
// voter serves it at once, instead of version 0 (or its snapshot's version)
// until a leader tells it the commit index. Everything applied was
// committed, so serving it is safe.
//
// The FSM offers each new document (never blocking, never writing);
// run writes the newest one offered, so a burst of writes costs one file
// write, not one fsync each. A crash may lose the newest offer: the file is
// only a starting point, and Raft's replay brings the voter forward.
type appliedFile struct {
	path string
	log  *slog.Logger
	wake chan struct{} // capacity 1: an offer is waiting

	mu      sync.Mutex
	pending *appliedRecord // newest offer not yet written
	version uint64         // newest version written, offered or loaded
}

func newAppliedFile(path string, log *slog.Logger) *appliedFile {
	return &appliedFile{path: path, log: log, wake: make(chan struct{}, 1)}
}

// load reads the file; nil without error when there is none. Like a
// snapshot, the document is not validated again.
func (a *appliedFile) load() (*Document, uint64, error) {
	b, err := os.ReadFile(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("control: %w", err)
	}
	var rec appliedRecord
	var doc Document
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, 0, fmt.Errorf("control: %s: %w", a.path, err)
	}
	if err := json.Unmarshal(rec.Document, &doc); err != nil {
		return nil, 0, fmt.Errorf("control: %s: document: %w", a.path, err)
	}
	doc.normalize()
	a.mu.Lock()
	a.version = max(a.version, doc.Version)
	a.mu.Unlock()
	return &doc, rec.Index, nil
}

// offer hands over a new document (enc: its EncodeDocument encoding, which
// the caller never modifies). Versions not above the newest offered or
// loaded are ignored: Raft replaying older entries after a restart must not
// overwrite the file.
func (a *appliedFile) offer(index, version uint64, enc []byte) {
	if a == nil || enc == nil {
		return
	}
	a.mu.Lock()
	if version <= a.version {
		a.mu.Unlock()
		return
	}
	a.version = version
	a.pending = &appliedRecord{Index: index, Document: enc}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run writes offers until ctx ends, then writes the last one still
// pending.
func (a *appliedFile) run(ctx context.Context) {
	for {
		select {
		case <-a.wake:
			a.flush()
		case <-ctx.Done():
			a.flush()
			return
		}
	}
}

func (a *appliedFile) flush() {
	a.mu.Lock()
	rec := a.pending
	a.pending = nil
	a.mu.Unlock()
	if rec == nil {
		return
	}
	b, err := json.Marshal(rec)
	if err == nil {
		err = writeFileAtomic(a.path, b)
	}
	if err != nil {
		a.log.Warn("control: applied document not saved; a restart serves an older one until Raft catches up",
			"path", a.path, "err", err)
	}
}

// loadApplied publishes the persisted document, before Raft starts.
func (s *Store) loadApplied() {
	doc, index, err := s.fsm.applied.load()
	switch {
	case err != nil:
		s.log.Warn("control: ignoring the saved applied document", "err", err)
	case doc != nil && s.fsm.board.publish(doc):
		s.log.Info("control: serving the last applied document until Raft catches up",
			"version", doc.Version, "index", index)
	}
}
