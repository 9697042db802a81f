package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// fakeControl is the voter a follower long-polls: a board of documents and
// a switch that makes every fetch fail.
type fakeControl struct {
	t       *testing.T
	st      *state
	board   *board
	failing atomic.Bool
	fetches atomic.Int64
}

func newFakeControl(t *testing.T) *fakeControl {
	st := newState()
	return &fakeControl{t: t, st: st, board: newBoard(st.doc)}
}

// apply changes the control plane's document.
func (f *fakeControl) apply(c Command) {
	f.t.Helper()
	res, err := f.st.apply(entry{Cmd: c, At: t0})
	if err != nil {
		f.t.Fatal(err)
	}
	f.board.publish(res.Doc)
}

// fetch behaves like the node's HTTP long-poll: it answers with a newer
// document, or nothing after a short poll.
func (f *fakeControl) fetch(ctx context.Context, after uint64) (*Document, error) {
	f.fetches.Add(1)
	if f.failing.Load() {
		return nil, errors.New("connection refused")
	}
	ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	doc, err := f.board.waitVersion(ctx, after)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, nil
	}
	return doc, err
}

func startFollower(t *testing.T, cfg FollowerConfig) (*Follower, func()) {
	t.Helper()
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 10*time.Millisecond
	f, err := NewFollower(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	return f, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func TestFollowerPersistsAndServesWhileUnreachable(t *testing.T) {
	ctl := newFakeControl(t)
	path := filepath.Join(t.TempDir(), "control.json")
	ctl.apply(cmd(t, CmdSeed, seedDoc()))

	f, stop := startFollower(t, FollowerConfig{Path: path, Fetch: ctl.fetch})
	poll.Until(t, "version 1", 5*time.Second, func() bool { return f.Current().Version == 1 })
	watch := f.Watch()
	ctl.apply(cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateLive}))
	select {
	case <-watch:
	case <-time.After(5 * time.Second):
		t.Fatal("watch not closed on a new version")
	}
	poll.Until(t, "version 2", 5*time.Second, func() bool { return f.Current().Version == 2 })
	stop()
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := DecodeDocument(onDisk); err != nil || !reflect.DeepEqual(d, ctl.board.current()) {
		t.Fatalf("persisted copy: %v\n%+v\n%+v", err, d, ctl.board.current())
	}

	// The control plane is unreachable: a restarted node serves its copy.
	ctl.failing.Store(true)
	f, stop = startFollower(t, FollowerConfig{Path: path, Fetch: ctl.fetch})
	defer stop()
	poll.Until(t, "the persisted document", 5*time.Second, func() bool { return f.Current().Version == 2 })
	if !reflect.DeepEqual(f.Current(), ctl.board.current()) {
		t.Fatal("persisted document differs")
	}
	n := ctl.fetches.Load()
	poll.Until(t, "retries", 5*time.Second, func() bool { return ctl.fetches.Load() >= n+3 })

	// Reachable again: it catches up.
	ctl.apply(cmd(t, CmdPutEvent, pushEvent("late")))
	ctl.failing.Store(false)
	ctx := testCtx(t, 5*time.Second)
	d, err := f.WaitVersion(ctx, 2)
	if err != nil || d.Version != 3 || d.Events["late"].ID != "late" {
		t.Fatalf("after recovery: %v %+v", err, d)
	}
	poll.Until(t, "the new version on disk", 5*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		d, err := DecodeDocument(b)
		return err == nil && d.Version == 3
	})
	if leftovers, _ := filepath.Glob(path + ".tmp*"); len(leftovers) > 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
}

func TestFollowerIgnoresBadCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.json")
	if err := os.WriteFile(path, []byte(`{"version":7,"events":{"x":{"id":"y"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl := newFakeControl(t)
	ctl.apply(cmd(t, CmdPutEvent, pushEvent("a")))
	f, stop := startFollower(t, FollowerConfig{Path: path, Fetch: ctl.fetch})
	defer stop()
	poll.Until(t, "the control plane's version", 5*time.Second, func() bool { return f.Current().Version == 1 })
}

func TestNewFollowerNeedsFetch(t *testing.T) {
	if _, err := NewFollower(FollowerConfig{}, nil); err == nil {
		t.Fatal("no error without Fetch")
	}
}

func TestDecodeDocument(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdSeed, seedDoc()))
	b, err := EncodeDocument(st.doc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeDocument(b)
	if err != nil || !reflect.DeepEqual(d, st.doc) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := DecodeDocument([]byte(`{"version":1,"future_field":true}`)); err != nil {
		t.Fatalf("unknown field: %v", err)
	}
	_, err = DecodeDocument([]byte(`{"version":1,"cdns":{"a":{"id":"a","hostname":"a.example","weight":2000,"state":"active"}}}`))
	if !errors.Is(err, ErrInvalid) || !reflect.DeepEqual(fieldsOf(err), []string{"cdns[a].weight"}) {
		t.Fatalf("invalid document: %v", err)
	}
	if _, err := DecodeDocument([]byte(`[`)); err == nil {
		t.Fatal("garbage decoded")
	}
}

// An edge's data directory may not exist yet: the follower creates it
// (private) and persists its copy there.
func TestFollowerCreatesItsDirectory(t *testing.T) {
	ctl := newFakeControl(t)
	ctl.apply(cmd(t, CmdSeed, seedDoc()))
	dir := filepath.Join(t.TempDir(), "var", "ringside")
	path := filepath.Join(dir, "config.json")
	f, stop := startFollower(t, FollowerConfig{Path: path, Fetch: ctl.fetch})
	defer stop()
	poll.Until(t, "the copy on disk", 5*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		d, err := DecodeDocument(b)
		// Persisted first, then served.
		return err == nil && d.Version == 1 && f.Current().Version == 1
	})
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v, %v", fi.Mode(), err)
	}
}

// After a failed fetch the node's Fetch moves to another voter: the first
// failures are retried at once, not after a backoff.
func TestFollowerRetriesAtOnce(t *testing.T) {
	ctl := newFakeControl(t)
	ctl.apply(cmd(t, CmdSeed, seedDoc()))
	var calls atomic.Int64
	fetch := func(ctx context.Context, after uint64) (*Document, error) {
		if calls.Add(1) <= 2 {
			return nil, errors.New("voter down")
		}
		return ctl.fetch(ctx, after)
	}
	f, err := NewFollower(FollowerConfig{Fetch: fetch, MinBackoff: time.Hour, MaxBackoff: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// With an hour's backoff, only retries at once get here in time.
	d, err := f.WaitVersion(testCtx(t, 5*time.Second), 0)
	if err != nil || d.Version != 1 {
		t.Fatalf("after two failures: %v, %+v", err, d)
	}
}

// The order of fetches and pauses: ImmediateRetries failures in a row are
// retried at once, then the follower backs off as before; any answer
// resets the count.
func TestFollowerRetrySchedule(t *testing.T) {
	fail, ok := errors.New("voter down"), error(nil)
	for _, tc := range []struct {
		name      string
		immediate int
		script    []error // one per fetch; nil = a new document
		want      string  // f = fetch, p = pause
	}{
		{"default: two at once", 0, []error{fail, fail, fail, fail, ok, fail, fail, fail}, "fffpfpffffpf"},
		{"one at once", 1, []error{fail, fail, fail, ok, fail, fail}, "ffpfpfffpf"},
		{"none at once", -1, []error{fail, fail, ok, fail}, "fpfpffpf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events strings.Builder
			var pauses []time.Duration
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			version := uint64(0)
			fetch := func(_ context.Context, after uint64) (*Document, error) {
				events.WriteByte('f')
				n := events.Len() - strings.Count(events.String(), "p")
				if n > len(tc.script) {
					cancel()
					return nil, context.Canceled
				}
				if err := tc.script[n-1]; err != nil {
					return nil, err
				}
				version++
				d := emptyDocument()
				d.Version = version
				return d, nil
			}
			f, err := NewFollower(FollowerConfig{Fetch: fetch, ImmediateRetries: tc.immediate,
				MinBackoff: time.Second, MaxBackoff: time.Minute}, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.pause = func(_ context.Context, d time.Duration) {
				events.WriteByte('p')
				pauses = append(pauses, d)
			}
			if err := f.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if events.String() != tc.want {
				t.Fatalf("events = %s, want %s", events.String(), tc.want)
			}
			// Backoff starts at MinBackoff (jittered) after the retries at
			// once, and doubles from there.
			if pauses[0] < time.Second/2 || pauses[0] >= time.Second || pauses[1] < time.Second {
				t.Fatalf("pauses = %v", pauses)
			}
		})
	}
}
