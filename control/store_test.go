package control

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// ackedWrite is a write the cluster acknowledged: its effect must survive.
type ackedWrite struct {
	version uint64
	event   string
}

// writer keeps writing distinct events through whichever node leads,
// retrying each one with its idempotency key until it is acknowledged.
type writer struct {
	c     *testCluster
	mu    sync.Mutex
	acked []ackedWrite
	dups  int
}

func (w *writer) run(ctx context.Context, t *testing.T) {
	for n := 0; ctx.Err() == nil; n++ {
		id := fmt.Sprintf("w%d", n)
		c := cmd(t, CmdPutEvent, pushEvent(id))
		c.IdempotencyKey, c.Actor = "write-"+id, "writer"
		for ctx.Err() == nil {
			res, err := w.apply(ctx, c)
			if err == nil {
				w.mu.Lock()
				w.acked = append(w.acked, ackedWrite{res.Version, id})
				if res.Duplicate {
					w.dups++
				}
				w.mu.Unlock()
				break
			}
			if !errors.Is(err, ErrNotLeader) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				t.Errorf("write %s: %v", id, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// apply sends c to a live node that believes it leads.
func (w *writer) apply(ctx context.Context, c Command) (Result, error) {
	for _, s := range w.c.live() {
		if s.IsLeader() {
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return s.Apply(actx, c)
		}
	}
	return Result{}, &NotLeaderError{}
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// checkAcked verifies every acknowledged write on every live node.
func (w *writer) checkAcked(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var top uint64
	for _, a := range w.acked {
		top = max(top, a.version)
	}
	w.c.WaitConverged(top)
	for _, s := range w.c.live() {
		doc := s.Current()
		for _, a := range w.acked {
			if _, ok := doc.Events[a.event]; !ok {
				t.Errorf("%s (version %d): acknowledged write %s (version %d) lost", s.cfg.NodeID, doc.Version, a.event, a.version)
			}
		}
	}
}

func TestClusterFailover(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.Leader()
	ctx := testCtx(t, 30*time.Second)

	res, err := leader.Apply(ctx, cmd(t, CmdPutRegion, region("eu", "10.0.0.0/8")))
	if err != nil || res.Version != 1 {
		t.Fatalf("apply on leader: %+v, %v", res, err)
	}
	lid, laddr := leader.Leader()
	if lid != leader.cfg.NodeID || laddr != leader.Addr() {
		t.Fatalf("Leader() = %s %s, want %s %s", lid, laddr, leader.cfg.NodeID, leader.Addr())
	}
	for _, s := range c.live() {
		if s == leader {
			continue
		}
		_, err := s.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("nope")))
		var nl *NotLeaderError
		if !errors.As(err, &nl) || !errors.Is(err, ErrNotLeader) || nl.LeaderID != lid || nl.LeaderAddr != laddr {
			t.Fatalf("apply on follower %s: %v", s.cfg.NodeID, err)
		}
	}

	w := &writer{c: c}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(wctx, t) }()
	poll.Until(t, "writes before the kill", 10*time.Second, func() bool { return w.count() >= 10 })

	old := c.LeaderIndex()
	c.Kill(old)
	before := w.count()
	newLeader := c.Leader()
	if newLeader == c.Store(old) {
		t.Fatal("killed node still leads")
	}
	poll.Until(t, "writes after the failover", 10*time.Second, func() bool { return w.count() >= before+10 })
	stop()
	<-done
	w.checkAcked(t)

	// The killed node comes back and catches up with everything.
	restarted := c.Restart(old)
	top := newLeader.Current().Version
	c.WaitConverged(top)
	if !reflect.DeepEqual(restarted.Current(), newLeader.Current()) {
		t.Fatalf("restarted node's document differs from the leader's")
	}
	w.checkAcked(t)
	for _, s := range c.live() {
		if d, ok := s.Divergence(); ok {
			t.Errorf("%s: divergence %+v", s.cfg.NodeID, d)
		}
	}
	t.Logf("%d acknowledged writes (%d answered as duplicates of an in-flight try), final version %d",
		len(w.acked), w.dups, top)
}

func TestSnapshotRestore(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 4
		cfg.SnapshotInterval = time.Hour // only forced snapshots here
	})
	leader := c.Leader()
	ctx := testCtx(t, 30*time.Second)
	lag := (c.LeaderIndex() + 1) % 3
	c.Kill(lag)

	for i := range 60 {
		cm := cmd(t, CmdSetCDNWeight, CDNWeightArgs{ID: "akamai", Weight: i})
		if i == 0 {
			cm = cmd(t, CmdPutCDN, cdnFixture("akamai"))
		}
		cm.IdempotencyKey = fmt.Sprintf("k%d", i)
		if _, err := leader.Apply(ctx, cm); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	for _, s := range c.live() {
		if err := s.Snapshot(ctx); err != nil {
			t.Fatalf("snapshot %s: %v", s.cfg.NodeID, err)
		}
	}
	if idx := snapshotIndex(t, leader); idx < 60 {
		t.Fatalf("leader's snapshot is at index %d", idx)
	}

	// The lagging node is behind the leader's compacted log: it needs the
	// snapshot.
	s := c.Restart(lag)
	c.WaitConverged(leader.Current().Version)
	assertSameState(t, leader, s)
	// Raft records the installed snapshot just after the FSM restored it.
	poll.Until(t, "the lagging node to record the leader's snapshot", 5*time.Second, func() bool {
		return snapshotIndex(t, s) >= 60
	})

	// Now from its own snapshot plus the log after it.
	if _, err := leader.Apply(ctx, cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "edge-9", Drain: true})); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged(leader.Current().Version)
	if err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	c.Kill(lag)
	s = c.Restart(lag)
	c.WaitConverged(leader.Current().Version)
	assertSameState(t, leader, s)

	// Idempotency survived the snapshots: a retry is a duplicate.
	retry := cmd(t, CmdSetCDNWeight, CDNWeightArgs{ID: "akamai", Weight: 59})
	retry.IdempotencyKey = "k59"
	if res, err := leader.Apply(ctx, retry); err != nil || !res.Duplicate || res.Version != 60 {
		t.Fatalf("retry after snapshot: %+v, %v", res, err)
	}
}

func assertSameState(t *testing.T, want, got *Store) {
	t.Helper()
	if !reflect.DeepEqual(got.Current(), want.Current()) {
		t.Fatalf("%s's document differs from %s's:\n%+v\n%+v", got.cfg.NodeID, want.cfg.NodeID, got.Current(), want.Current())
	}
	if h1, h2 := got.History(0), want.History(0); !reflect.DeepEqual(h1, h2) {
		t.Fatalf("history differs: %d vs %d changes", len(h1), len(h2))
	}
}

func snapshotIndex(t *testing.T, s *Store) uint64 {
	t.Helper()
	var idx uint64
	if _, err := fmt.Sscan(s.r.Load().Stats()["last_snapshot_index"], &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestSingleVoterRestart(t *testing.T) {
	c := newCluster(t, 1, nil)
	s := c.Leader()
	ctx := testCtx(t, 10*time.Second)
	if _, err := s.Apply(ctx, cmd(t, CmdSeed, seedDoc())); err != nil {
		t.Fatal(err)
	}
	res, err := s.Apply(ctx, cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateLive}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.History(1); len(got) != 1 || got[0].Type != CmdSetEventState || got[0].Version != 2 {
		t.Fatalf("history = %+v", got)
	}
	want := s.Current()
	if want != res.Doc {
		t.Fatal("Result.Doc is not the published document")
	}
	c.Kill(0)
	s = c.Restart(0)
	// Served from the saved applied document at once, before Raft replays.
	if !reflect.DeepEqual(s.Current(), want) {
		t.Fatalf("after restart:\n%+v\nwant\n%+v", s.Current(), want)
	}
	s = c.Leader()
	// Seeding again (as every node does at boot) is refused.
	if _, err := s.Apply(ctx, cmd(t, CmdSeed, seedDoc())); !errors.Is(err, ErrConflict) {
		t.Fatalf("second seed: %v", err)
	}
}

func TestStoreReadsAndWatch(t *testing.T) {
	cfg := testConfig(t, "solo")
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Current(); d == nil || d.Version != 0 || d.Events == nil {
		t.Fatalf("Current before Run = %+v", d)
	}
	if _, err := s.Apply(context.Background(), cmd(t, CmdPutEvent, pushEvent("a"))); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Apply before Run: %v", err)
	}
	if s.Addr() != "" || s.IsLeader() {
		t.Fatal("running before Run")
	}
	c := newCluster(t, 1, nil)
	s = c.Leader()
	ctx := testCtx(t, 10*time.Second)
	watch := s.Watch()
	got := make(chan *Document, 1)
	go func() {
		d, _ := s.WaitVersion(ctx, 0)
		got <- d
	}()
	if _, err := s.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("a"))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-watch:
	case <-ctx.Done():
		t.Fatal("watch not closed")
	}
	if d := <-got; d.Version != 1 {
		t.Fatalf("WaitVersion = %d", d.Version)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.WaitVersion(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitVersion past the end: %v", err)
	}
	if st := s.Stats(); st.State != "Leader" || st.Version != 1 || st.LeaderID != "n0" {
		t.Fatalf("stats = %+v", st)
	}
	if servers, err := s.Servers(ctx); err != nil || len(servers) != 1 || !servers[0].Voter {
		t.Fatalf("servers = %+v, %v", servers, err)
	}
	if err := s.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMembershipChanges(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.Leader()
	ctx := testCtx(t, 10*time.Second)
	var follower *Store
	for _, s := range c.live() {
		if s != leader {
			follower = s
		}
	}
	if err := follower.AddVoter(ctx, "x", "127.0.0.1:1"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("AddVoter on follower: %v", err)
	}
	if err := leader.RemoveServer(ctx, follower.cfg.NodeID); err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		if c.Store(i) == follower {
			c.Kill(i)
		}
	}
	servers, err := leader.Servers(ctx)
	if err != nil || len(servers) != 2 {
		t.Fatalf("servers after remove = %+v, %v", servers, err)
	}
	if err := leader.TransferLeadership(ctx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "leadership to move", 10*time.Second, func() bool { return !leader.IsLeader() && c.Leader() != leader })
}

// The admin layer retries a write (If-Match included) with its first
// idempotency key: a write that applied answers its first result, not
// ErrConflict.
func TestApplyRetryWithIfMatch(t *testing.T) {
	s := newCluster(t, 1, nil).Leader()
	ctx := testCtx(t, 10*time.Second)
	if _, err := s.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("a"))); err != nil {
		t.Fatal(err)
	}
	c := cmd(t, CmdSetEventState, EventStateArgs{ID: "a", State: StateLive})
	c.Expect, c.IdempotencyKey = 1, "req-7"
	first, err := s.Apply(ctx, c)
	if err != nil || first.Version != 2 {
		t.Fatalf("first try: %+v, %v", first, err)
	}
	if _, err := s.Apply(ctx, cmd(t, CmdPutEvent, pushEvent("b"))); err != nil {
		t.Fatal(err)
	}
	retry, err := s.Apply(ctx, c)
	if err != nil || !retry.Duplicate || retry.Version != 2 || s.Current().Version != 3 {
		t.Fatalf("retry: %+v, %v", retry, err)
	}
}
