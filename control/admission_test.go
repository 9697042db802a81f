package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ringside-live/ringside/pkg/poll"
)

// commandLog records the command entries a voter writes to its Raft log.
type commandLog struct {
	mu   sync.Mutex
	data [][]byte
}

func (l *commandLog) wrap(ls raft.LogStore) raft.LogStore { return &recordingLogs{LogStore: ls, l: l} }

func (l *commandLog) note(logs ...*raft.Log) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lg := range logs {
		if lg.Type == raft.LogCommand {
			l.data = append(l.data, bytes.Clone(lg.Data))
		}
	}
}

// holds reports whether a logged command contains marker.
func (l *commandLog) holds(marker string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.data {
		if bytes.Contains(d, []byte(marker)) {
			return true
		}
	}
	return false
}

type recordingLogs struct {
	raft.LogStore
	l *commandLog
}

func (r *recordingLogs) StoreLog(log *raft.Log) error {
	r.l.note(log)
	return r.LogStore.StoreLog(log)
}

func (r *recordingLogs) StoreLogs(logs []*raft.Log) error {
	r.l.note(logs...)
	return r.LogStore.StoreLogs(logs)
}

// startRecorded runs one voter that leads alone and records its log.
func startRecorded(t *testing.T) (*Store, *commandLog) {
	t.Helper()
	cfg := testConfig(t, "n0")
	cfg.Bootstrap = []Peer{{ID: cfg.NodeID}}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &commandLog{}
	s.wrapLogs = rec.wrap
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	poll.Until(t, "the voter to lead", 10*time.Second, s.IsLeader)
	return s, rec
}

// hugeRegion is a valid region whose put_region command exceeds
// MaxCommandSize.
func hugeRegion(name string) Region {
	r := Region{Name: name}
	for i := range 1 << 17 { // at least 12 bytes each
		r.CIDRs = append(r.CIDRs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32))
	}
	return r
}

// TestRejectedWritesStayOutOfTheLog: the leader judges a command against
// its document before it appends it, so a write that would fail never
// reaches the log (which every voter keeps and replays at start), and a
// command larger than MaxCommandSize is refused outright.
func TestRejectedWritesStayOutOfTheLog(t *testing.T) {
	s, rec := startRecorded(t)
	ctx := testCtx(t, 20*time.Second)
	setup := cmd(t, CmdPutEvent, pushEvent("fight"))
	setup.IdempotencyKey = "key-used"
	if _, err := s.Apply(ctx, setup); err != nil {
		t.Fatal(err)
	}
	withExpect := func(c Command, v uint64) Command { c.Expect = v; return c }
	withKey := func(c Command, k string) Command { c.IdempotencyKey = k; return c }
	tests := []struct {
		name, marker string
		cmd          Command
		err          error
	}{
		{"invalid", "marker-invalid", cmd(t, CmdPutEvent, Event{ID: "marker-invalid", PullURL: "ftp://o/"}), ErrInvalid},
		{"stale expect", "marker-stale", withExpect(cmd(t, CmdPutEvent, pullEvent("marker-stale")), 99), ErrConflict},
		{"not found", "marker-nf", cmd(t, CmdDeleteEvent, EventRef{ID: "marker-nf"}), ErrNotFound},
		{"exists", "marker-exists", cmd(t, CmdCreateEvent, patch(pushEvent("fight"), func(e *Event) { e.Title = "marker-exists" })), ErrExists},
		{"key reused", "marker-reuse", withKey(cmd(t, CmdPutEvent, pullEvent("marker-reuse")), "key-used"), ErrIdempotencyMismatch},
		{"too large", "marker-huge", cmd(t, CmdPutRegion, hugeRegion("marker-huge")), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Current().Version
			if _, err := s.Apply(ctx, tt.cmd); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if rec.holds(tt.marker) {
				t.Errorf("the rejected command was appended to the log")
			}
			if v := s.Current().Version; v != before {
				t.Errorf("version %d -> %d", before, v)
			}
		})
	}
	ok := cmd(t, CmdPutEvent, pullEvent("marker-ok"))
	if _, err := s.Apply(ctx, ok); err != nil || !rec.holds("marker-ok") {
		t.Fatalf("a valid command: %v, logged %v", err, rec.holds("marker-ok"))
	}
}

// TestRetryOfAppliedCommandPassesTheCheck: the check before the log
// answers a retry like the state machine does: its first result, even
// when the command would now fail (the event exists, the version moved).
func TestRetryOfAppliedCommandPassesTheCheck(t *testing.T) {
	s, _ := startRecorded(t)
	ctx := testCtx(t, 20*time.Second)
	c := cmd(t, CmdCreateEvent, pushEvent("fight"))
	c.IdempotencyKey, c.Expect = "create-fight", 0
	first, err := s.Apply(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, cmd(t, CmdPutEvent, pullEvent("other"))); err != nil {
		t.Fatal(err)
	}
	c.Expect = first.Version - 1 // the version it was prepared against, stale now
	for i := range 2 {
		again, err := s.Apply(ctx, c)
		if err != nil || !again.Duplicate || again.Version != first.Version {
			t.Fatalf("retry %d: %+v, %v; want the first result (version %d)", i, again, err, first.Version)
		}
	}
}

// TestFSMStillValidates: a command that passed the leader's check but is
// invalid by the time it is applied (or was written by an older leader)
// is refused by every voter as it applies it.
func TestFSMStillValidates(t *testing.T) {
	f := testFSM()
	bad := entry{Cmd: cmd(t, CmdPutEvent, Event{ID: "x", PullURL: "ftp://o/"}), At: t0}
	resp := applyLog(t, f, 1, 1, bad)
	if !errors.Is(resp.err, ErrInvalid) || f.board.current().Version != 0 {
		t.Fatalf("applied an invalid entry: %+v", resp)
	}
}

// TestTooLargeCommandMessage: the refusal gives the limit, not the
// command.
func TestTooLargeCommandMessage(t *testing.T) {
	s, _ := startRecorded(t)
	_, err := s.Apply(testCtx(t, 10*time.Second), cmd(t, CmdPutRegion, hugeRegion("big")))
	if !errors.Is(err, ErrTooLarge) || len(err.Error()) > 200 {
		t.Fatalf("err = %v", err)
	}
	if want := fmt.Sprint(MaxCommandSize); !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("err %q does not give the limit %s", err, want)
	}
}
