package mesh

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/ringside-live/ringside/pkg/poll"
)

// recorder is a slog.Handler that keeps records, for tests.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

func TestSlogWriterLevels(t *testing.T) {
	tests := []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[ERR] memberlist: boom\n", slog.LevelError, "memberlist: boom"},
		{"[WARN] memberlist: hmm\n", slog.LevelWarn, "memberlist: hmm"},
		{"[INFO] memberlist: fyi\n", slog.LevelDebug, "memberlist: fyi"},
		{"[DEBUG] memberlist: chatter\n", slog.LevelDebug, "memberlist: chatter"},
		{"untagged\n", slog.LevelDebug, "untagged"},
	}
	for _, tt := range tests {
		rec := &recorder{}
		w := slogWriter{slog.New(rec)}
		if n, err := w.Write([]byte(tt.line)); n != len(tt.line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		got := rec.records()
		if len(got) != 1 || got[0].Level != tt.level || got[0].Message != tt.msg {
			t.Errorf("%q logged %+v, want %v %q", tt.line, got, tt.level, tt.msg)
		}
	}
}

func TestMemberlistLogsReachSlog(t *testing.T) {
	rec := &recorder{}
	a := startNode(t, "node-a", nil)
	b := startNode(t, "node-b", func(c *Config) {
		c.Seeds = []string{a.Addr()}
		c.Logger = slog.New(rec)
	})
	waitMembers(t, b, "node-a", "node-b")
	poll.Until(t, "a memberlist log record", waitTimeout, func() bool {
		for _, r := range rec.records() {
			found := false
			r.Attrs(func(at slog.Attr) bool {
				found = found || (at.Key == "component" && at.Value.String() == "memberlist")
				return !found
			})
			if found {
				return true
			}
		}
		return false
	})
}
