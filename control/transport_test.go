package control

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// A heartbeat must reach Raft's main loop through Consumer(), never the
// fast-path handler that runs on the transport's goroutine (hashicorp/raft
// issue #695).
func TestTransportDeclinesHeartbeatFastPath(t *testing.T) {
	hl := newHclog(slog.New(slog.DiscardHandler))
	tr, err := newTransport(transportConfig{bind: "127.0.0.1:0"}, hl)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var fastPath atomic.Bool
	tr.SetHeartbeatHandler(func(rpc raft.RPC) {
		fastPath.Store(true)
		rpc.Respond(&raft.AppendEntriesResponse{Term: 7, Success: true}, nil)
	})

	leader, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 1, 5*time.Second, hl)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	// What NetworkTransport recognizes as a heartbeat: a term and the
	// leader's address, no entries, no previous entry, no commit index.
	hb := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("leader"), Addr: []byte(leader.LocalAddr())},
		Term:      7,
	}
	sent := make(chan error, 1)
	var resp raft.AppendEntriesResponse
	go func() { sent <- leader.AppendEntries("follower", tr.LocalAddr(), hb, &resp) }()

	select {
	case rpc := <-tr.Consumer():
		got, ok := rpc.Command.(*raft.AppendEntriesRequest)
		if !ok || got.Term != 7 || len(got.Entries) != 0 {
			t.Fatalf("consumer got %#v", rpc.Command)
		}
		rpc.Respond(&raft.AppendEntriesResponse{Term: 7, Success: true}, nil)
	case err := <-sent:
		t.Fatalf("heartbeat answered without reaching the consumer (fast path: %v): %v", fastPath.Load(), err)
	case <-time.After(5 * time.Second):
		t.Fatal("heartbeat never reached the consumer")
	}
	if err := <-sent; err != nil || !resp.Success {
		t.Fatalf("heartbeat: %v, %+v", err, resp)
	}
	if fastPath.Load() {
		t.Fatal("the fast-path handler ran")
	}
}

// The wrapper keeps every optional interface Raft probes its transport
// for, exactly as the TCP transport has them.
func TestTransportOptionalInterfaces(t *testing.T) {
	hl := newHclog(slog.New(slog.DiscardHandler))
	tr, err := newTransport(transportConfig{bind: "127.0.0.1:0"}, hl)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var wrapped, plain raft.Transport = tr, tr.NetworkTransport
	for _, tc := range []struct {
		name string
		has  func(raft.Transport) bool
	}{
		{"WithClose", func(x raft.Transport) bool { _, ok := x.(raft.WithClose); return ok }},
		{"WithPreVote", func(x raft.Transport) bool { _, ok := x.(raft.WithPreVote); return ok }},
		{"WithPeers", func(x raft.Transport) bool { _, ok := x.(raft.WithPeers); return ok }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.has(wrapped) != tc.has(plain) {
				t.Fatalf("wrapper has it: %v, NetworkTransport has it: %v", tc.has(wrapped), tc.has(plain))
			}
		})
	}
	if _, ok := wrapped.(raft.WithPreVote); !ok {
		t.Fatal("pre-vote lost")
	}
}

func TestStoreUsesSerialTransport(t *testing.T) {
	s := newCluster(t, 1, nil).Leader()
	if _, ok := s.trans.(*serialTransport); !ok {
		t.Fatalf("the store's transport is %T", s.trans)
	}
}

// Replication runs without pipelining, whose pipeline can deadlock
// (hashicorp/raft issue #612): Raft falls back to one AppendEntries at a
// time when the transport declines.
func TestTransportDeclinesPipelining(t *testing.T) {
	hl := newHclog(slog.New(slog.DiscardHandler))
	tr, err := newTransport(transportConfig{bind: "127.0.0.1:0"}, hl)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p, err := tr.AppendEntriesPipeline("peer", tr.LocalAddr())
	if !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("AppendEntriesPipeline: %v, %v; want ErrPipelineReplicationNotSupported", p, err)
	}
}
