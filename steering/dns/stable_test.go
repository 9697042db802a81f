package dns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	miekg "github.com/miekg/dns"

	"github.com/ringside-live/ringside/steering"
)

// enginePlan adapts a steering.DNSPlan for event "fight" (the node's
// adapter, in small).
type enginePlan struct{ p *steering.DNSPlan }

func (e enginePlan) Plan() Plan      { return e }
func (e enginePlan) Version() uint64 { return 1 }
func (e enginePlan) Names() []string { return []string{"fight"} }
func (e enginePlan) Choose(_ int, client netip.Addr, ecs netip.Prefix) (int, int) {
	c := e.p.Choose(steering.Client{Addr: client, Prefix: ecs})
	return c.Choice, c.Scope
}
func (e enginePlan) Answer(_, choice int) Answer {
	pw, ok := e.p.Pathway(choice)
	switch {
	case !ok:
		return Answer{}
	case pw.Kind == steering.KindCDN:
		return Answer{CNAME: pw.Hostname + "."}
	}
	return Answer{Addrs: pw.Addrs}
}

// TestStableAnswers: with the mesh and two CDNs at equal weights, the A,
// AAAA and CNAME answers of one client subnet agree (the same CDN, or the
// mesh) and repeat, while different subnets are spread over all three
// (every query used to be a fresh weighted draw).
func TestStableAnswers(t *testing.T) {
	cfg := steering.DefaultConfig()
	cfg.MeshHostname = "fight.ringside.test"
	eng, err := steering.New(cfg, steering.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	snap := steering.Snapshot{
		Event: steering.Event{ID: "fight", State: steering.StateLive},
		CDNs: []steering.CDN{
			{ID: "cdn-a", Hostname: "fight.cdn-a.example", Weight: 100, State: steering.CDNActive},
			{ID: "cdn-b", Hostname: "fight.cdn-b.example", Weight: 100, State: steering.CDNActive},
		},
		Edges: []steering.Edge{
			{ID: "e1", Addr: netip.MustParseAddr("192.0.2.11"), Alive: true},
			{ID: "e2", Addr: netip.MustParseAddr("2001:db8::12"), Alive: true},
		},
		Version: 1,
	}
	s := startServer(t, testConfig(), enginePlan{eng.DNSPlan(snap)})
	kind := func(r *miekg.Msg) string {
		if len(r.Answer) == 0 {
			return "nodata"
		}
		if c, ok := r.Answer[0].(*miekg.CNAME); ok {
			return c.Target
		}
		return "mesh"
	}
	seen := map[string]int{}
	for i := range 60 {
		ecs := withECS(netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, byte(i), 0}), 24))
		a := exchange(t, s, "udp", "fight.ringside.test.", miekg.TypeA, ecs)
		aaaa := exchange(t, s, "udp", "fight.ringside.test.", miekg.TypeAAAA, ecs)
		cname := exchange(t, s, "udp", "fight.ringside.test.", miekg.TypeCNAME, ecs)
		again := exchange(t, s, "tcp", "fight.ringside.test.", miekg.TypeA, ecs)
		ka, k4, kc := kind(a), kind(aaaa), kind(cname)
		switch {
		case strings.HasPrefix(ka, "fight.cdn"):
			if k4 != ka || kc != ka {
				t.Fatalf("subnet %d: A %s, AAAA %s, CNAME %s", i, ka, k4, kc)
			}
		case ka == "mesh":
			// The mesh: addresses, the other family's edges in AAAA, no
			// CNAME.
			if k4 != "mesh" || kc != "nodata" {
				t.Fatalf("subnet %d: A %s, AAAA %s, CNAME %s", i, ka, k4, kc)
			}
		default:
			t.Fatalf("subnet %d: A %s", i, ka)
		}
		if !slices.Equal(answers(a), answers(again)) {
			t.Fatalf("subnet %d: A %v then %v", i, answers(a), answers(again))
		}
		if e := ecsOf(a); e == nil || e.SourceScope != 24 {
			t.Fatalf("subnet %d: ECS echo %v, want scope 24 (the answer depends on the /24)", i, e)
		}
		seen[ka]++
	}
	if len(seen) != 3 {
		t.Fatalf("60 subnets all went to %v", seen)
	}
}
