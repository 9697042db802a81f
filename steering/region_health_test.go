package steering

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestQoERegionDown: a CDN down in one region (telemetry) is avoided by
// that region's new and existing sessions at their next decision; the
// other region keeps it, sticky sessions there included; the steering
// manifest order of the failing region never lists it.
func TestQoERegionDown(t *testing.T) {
	clk := newClock()
	down := NewRegionDown()
	e, err := New(testConfig(), Deps{Now: clk.Now, Rand: rand.New(rand.NewPCG(1, 2)), RegionHealth: down})
	if err != nil {
		t.Fatal(err)
	}
	s := world()
	s.Edges = nil // only the CDNs: every session is on cdn-a or cdn-b
	eu := func(i int) Client {
		return Client{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), Session: "eu" + sessionID(i)}
	}
	us := func(i int) Client {
		return Client{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), Session: "us" + sessionID(i)}
	}
	const n = 100
	usBefore := map[int]string{}
	onA := 0
	for i := range n {
		if primary(e.Decide(s, eu(i))) == "cdn-a" {
			onA++
		}
		usBefore[i] = primary(e.Decide(s, us(i)))
	}
	if onA == 0 {
		t.Fatal("no eu session on cdn-a before the failure")
	}
	if !down.Set("cdn-a", "eu", true) || down.Set("cdn-a", "eu", true) {
		t.Fatal("Set reports changes wrongly")
	}
	for round := range 3 {
		clk.Add(5 * time.Second)
		for i := range n {
			d := e.Decide(s, eu(i))
			for _, p := range d.Pathways {
				if p.ID == "cdn-a" {
					t.Fatalf("round %d: eu session %d still offered cdn-a: %v", round, i, d.Reasons)
				}
			}
			// us keeps cdn-a: its sessions there stay (others may be
			// rebalanced onto it, as eu's left).
			d = e.Decide(s, us(i))
			if usBefore[i] == "cdn-a" && primary(d) != "cdn-a" {
				t.Fatalf("round %d: us session %d left cdn-a though it is down in eu only: %v", round, i, d.Reasons)
			}
		}
	}
	if got := primary(e.Decide(s, Client{Addr: addr("203.0.113.200"), Session: "new-us"})); got == "" {
		t.Fatal("no pathway for a new us session")
	}
	// Back up in eu: new eu sessions may use it again.
	down.Set("cdn-a", "eu", false)
	clk.Add(5 * time.Second)
	seen := false
	for i := range n {
		if primary(e.Decide(s, Client{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), Session: "eu-new" + sessionID(i)})) == "cdn-a" {
			seen = true
		}
	}
	if !seen {
		t.Fatal("cdn-a back up in eu gets no new session")
	}
	if got := down.List(); len(got) != 0 {
		t.Fatalf("down list %v", got)
	}
}
