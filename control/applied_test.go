package control

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// versionRecorder notes every Version a store serves, to show it never
// goes back.
type versionRecorder struct {
	mu   sync.Mutex
	seen []uint64
	stop func()
	done chan struct{}
}

func recordVersions(s *Store) *versionRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &versionRecorder{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			w := s.Watch()
			r.mu.Lock()
			r.seen = append(r.seen, s.Current().Version)
			r.mu.Unlock()
			select {
			case <-w:
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

func (r *versionRecorder) versions() []uint64 {
	r.stop()
	<-r.done
	return r.seen
}

// A restarted voter serves its last applied document from the start, even
// with no leader to tell it the commit index, and never an older one while
// Raft replays its snapshot and log.
func TestRestartServesAppliedDocument(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.SnapshotInterval = time.Hour })
	leader := c.Leader()
	ctx := testCtx(t, 20*time.Second)
	for i := range 20 {
		if i == 10 {
			// Raft restarts from this snapshot (version 10) and replays
			// the log after it.
			c.WaitConverged(10)
			for _, s := range c.live() {
				if err := s.Snapshot(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := leader.Apply(ctx, cmd(t, CmdPutEvent, pushEvent(fmt.Sprintf("w%d", i)))); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitConverged(20)
	want := leader.Current()
	for i := range c.nodes {
		c.Kill(i)
	}

	s := c.Restart(1) // the other voters stay down: no leader, no commit index
	if got := s.Current(); got.Version != 20 || !reflect.DeepEqual(got, want) {
		t.Fatalf("at Ready: version %d, want 20 (deep equal: %v)", got.Version, reflect.DeepEqual(got, want))
	}
	if id, _ := s.Leader(); id != "" || s.IsLeader() {
		t.Fatalf("a leader already: %q", id)
	}
	if st := s.Stats(); st.Version != 20 {
		t.Fatalf("stats = %+v", st)
	}
	rec := recordVersions(s)

	// The others come back; Raft replays the log after the snapshot and
	// the cluster moves on.
	c.Restart(0)
	c.Restart(2)
	leader = c.Leader()
	if _, err := leader.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("after"))); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged(21)
	assertSameState(t, leader, s)
	seen := rec.versions()
	if !slices.IsSorted(seen) || seen[0] != 20 || seen[len(seen)-1] != 21 {
		t.Fatalf("versions served after the restart: %v", seen)
	}
}

func TestAppliedFile(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdSeed, seedDoc()))
	v1 := st.doc
	applyAll(t, st, cmd(t, CmdPutEvent, pushEvent("late")))
	v2 := st.doc
	enc := func(d *Document) []byte {
		b, err := EncodeDocument(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// save runs the writer once over what was offered.
	save := func(a *appliedFile) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		a.run(ctx)
	}
	for _, tc := range []struct {
		name      string
		file      string // written before; "" = none
		offers    []*Document
		want      *Document // loaded afterwards; nil = none
		wantIndex uint64
		loadErr   bool
	}{
		{name: "nothing saved"},
		{name: "newest offer wins", offers: []*Document{v1, v2}, want: v2, wantIndex: 2},
		{name: "older offer ignored", offers: []*Document{v2, v1}, want: v2, wantIndex: 1},
		{name: "replay below the saved version", file: `{"index":9,"document":` + string(enc(v2)) + `}`,
			offers: []*Document{v1}, want: v2, wantIndex: 9},
		{name: "garbage", file: `{"index":`, loadErr: true},
		{name: "garbage document", file: `{"index":1,"document":[1]}`, loadErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/" + appliedFileName
			if tc.file != "" {
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a := newAppliedFile(path, slog.New(slog.DiscardHandler))
			_, _, err := a.load()
			if (err != nil) != tc.loadErr {
				t.Fatalf("load: %v", err)
			}
			for i, d := range tc.offers {
				a.offer(uint64(i+1), d)
			}
			save(a)
			got, index, err := newAppliedFile(path, a.log).load()
			if tc.loadErr {
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) || index != tc.wantIndex {
				t.Fatalf("loaded %+v at %d, %v; want %+v at %d", got, index, err, tc.want, tc.wantIndex)
			}
		})
	}
}

func TestBoardNeverGoesBack(t *testing.T) {
	b := newBoard(emptyDocument())
	doc := func(v uint64) *Document { d := emptyDocument(); d.Version = v; return d }
	for _, tc := range []struct {
		version   uint64
		published bool
		current   uint64
	}{{2, true, 2}, {1, false, 2}, {2, false, 2}, {3, true, 3}} {
		w := b.watch()
		if got := b.publish(doc(tc.version)); got != tc.published || b.current().Version != tc.current {
			t.Fatalf("publish(%d) = %v, current %d", tc.version, got, b.current().Version)
		}
		select {
		case <-w:
			if !tc.published {
				t.Fatalf("publish(%d) woke the watchers", tc.version)
			}
		default:
			if tc.published {
				t.Fatalf("publish(%d) did not wake the watchers", tc.version)
			}
		}
	}
}
