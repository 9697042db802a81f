package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Path is the local copy of the last document seen, JSON, replaced
	// atomically (temp file + rename). Empty = keep nothing on disk.
	Path string
	// Fetch long-polls a voter: it returns a document newer than after, or
	// (nil, nil) or an older one when its poll ends with nothing new. The
	// node supplies it (an HTTP GET on a voter's admin API that uses
	// Store.WaitVersion and DecodeDocument).
	Fetch func(ctx context.Context, after uint64) (*Document, error)
	// ImmediateRetries is how many consecutive failed fetches are retried
	// at once, without a backoff: the node's Fetch moves to another voter
	// on each call, so a dead voter costs no wait. Zero = 2; negative =
	// none.
	ImmediateRetries int
	// MinBackoff and MaxBackoff bound the wait after a failed fetch past
	// ImmediateRetries; it doubles per failure, with jitter so a fleet
	// does not retry in step. Zero = 250ms and 30s.
	MinBackoff, MaxBackoff time.Duration
}

// Follower keeps a node's copy of the document without being a Raft voter,
// so edges never affect quorum. It serves the last known document (from
// disk at start) while the control plane is unreachable.
//
// A Follower never goes back in Version: if the control cluster is rebuilt
// from scratch, delete the followers' persisted copies.
type Follower struct {
	cfg   FollowerConfig
	log   *slog.Logger
	board *board
	pause func(ctx context.Context, d time.Duration) // sleep; tests record it instead
}

// NewFollower checks cfg and builds a Follower; it does no I/O. Call Run.
func NewFollower(cfg FollowerConfig, logger *slog.Logger) (*Follower, error) {
	if cfg.Fetch == nil {
		return nil, errors.New("control: follower: Fetch is required")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.ImmediateRetries == 0 {
		cfg.ImmediateRetries = 2
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Follower{cfg: cfg, log: logger, board: newBoard(emptyDocument()), pause: sleep}, nil
}

// Current returns the newest document seen; never nil. Read-only.
func (f *Follower) Current() *Document { return f.board.current() }

// Watch returns a channel closed when the document changes.
func (f *Follower) Watch() <-chan struct{} { return f.board.watch() }

// WaitVersion blocks until the document is newer than after or ctx ends.
func (f *Follower) WaitVersion(ctx context.Context, after uint64) (*Document, error) {
	return f.board.waitVersion(ctx, after)
}

// Run loads the persisted copy, then long-polls with Fetch until ctx ends,
// persisting and publishing each newer version. A failed fetch is retried
// at once ImmediateRetries times in a row, then after a growing backoff.
// It returns nil when ctx ends.
func (f *Follower) Run(ctx context.Context) error {
	f.load()
	backoff := f.cfg.MinBackoff
	failures := 0 // in a row
	for ctx.Err() == nil {
		cur := f.Current().Version
		doc, err := f.cfg.Fetch(ctx, cur)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			failures++
			if failures <= f.cfg.ImmediateRetries {
				f.log.Info("fetch failed; retrying at once", "version", cur, "err", err)
				continue
			}
			pause := jitter(backoff)
			f.log.Warn("fetch failed", "version", cur, "retry_in", pause, "err", err)
			f.pause(ctx, pause)
			backoff = min(2*backoff, f.cfg.MaxBackoff)
		case doc == nil || doc.Version <= cur:
			// A poll that ended with nothing new; don't spin on a
			// misbehaving server.
			failures, backoff = 0, f.cfg.MinBackoff
			f.pause(ctx, f.cfg.MinBackoff)
		default:
			failures, backoff = 0, f.cfg.MinBackoff
			f.accept(doc)
		}
	}
	return nil
}

func (f *Follower) accept(doc *Document) {
	if err := f.persist(doc); err != nil {
		f.log.Error("persist failed; serving it from memory", "version", doc.Version, "err", err)
	}
	f.board.publish(doc)
	f.log.Debug("new version", "version", doc.Version)
}

// load publishes the persisted copy, if there is a valid one.
func (f *Follower) load() {
	if f.cfg.Path == "" {
		return
	}
	b, err := os.ReadFile(f.cfg.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var doc *Document
	if err == nil {
		doc, err = DecodeDocument(b)
	}
	if err != nil {
		f.log.Warn("ignoring persisted document", "path", f.cfg.Path, "err", err)
		return
	}
	if doc.Version > f.Current().Version {
		f.board.publish(doc)
		f.log.Info("serving persisted document", "version", doc.Version)
	}
}

// persist replaces Path with doc atomically: a crash leaves the old or the
// new copy, never a torn one. It creates Path's directory (private: the
// document holds secrets) if needed: an edge's data directory may not
// exist yet.
func (f *Follower) persist(doc *Document) error {
	if f.cfg.Path == "" {
		return nil
	}
	b, err := EncodeDocument(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.cfg.Path), 0o700); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	return writeFileAtomic(f.cfg.Path, b)
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("control: write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
