package control

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApplyLocal is one write round trip on a single voter: encode,
// Raft log append (test: no fsync; lan: fsync per write), FSM apply with
// whole-document validation, response.
func BenchmarkApplyLocal(b *testing.B) {
	for _, profile := range []string{ProfileTest, ProfileLAN} {
		b.Run(profile, func(b *testing.B) {
			benchApply(b, func(c *Config) { c.Profile = profile })
		})
	}
}

func benchApply(b *testing.B, tweak func(*Config)) {
	c := newCluster(b, 1, tweak)
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
