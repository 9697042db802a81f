package identity

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"
)

// warnEvery spaces the expiry warnings: one a day is seen without flooding.
const warnEvery = 24 * time.Hour

// watcher re-reads a set of files when they change and warns before a
// certificate expires. Source and KeyPairs each own one.
type watcher struct {
	paths      []string
	load       func() error               // reads the files and swaps the material; keeps the old on error
	notAfter   func() (time.Time, string) // the current material's first expiry, and its file
	warnWithin time.Duration
	log        *slog.Logger
	now        func() time.Time

	mu       sync.Mutex    // serializes reloads; guards the fields below
	tried    []os.FileInfo // the files as they were at the last attempt
	lastWarn time.Time
}

// reload stats the files, then loads them. The stamps are taken first, so
// a file written during the load is seen as changed by the next poll.
func (w *watcher) reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reloadLocked(w.stat())
}

func (w *watcher) reloadLocked(stamps []os.FileInfo) error {
	w.tried = stamps
	return w.load()
}

// poll reloads if any file differs from the last attempt (a failed attempt
// is not retried until the files change again) and logs the outcome.
func (w *watcher) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	stamps := w.stat()
	if sameFiles(stamps, w.tried) {
		return
	}
	if err := w.reloadLocked(stamps); err != nil {
		w.log.Error("TLS reload failed; keeping the previous certificate", "err", err)
		return
	}
	notAfter, file := w.notAfter()
	w.log.Info("TLS certificate reloaded", "cert", file, "not_after", notAfter)
}

// warnExpiry logs a warning, at most once per warnEvery, while the
// certificate expires within warnWithin.
func (w *watcher) warnExpiry() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	notAfter, file := w.notAfter()
	left := notAfter.Sub(now)
	if left > w.warnWithin || (!w.lastWarn.IsZero() && now.Sub(w.lastWarn) < warnEvery) {
		return
	}
	w.lastWarn = now
	w.log.Warn("TLS certificate expires soon", "cert", file, "not_after", notAfter, "left", left.Round(time.Minute))
}

// run polls every interval until ctx ends.
func (w *watcher) run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	w.warnExpiry()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.poll()
			w.warnExpiry()
		}
	}
}

// stat returns each path's FileInfo, nil for one that cannot be read.
func (w *watcher) stat() []os.FileInfo {
	out := make([]os.FileInfo, len(w.paths))
	for i, p := range w.paths {
		out[i], _ = os.Stat(p)
	}
	return out
}

// sameFiles reports whether two stat sets describe the same files: same
// inode (a rename is a change), size and modification time.
func sameFiles(a, b []os.FileInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch {
		case a[i] == nil || b[i] == nil:
			if a[i] != b[i] {
				return false
			}
		case !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()):
			return false
		}
	}
	return true
}
