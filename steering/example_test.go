package steering_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ringside-live/ringside/steering"
)

func ExampleEngine_Decide() {
	now := time.Date(2026, 3, 14, 20, 0, 0, 0, time.UTC)
	cfg := steering.DefaultConfig()
	cfg.MeshHostname = "edge.ringside.test"
	eng, err := steering.New(cfg, steering.Deps{
		Now:  func() time.Time { return now },
		Rand: rand.New(rand.NewPCG(1, 1)),
	})
	if err != nil {
		panic(err)
	}
	snap := steering.Snapshot{
		Event:   steering.Event{ID: "fight", State: steering.StateLive, BlackoutRegions: []string{"us"}},
		Regions: []steering.Region{{Name: "eu", CIDRs: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}, {Name: "us", CIDRs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}},
		CDNs:    []steering.CDN{{ID: "cdn-a", Hostname: "fight.cdn-a.example", Weight: 0, State: steering.CDNActive}},
		Edges: []steering.Edge{
			{ID: "eu-1", Region: "eu", Addr: netip.MustParseAddr("192.0.2.11"), Load: 0.3, Alive: true},
			{ID: "eu-2", Region: "eu", Addr: netip.MustParseAddr("192.0.2.12"), Load: 0.9, Alive: true},
		},
		Version: 1,
	}
	d := eng.Decide(snap, steering.Client{Addr: netip.MustParseAddr("198.51.100.7"), Session: "s1"})
	fmt.Println(d.Region, d.Scope, d.TTL)
	for _, p := range d.Pathways {
		fmt.Println(p.ID, p.Hostname, p.Addrs, p.Why)
	}
	d = eng.Decide(snap, steering.Client{Addr: netip.MustParseAddr("203.0.113.9")})
	fmt.Println(d.Blocked, d.BlockReason)
	// Output:
	// eu 24 1m0s
	// mesh edge.ringside.test [192.0.2.11] new session, weighted choice
	// cdn-a fight.cdn-a.example [] fallback
	// true region us is blacked out for event fight
}
