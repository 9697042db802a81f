package dvr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Names inside an event directory.
const (
	logName    = "log"
	logTmpName = "log.tmp"
	segDirName = "seg"
	tmpPrefix  = "tmp-"
)

// bodyPath is the file of body number seq: 16 hex digits, so a name on
// disk never depends on what the event-relative path contains.
func (ev *event) bodyPath(seq uint64) string {
	return filepath.Join(ev.dir, segDirName, fmt.Sprintf("%016x", seq))
}

func parseBodyName(name string) (uint64, bool) {
	if len(name) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(name, 16, 64)
	return v, err == nil
}

func (s *Store) syncDir(dir string) error {
	if s.cfg.NoSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileSync writes name whole via name's temp file, fsync and rename,
// then fsyncs the directory: after it returns, name has the new content or
// (crash before the rename) the old one.
func (s *Store) writeFileSync(dir, tmp, name string, data []byte) error {
	tmpPath := filepath.Join(dir, tmp)
	f, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !s.cfg.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmpPath, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmpPath)
		return err
	}
	return s.syncDir(dir)
}

// ensure creates the event's directory and empty log on first use.
func (s *Store) ensure(ev *event) error {
	if ev.ready.Load() {
		return nil
	}
	ev.logMu.Lock()
	defer ev.logMu.Unlock()
	if ev.ready.Load() {
		return nil
	}
	if err := s.createEvent(ev); err != nil {
		return fmt.Errorf("dvr: event %q: create: %w", ev.name, err)
	}
	return nil
}

func (s *Store) createEvent(ev *event) error {
	if err := os.MkdirAll(filepath.Join(ev.dir, segDirName), 0o755); err != nil {
		return err
	}
	if err := s.syncDir(s.cfg.Dir); err != nil {
		return err
	}
	if err := s.writeFileSync(ev.dir, logTmpName, logName, []byte(logMagic)); err != nil {
		return err
	}
	return s.openLog(ev, int64(len(logMagic)), 0)
}

// openLog opens the event's log for appending and its body directory for
// fsyncs; nrec is how many records the log holds.
func (s *Store) openLog(ev *event, size int64, nrec int) error {
	f, err := os.OpenFile(filepath.Join(ev.dir, logName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		f.Close()
		return fmt.Errorf("log is %v bytes, want %d (err %v)", fi.Size(), size, err)
	}
	d, err := os.Open(filepath.Join(ev.dir, segDirName))
	if err != nil {
		f.Close()
		return err
	}
	ev.closeFiles()
	ev.log, ev.segDir, ev.nrec, ev.logErr = f, d, nrec, nil
	ev.ready.Store(true)
	return nil
}

// writeBody stores body as file number seq: temp file, fsync, rename,
// fsync of the directory. On error nothing is left behind.
func (s *Store) writeBody(ev *event, seq uint64, body []byte) error {
	f, err := os.CreateTemp(filepath.Join(ev.dir, segDirName), tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(body)
	if err == nil && !s.cfg.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, ev.bodyPath(seq))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !s.cfg.NoSync {
		if err := ev.segDir.Sync(); err != nil {
			os.Remove(ev.bodyPath(seq))
			return err
		}
	}
	return nil
}

// appendLocked appends the event's pending del records and recs to its log
// in one write and one fsync; once they are durable it runs commit under
// s.mu, then removes the evicted bodies. The caller holds ev.logMu and the
// log is open. On error nothing is committed and the dels stay pending.
func (s *Store) appendLocked(ev *event, recs []record, commit func()) error {
	if ev.logErr != nil {
		return fmt.Errorf("dvr: event %q: log unusable since an earlier error: %w", ev.name, ev.logErr)
	}
	s.mu.Lock()
	dels := ev.dels
	ev.dels = nil
	s.mu.Unlock()
	if len(dels) == 0 && len(recs) == 0 {
		return nil
	}
	var buf []byte
	for _, x := range dels {
		r := delRecord(x)
		buf = appendRecord(buf, &r)
	}
	for i := range recs {
		buf = appendRecord(buf, &recs[i])
	}
	if err := s.writeLog(ev, buf); err != nil {
		s.mu.Lock()
		ev.dels = append(dels, ev.dels...)
		s.mu.Unlock()
		return fmt.Errorf("dvr: event %q: append to log: %w", ev.name, err)
	}
	ev.nrec += len(dels) + len(recs)
	s.mu.Lock()
	if commit != nil {
		commit()
	}
	compact := ev.nrec-ev.live() >= max(s.compactMin, ev.live())
	s.mu.Unlock()
	s.removeBodies(ev, dels)
	if compact {
		if err := s.compactLocked(ev); err != nil {
			s.log.Warn("dvr log compaction failed; the log keeps growing until one succeeds", "event", ev.name, "err", err)
		}
	}
	return nil
}

// writeLog appends buf and fsyncs. A failed write is cut off again so the
// next record does not land behind a torn one; if that fails, or fsync
// fails (the page cache may have dropped the data), the log is marked
// unusable until the next Open.
func (s *Store) writeLog(ev *event, buf []byte) error {
	fi, err := ev.log.Stat()
	if err != nil {
		return err
	}
	if _, err = ev.log.Write(buf); err != nil {
		if terr := ev.log.Truncate(fi.Size()); terr != nil {
			ev.logErr = errors.Join(err, terr)
		}
		return err
	}
	if !s.cfg.NoSync {
		if err := ev.log.Sync(); err != nil {
			ev.logErr = err
			return err
		}
	}
	return nil
}

func (s *Store) removeBodies(ev *event, xs []*entry) {
	for _, x := range xs {
		if err := os.Remove(ev.bodyPath(x.seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("removing an evicted dvr segment failed; the next Open removes it", "event", ev.name, "path", x.path, "err", err)
		}
	}
}

// compactLocked rewrites the log as the minimal records of the index: a
// new file, fsync, rename over the old one, fsync of the directory. A crash
// at any point leaves the old log or the new one, both complete. The
// caller holds ev.logMu.
func (s *Store) compactLocked(ev *event) error {
	s.mu.Lock()
	dels := ev.dels
	ev.dels = nil
	recs := ev.snapshot()
	s.mu.Unlock()
	buf := []byte(logMagic)
	for i := range recs {
		buf = appendRecord(buf, &recs[i])
	}
	err := s.writeFileSync(ev.dir, logTmpName, logName, buf)
	if err == nil {
		err = s.openLog(ev, int64(len(buf)), len(recs))
		if err != nil {
			ev.logErr = err
		}
	}
	if err != nil {
		s.mu.Lock()
		ev.dels = append(dels, ev.dels...)
		s.mu.Unlock()
		return err
	}
	s.removeBodies(ev, dels)
	return nil
}
