package control

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"
)

// BenchmarkApplyLocal is one write round trip on a single voter: encode,
// Raft log append (test: no fsync; lan: fsync per write), FSM apply with
// whole-document validation, response.
func BenchmarkApplyLocal(b *testing.B) {
	for _, profile := range []string{ProfileTest, ProfileLAN} {
		b.Run(profile, func(b *testing.B) {
			benchApply(b, newCluster(b, 1, func(c *Config) { c.Profile = profile }))
		})
	}
}

// BenchmarkApplyLocalTLS is BenchmarkApplyLocal on the leader of 3 voters
// on loopback, so that every write is replicated: over plain TCP and over
// mutual TLS (TLS 1.3, ECDSA P-256 certificates). Connections are pooled,
// so handshakes are not on the write path. The lan profile (fsync, 1 s
// timeouts): with the test profile's 100 ms timeouts, three busy voters on
// a small machine miss heartbeats and lose the leader mid-benchmark.
func BenchmarkApplyLocalTLS(b *testing.B) {
	for _, sec := range []string{"plain", "mtls"} {
		b.Run("3voters/"+sec, func(b *testing.B) {
			ca := newTestCA(b)
			benchApply(b, newCluster(b, 3, func(c *Config) {
				c.Profile = ProfileLAN
				if sec == "mtls" {
					c.TLS = ca.transportTLS(b, c.NodeID, true, testRoleControl)
				}
			}))
		})
	}
}

func benchApply(b *testing.B, c *testCluster) {
	s := c.Leader()
	ctx := context.Background()
	if _, err := s.Apply(ctx, cmd(b, CmdSeed, benchDoc())); err != nil {
		b.Fatal(err)
	}
	cmds := [2]Command{cmd(b, CmdSetCDNWeight, CDNWeightArgs{ID: "cdn0", Weight: 1}),
		cmd(b, CmdSetCDNWeight, CDNWeightArgs{ID: "cdn0", Weight: 2})}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Apply(ctx, cmds[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadConsistent is one linearizable read on a single voter: a
// Raft barrier through the log (test: no fsync; lan: fsync per barrier),
// then the applied document. "parallel" runs readers concurrently: Raft
// commits their barriers together.
func BenchmarkReadConsistent(b *testing.B) {
	for _, profile := range []string{ProfileTest, ProfileLAN} {
		for _, parallel := range []bool{false, true} {
			name := profile
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				c := newCluster(b, 1, func(c *Config) { c.Profile = profile })
				s := c.Leader()
				ctx := context.Background()
				if _, err := s.Apply(ctx, cmd(b, CmdSeed, benchDoc())); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				read := func() {
					if d, err := s.ReadConsistent(ctx); err != nil || d.Version != 1 {
						b.Fatal(err)
					}
				}
				if !parallel {
					for b.Loop() {
						read()
					}
					return
				}
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						read()
					}
				})
			})
		}
	}
}

// BenchmarkApplyState is the FSM's share of BenchmarkApplyLocal.
func BenchmarkApplyState(b *testing.B) {
	st := newState()
	if _, err := st.apply(entry{Cmd: cmd(b, CmdSeed, benchDoc())}); err != nil {
		b.Fatal(err)
	}
	e := entry{Cmd: cmd(b, CmdSetCDNWeight, CDNWeightArgs{ID: "cdn0", Weight: 1})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.apply(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFSMApply is BenchmarkApplyState plus what the FSM adds per log
// entry: decoding the entry, the document's digest for the divergence
// checks (once per new document) and the ring.
func BenchmarkFSMApply(b *testing.B) {
	f := testFSM()
	applyLog(b, f, 1, 1, entry{Cmd: cmd(b, CmdSeed, benchDoc())})
	cmds := [2]entry{{Cmd: cmd(b, CmdSetCDNWeight, CDNWeightArgs{ID: "cdn0", Weight: 1})},
		{Cmd: cmd(b, CmdSetCDNWeight, CDNWeightArgs{ID: "cdn0", Weight: 2})}}
	logs := [2]*raft.Log{}
	for i, e := range cmds {
		data, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l := logs[i%2]
		l.Index = uint64(i + 2)
		if resp := f.Apply(l).(applyResponse); resp.err != nil {
			b.Fatal(resp.err)
		}
	}
}

// BenchmarkCurrent is a reader taking the snapshot: must not allocate.
func BenchmarkCurrent(b *testing.B) {
	st := newState()
	brd := newBoard(st.doc)
	s := &Store{fsm: &fsm{board: brd, st: st}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s.Current() == nil {
				b.Fatal("nil")
			}
		}
	})
}

// benchDoc is a realistic document: 50 events, 10 regions, 5 CDNs.
func benchDoc() Document {
	d := seedDoc()
	for i := range 10 {
		name := fmt.Sprintf("r%d", i)
		d.Regions[name] = region(name, fmt.Sprintf("10.%d.0.0/16", i))
	}
	for i := range 50 {
		ev := pushEvent(fmt.Sprintf("ev%d", i))
		ev.Renditions = []Rendition{{Name: "720p", Bandwidth: 3e6, Width: 1280, Height: 720}, {Name: "360p", Bandwidth: 8e5, Width: 640, Height: 360}}
		ev.AllowedRegions = []string{"r1", "r2"}
		d.Events[ev.ID] = ev
	}
	for i := range 5 {
		c := cdnFixture(fmt.Sprintf("cdn%d", i))
		d.CDNs[c.ID] = c
	}
	return d
}

// BenchmarkTransportAppendEntries is one AppendEntries round trip between
// two Raft transports on loopback carrying one 1 KiB entry: what mutual
// TLS adds per replicated write, without the disk. Connections are pooled:
// the handshake is paid once.
func BenchmarkTransportAppendEntries(b *testing.B) {
	ca := newTestCA(b)
	hl := newHclog(slog.New(slog.DiscardHandler))
	for _, sec := range []string{"plain", "mtls"} {
		b.Run(sec, func(b *testing.B) {
			var trs [2]*serialTransport
			for i := range trs {
				tc := transportConfig{bind: "127.0.0.1:0", log: slog.New(slog.DiscardHandler), rejected: new(atomic.Uint64)}
				if sec == "mtls" {
					tc.tls = ca.transportTLS(b, fmt.Sprintf("n%d", i), true, testRoleControl)
				}
				tr, err := newTransport(tc, hl)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { tr.Close() })
				trs[i] = tr
			}
			done := make(chan struct{})
			b.Cleanup(func() { close(done) })
			go func() {
				for {
					select {
					case rpc := <-trs[1].Consumer():
						rpc.Respond(&raft.AppendEntriesResponse{Term: 1, Success: true}, nil)
					case <-done:
						return
					}
				}
			}()
			req := &raft.AppendEntriesRequest{
				RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("n0"), Addr: []byte(trs[0].LocalAddr())},
				Term:      1, PrevLogEntry: 1, PrevLogTerm: 1, LeaderCommitIndex: 1,
				Entries: []*raft.Log{{Index: 2, Term: 1, Type: raft.LogCommand, Data: make([]byte, 1024)}},
			}
			var resp raft.AppendEntriesResponse
			b.ReportAllocs()
			for b.Loop() {
				if err := trs[0].AppendEntries("n1", trs[1].LocalAddr(), req, &resp); err != nil || !resp.Success {
					b.Fatal(err)
				}
			}
		})
	}
}
