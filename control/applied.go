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
	"time"
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
// The FSM offers each new document (never blocking, never encoding or
// writing); run encodes and writes the newest one offered, at most once per
// appliedFileGap, so writes do not pay an extra fsync each. A crash may
// lose the newest offers: the file is only a starting point, and Raft's
// replay brings the voter forward.
type appliedFile struct {
	path string
	log  *slog.Logger
	wake chan struct{} // capacity 1: an offer is waiting

	mu      sync.Mutex
	pending *appliedDoc // newest offer not yet written
	version uint64      // newest version written, offered or loaded
}

// appliedFileGap is the least time between two writes of the file.
const appliedFileGap = time.Second

// appliedDoc is an offered document and the index of the entry that made
// it.
type appliedDoc struct {
	index uint64
	doc   *Document
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

// offer hands over a new (immutable) document. Versions not above the
// newest offered or loaded are ignored: Raft replaying older entries after
// a restart must not overwrite the file.
func (a *appliedFile) offer(index uint64, doc *Document) {
	if a == nil {
		return
	}
	a.mu.Lock()
	if doc.Version <= a.version {
		a.mu.Unlock()
		return
	}
	a.version = doc.Version
	a.pending = &appliedDoc{index: index, doc: doc}
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
		case <-ctx.Done():
			a.flush()
			return
		}
		a.flush()
		// What is offered meanwhile is written once, after the gap.
		t := time.NewTimer(appliedFileGap)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			a.flush()
			return
		}
	}
}

func (a *appliedFile) flush() {
	a.mu.Lock()
	p := a.pending
	a.pending = nil
	a.mu.Unlock()
	if p == nil {
		return
	}
	enc, err := EncodeDocument(p.doc)
	var b []byte
	if err == nil {
		b, err = json.Marshal(appliedRecord{Index: p.index, Document: enc})
	}
	if err == nil {
		err = writeFileAtomic(a.path, b)
	}
	if err != nil {
		a.log.Warn("applied document not saved; a restart serves an older one until Raft catches up",
			"path", a.path, "err", err)
	}
}

// loadApplied publishes the persisted document, before Raft starts.
func (s *Store) loadApplied() {
	doc, index, err := s.fsm.applied.load()
	switch {
	case err != nil:
		s.log.Warn("ignoring the saved applied document", "err", err)
	case doc != nil && s.fsm.board.publish(doc):
		s.log.Info("serving the last applied document until Raft catches up",
			"version", doc.Version, "index", index)
	}
}
