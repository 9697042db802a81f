package dvr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// load recovers every event directory under cfg.Dir, then enforces the
// limits (which may have shrunk since the last run).
func (s *Store) load() error {
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("dvr: %w", err)
	}
	des, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("dvr: %w", err)
	}
	for _, de := range des {
		name, path := de.Name(), filepath.Join(s.cfg.Dir, de.Name())
		switch {
		case strings.HasPrefix(name, ".drop-"):
			if err := os.RemoveAll(path); err != nil {
				s.log.Warn("removing a dropped dvr event failed", "dir", path, "err", err)
			}
		case de.IsDir() && strings.HasPrefix(name, eventDirPrefix):
			event, ok := eventFromDir(name)
			if !ok {
				s.log.Warn("ignoring a directory that is not a dvr event", "dir", path)
				continue
			}
			if err := s.loadEvent(event, path); err != nil {
				return err
			}
		}
	}
	for _, ev := range s.events {
		s.enforce(ev)
	}
	return nil
}

// loadEvent replays an event's log, reconciles it with the body files and
// rewrites the log if anything was dropped.
func (s *Store) loadEvent(event, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, logName))
	if errors.Is(err, fs.ErrNotExist) {
		// A crash while creating the event: nothing was ever acknowledged.
		s.log.Info("removed a dvr event directory without a log (crash while creating it)", "event", event)
		return os.RemoveAll(dir)
	}
	if err != nil {
		return fmt.Errorf("dvr: event %q: read log: %w", event, err)
	}
	recs, valid, why := replay(data)
	if errors.Is(why, errBadHeader) {
		return fmt.Errorf("dvr: event %q: %s: %w; move the directory away to start the event afresh", event, filepath.Join(dir, logName), why)
	}
	ev := newEvent(event, dir)
	repaired := false
	if valid < len(data) || len(data) < len(logMagic) {
		n := int64(len(data) - valid)
		s.rec.TornBytes += n
		s.log.Warn("dvr log: dropped a torn or corrupt tail", "event", event, "bytes", n, "reason", why)
		repaired = true
	}
	for i := range recs {
		if err := ev.apply(&recs[i]); err != nil {
			s.rec.BadRecords++
			s.log.Warn("dvr log: skipped a record", "event", event, "err", err)
			repaired = true
		}
	}
	if s.reconcile(ev) {
		repaired = true
	}
	ev.recount()
	s.events[event] = ev
	s.total += ev.bytes
	s.rec.Events++
	s.rec.Entries += len(ev.files)
	if repaired || len(recs)-ev.live() >= max(s.compactMin, ev.live()) {
		os.Remove(filepath.Join(dir, logTmpName))
		ev.logMu.Lock()
		err = s.compactLocked(ev)
		ev.logMu.Unlock()
		if err != nil {
			return fmt.Errorf("dvr: event %q: rewrite log: %w", event, err)
		}
		s.rec.Compacted++
		return nil
	}
	os.Remove(filepath.Join(dir, logTmpName))
	if err := s.openLog(ev, int64(len(data)), len(recs)); err != nil {
		return fmt.Errorf("dvr: event %q: open log: %w", event, err)
	}
	return nil
}

// reconcile matches the index with the body files: temp files and bodies
// without a record are removed, records whose body is missing or of the
// wrong size are dropped (with the segments that name a dropped init
// segment). It reports whether the index changed.
func (s *Store) reconcile(ev *event) bool {
	segDir := filepath.Join(ev.dir, segDirName)
	if err := os.MkdirAll(segDir, 0o755); err != nil {
		s.log.Warn("dvr: cannot create the body directory", "event", ev.name, "err", err)
	}
	des, err := os.ReadDir(segDir)
	if err != nil {
		s.log.Warn("dvr: cannot list the body directory", "event", ev.name, "err", err)
	}
	sizes := make(map[uint64]int64, len(des))
	bySeq := make(map[uint64]*entry, len(ev.files))
	for _, x := range ev.files {
		bySeq[x.seq] = x
	}
	for _, de := range des {
		name := de.Name()
		path := filepath.Join(segDir, name)
		seq, ok := parseBodyName(name)
		if !ok || bySeq[seq] == nil {
			if strings.HasPrefix(name, tmpPrefix) {
				s.rec.TempFiles++
			} else {
				s.rec.OrphanFiles++
			}
			s.log.Info("dvr: removed a body file without a record", "event", ev.name, "file", name)
			os.RemoveAll(path)
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // vanished; counted as missing below
		}
		sizes[seq] = fi.Size()
		ev.nextSeq = max(ev.nextSeq, seq+1)
	}
	changed := false
	drop := func(x *entry, reason string) {
		s.log.Warn("dvr: dropped a record", "event", ev.name, "path", x.path, "reason", reason)
		ev.remove(x)
		if x.rend != nil {
			x.rend.sweep()
		}
		changed = true
	}
	for _, x := range ev.files {
		size, ok := sizes[x.seq]
		switch {
		case !ok:
			s.rec.MissingFiles++
			drop(x, "body file missing")
		case size != x.size:
			s.rec.BadSizeFiles++
			drop(x, fmt.Sprintf("body file has %d bytes, the record %d", size, x.size))
			os.Remove(ev.bodyPath(x.seq))
		}
	}
	for _, x := range ev.files {
		if x.init != nil && x.init.gone {
			s.rec.OrphanSegments++
			drop(x, "its init segment was dropped")
			os.Remove(ev.bodyPath(x.seq))
		}
	}
	return changed
}
