package control

import (
	"context"
	"sync/atomic"
)

// board publishes documents to readers: one atomic pointer to the current
// document and the channel that closes when it is replaced. Reading is one
// atomic load and allocates nothing.
type board struct {
	p atomic.Pointer[posting]
}

type posting struct {
	doc     *Document
	changed chan struct{} // closed when this posting is replaced
}

func newBoard(doc *Document) *board {
	b := &board{}
	b.p.Store(&posting{doc: doc, changed: make(chan struct{})})
	return b
}

func (b *board) current() *Document { return b.p.Load().doc }

func (b *board) watch() <-chan struct{} { return b.p.Load().changed }

// publish makes doc current and wakes every watcher, if doc is newer than
// the current document: readers never see Version go back (a restarted
// voter serves its saved document while Raft replays older ones). It
// reports whether doc was published. Each posting is swapped out exactly
// once, so its channel is closed exactly once even with concurrent
// publishers.
func (b *board) publish(doc *Document) bool {
	next := &posting{doc: doc, changed: make(chan struct{})}
	for {
		old := b.p.Load()
		if doc.Version <= old.doc.Version {
			return false
		}
		if b.p.CompareAndSwap(old, next) {
			close(old.changed)
			return true
		}
	}
}

// waitVersion blocks until the current document's Version is above after,
// or ctx ends.
func (b *board) waitVersion(ctx context.Context, after uint64) (*Document, error) {
	for {
		p := b.p.Load()
		if p.doc.Version > after {
			return p.doc, nil
		}
		select {
		case <-p.changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
