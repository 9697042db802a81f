package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Store is one Raft voter holding the document. Reads (Current, Watch,
// WaitVersion, History) are local and work on every voter; writes (Apply,
// membership) only on the leader.
type Store struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	fsm   *fsm
	ready chan struct{}

	started atomic.Bool
	r       atomic.Pointer[raft.Raft] // set once, before ready closes
	addr    string                    // written before ready closes
	trans   raft.Transport            // written before ready closes
	// rejected counts inbound Raft connections that failed the TLS
	// handshake (Stats.RejectedConns).
	rejected atomic.Uint64

	// Test seams, set before Run: wrapStream wraps the network under the
	// Raft transport (a test partitions a voter), wrapLogs the Raft log
	// store (a test stalls a voter's disk). Nil in production.
	wrapStream func(raft.StreamLayer) raft.StreamLayer
	wrapLogs   func(raft.LogStore) raft.LogStore
}

// New checks cfg and builds a Store; it does no I/O. Call Run.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	f := newFSM(log, now)
	f.applied = newAppliedFile(filepath.Join(cfg.DataDir, appliedFileName), log)
	return &Store{cfg: cfg, log: log, now: now, fsm: f, ready: make(chan struct{})}, nil
}

// Run publishes the last applied document saved in DataDir (so a
// restarted voter serves it before Raft catches up), opens the Raft log and
// snapshots in DataDir, binds the transport, bootstraps the cluster if
// configured and DataDir is fresh, and serves until ctx ends; then it shuts
// Raft down (without handing leadership over: the others elect a new
// leader after the election timeout), saves the last applied document and
// closes everything it opened. A Store runs once.
func (s *Store) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("control: Store.Run called twice")
	}
	s.loadApplied()
	n, err := s.open()
	if err != nil {
		return err
	}
	s.addr, s.trans = n.addr, n.trans
	s.r.Store(n.raft)
	saveCtx, stopSaving := context.WithCancel(context.Background())
	var saver, checker sync.WaitGroup
	saver.Go(func() { s.fsm.applied.run(saveCtx) })
	checker.Go(func() { s.runChecks(ctx, n.raft, s.cfg.checkInterval()) })
	close(s.ready)
	s.log.Info("raft started", "addr", n.addr, "version", s.Current().Version)
	<-ctx.Done()
	checker.Wait()
	err = n.close()
	stopSaving() // after Raft: the last applied document is saved
	saver.Wait()
	s.log.Info("raft stopped", "err", err)
	return err
}

// node is what Run opened.
type node struct {
	raft  *raft.Raft
	trans *serialTransport
	db    *boltStore
	addr  string
}

func (n *node) close() error {
	var errs []error
	if n.raft != nil {
		errs = append(errs, n.raft.Shutdown().Error())
	}
	if n.trans != nil {
		errs = append(errs, n.trans.Close())
	}
	errs = append(errs, n.db.Close())
	return errors.Join(errs...)
}

func (s *Store) open() (n *node, err error) {
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	hl := newHclog(s.log)
	db, err := openBoltStore(filepath.Join(s.cfg.DataDir, "raft.db"), s.cfg.Profile == ProfileTest)
	if err != nil {
		return nil, err
	}
	n = &node{db: db}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(s.cfg.DataDir, 2, hl)
	if err != nil {
		return nil, fmt.Errorf("control: snapshots: %w", err)
	}
	var adv net.Addr
	if s.cfg.Advertise != "" {
		if adv, err = net.ResolveTCPAddr("tcp", s.cfg.Advertise); err != nil {
			return nil, fmt.Errorf("control: advertise: %w", err)
		}
	}
	n.trans, err = newTransport(transportConfig{bind: s.cfg.RaftAddr, ln: s.cfg.Listener, advertise: adv,
		tls: s.cfg.TLS, wrap: s.wrapStream, log: s.log, rejected: &s.rejected}, hl)
	if err != nil {
		return nil, err
	}
	n.addr = string(n.trans.LocalAddr())
	rc := s.raftConfig(hl)
	var store raft.LogStore = db
	if s.wrapLogs != nil {
		store = s.wrapLogs(db)
	}
	logs, err := raft.NewLogCache(256, store)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := s.bootstrap(rc, logs, db, snaps, n.trans, n.addr); err != nil {
		return nil, err
	}
	if n.raft, err = raft.NewRaft(rc, s.fsm, logs, db, snaps, n.trans); err != nil {
		return nil, fmt.Errorf("control: raft: %w", err)
	}
	return n, nil
}

func (s *Store) raftConfig(hl *hclogAdapter) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.NodeID)
	rc.Logger = hl
	rc.SnapshotThreshold = s.cfg.SnapshotThreshold
	rc.SnapshotInterval = s.cfg.SnapshotInterval
	rc.TrailingLogs = s.cfg.TrailingLogs
	if s.cfg.Profile == ProfileTest {
		rc.HeartbeatTimeout = 100 * time.Millisecond
		rc.ElectionTimeout = 100 * time.Millisecond
		rc.LeaderLeaseTimeout = 100 * time.Millisecond
		rc.CommitTimeout = 5 * time.Millisecond
	}
	return rc
}

// bootstrap writes the initial configuration when asked to and DataDir holds
// no Raft state.
func (s *Store) bootstrap(rc *raft.Config, logs raft.LogStore, stable raft.StableStore,
	snaps raft.SnapshotStore, trans raft.Transport, self string) error {
	if len(s.cfg.Bootstrap) == 0 {
		return nil
	}
	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if has {
		return nil
	}
	var conf raft.Configuration
	for _, p := range s.cfg.Bootstrap {
		addr := p.Addr
		if addr == "" {
			addr = self
		}
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(addr)})
	}
	if err := raft.BootstrapCluster(rc, logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("control: bootstrap: %w", err)
	}
	s.log.Info("bootstrapped", "voters", len(conf.Servers))
	return nil
}

// Ready is closed once Run has bound the transport and started Raft. If Run
// fails before that, Ready never closes: wait on Run's result too.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// Addr is the advertised Raft address ("" before Ready).
func (s *Store) Addr() string {
	select {
	case <-s.ready:
		return s.addr
	default:
		return ""
	}
}

// Current returns the document this voter has applied; never nil (the empty
// document at version 0 before anything is applied). Read-only.
func (s *Store) Current() *Document { return s.fsm.board.current() }

// Watch returns a channel closed when the document changes. Take a new
// channel after each change: read Watch, then Current, then wait.
func (s *Store) Watch() <-chan struct{} { return s.fsm.board.watch() }

// WaitVersion blocks until this voter's document is newer than after (for
// long-polling followers) or ctx ends.
func (s *Store) WaitVersion(ctx context.Context, after uint64) (*Document, error) {
	return s.fsm.board.waitVersion(ctx, after)
}

// History returns up to limit applied changes, newest first (limit <= 0:
// all that are kept, at most HistoryLen).
func (s *Store) History(limit int) []Change { return s.fsm.history(limit) }

// ReadConsistent returns a linearizable read of the document: it reflects
// every write acknowledged before the call started. Leader only: elsewhere
// (and when leadership is lost during the read) a *NotLeaderError naming
// the leader, as Apply returns; ctx's error if ctx ends first.
//
// It commits a Raft barrier, then reads. The barrier goes through the log,
// so it commits only while this store leads a quorum in its current term,
// and it returns once everything before it is applied here. That holds
// even for a just-elected leader, whose commit index can trail its
// predecessor's until its first entry commits (hashicorp/raft does not say
// when that happens, which a read-index scheme of VerifyLeader plus the
// commit index would need), and for a resumed old leader, which cannot
// commit. The cost is one log append per read (an fsync on lan), shared by
// concurrent reads, which Raft commits together: see
// BenchmarkReadConsistent.
func (s *Store) ReadConsistent(ctx context.Context) (*Document, error) {
	if err := s.Barrier(ctx); err != nil {
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			nl.InFlight = false // a read has no outcome to lose
		}
		return nil, err
	}
	return s.Current(), nil
}

// Apply submits cmd through the leader and returns its result once it is
// committed and applied on the leader. Errors: ErrInvalid, ErrConflict,
// ErrNotFound, ErrIllegalTransition, ErrIdempotencyMismatch from the
// command; ErrTooLarge beyond MaxCommandSize; a *NotLeaderError on a
// follower (or when leadership was lost mid-way: see InFlight); ctx's
// error if ctx ended first, in which case the command may still be
// applied.
//
// The leader judges the command against its document before it appends
// it, so a command that would fail never enters the log, which every
// voter keeps and replays. Every voter still judges it as it applies it:
// the document may change between the check and the commit.
func (s *Store) Apply(ctx context.Context, cmd Command) (Result, error) {
	if len(cmd.Payload) > MaxCommandSize {
		return Result{}, tooLarge(len(cmd.Payload))
	}
	if err := cmd.check(); err != nil {
		return Result{}, err
	}
	r, err := s.leaderRaft()
	if err != nil {
		return Result{}, err
	}
	data, err := json.Marshal(entry{Cmd: cmd, At: s.now().UTC()})
	if err != nil {
		return Result{}, fmt.Errorf("control: encode command: %w", err)
	}
	if len(data) > MaxCommandSize {
		return Result{}, tooLarge(len(data))
	}
	if err := s.precheck(ctx, cmd); err != nil {
		return Result{}, err
	}
	f := r.Apply(data, enqueueTimeout(ctx))
	if err := wait(ctx, f); err != nil {
		return Result{}, raftErr(r, err)
	}
	resp, ok := f.Response().(applyResponse)
	if !ok {
		return Result{}, fmt.Errorf("control: unexpected apply response %T", f.Response())
	}
	return resp.res, resp.err
}

func tooLarge(n int) error {
	return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, n, MaxCommandSize)
}

// precheck judges cmd against the leader's document. A leader may not
// have applied everything committed yet (just after its election), so a
// command it would refuse is judged again after a barrier, against a
// document that reflects every committed write, before it is refused.
func (s *Store) precheck(ctx context.Context, cmd Command) error {
	if s.fsm.preview(cmd) == nil {
		return nil
	}
	if err := s.Barrier(ctx); err != nil {
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			nl.InFlight = false // the command was not submitted
		}
		return err
	}
	return s.fsm.preview(cmd)
}

// leaderRaft returns the running Raft if this store is its leader.
func (s *Store) leaderRaft() (*raft.Raft, error) {
	r := s.r.Load()
	if r == nil {
		return nil, &NotLeaderError{}
	}
	if r.State() != raft.Leader {
		return nil, notLeader(r, false)
	}
	return r, nil
}

func notLeader(r *raft.Raft, inFlight bool) error {
	addr, id := r.LeaderWithID()
	return &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr), InFlight: inFlight}
}

// raftErr turns Raft's errors into the package's.
func raftErr(r *raft.Raft, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress),
		errors.Is(err, raft.ErrRaftShutdown):
		return notLeader(r, false)
	case errors.Is(err, raft.ErrLeadershipLost):
		return notLeader(r, true)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("control: %w: raft queue full", context.DeadlineExceeded)
	}
	return fmt.Errorf("control: raft: %w", err)
}

// enqueueTimeout bounds how long Raft may wait to accept an operation:
// until ctx's deadline, or forever.
func enqueueTimeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return 0
}

// wait waits for f or ctx. Raft futures cannot be cancelled: after ctx ends
// the operation may still complete.
func wait(ctx context.Context, f raft.Future) error {
	if ctx.Done() == nil {
		return f.Error()
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("control: %w (the operation may still complete)", ctx.Err())
	}
}
