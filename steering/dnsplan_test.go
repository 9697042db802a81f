package steering

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
)

// subnetClient is the i-th /24 of a population of ECS clients, all
// in region us (10.0.0.0/8).
func subnetClient(i int) Client {
	return Client{Addr: addr("192.0.2.53"), Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}
}

func planChoice(p *DNSPlan, c Client) string {
	ch := p.Choose(c)
	pw, ok := p.Pathway(ch.Choice)
	if !ok {
		return ""
	}
	if pw.Kind == KindMesh {
		return "mesh/" + pw.Addrs[0].String()
	}
	return pw.ID
}

// TestDNSPlanStable: a subnet gets the same answer from every call and
// from a plan rebuilt from the same input, and the shares over many
// subnets follow the weights.
func TestDNSPlanStable(t *testing.T) {
	e := newEngine(t, testConfig(), newClock(), nil)
	p1, p2 := e.DNSPlan(world()), e.DNSPlan(world())
	counts := map[string]int{}
	const n = 6000
	for i := range n {
		c := subnetClient(i)
		a := planChoice(p1, c)
		if b := planChoice(p2, c); a != b || planChoice(p1, c) != a {
			t.Fatalf("subnet %v: %q then %q", c.Prefix, a, b)
		}
		// Another address of the same /24 (and the resolver's own
		// address changing) does not change the answer.
		c2 := c
		c2.Addr = addr("203.0.113.9")
		c2.Prefix = netip.PrefixFrom(c.Prefix.Addr().Next(), 25)
		if b := planChoice(p1, c2); b != a {
			t.Fatalf("subnet %v: %q, its /25 %q", c.Prefix, a, b)
		}
		counts[pathwayOf(a)]++
	}
	// mesh 100, cdn-a 100, cdn-b 100: a third each.
	for _, id := range []string{"mesh", "cdn-a", "cdn-b"} {
		if got := float64(counts[id]) / n; math.Abs(got-1.0/3) > 0.03 {
			t.Errorf("%s: share %.3f, want 1/3 (%v)", id, got, counts)
		}
	}
}

func pathwayOf(choice string) string {
	if len(choice) > 5 && choice[:5] == "mesh/" {
		return "mesh"
	}
	return choice
}

// TestDNSPlanWeightChange: raising one CDN's weight moves subnets only
// onto it, never between the others (rendezvous hashing).
func TestDNSPlanWeightChange(t *testing.T) {
	e := newEngine(t, testConfig(), newClock(), nil)
	before := e.DNSPlan(world())
	s := world()
	s.CDNs[1].Weight = 300
	s.Version = 2
	after := e.DNSPlan(s)
	moved := 0
	for i := range 4000 {
		c := subnetClient(i)
		a, b := pathwayOf(planChoice(before, c)), pathwayOf(planChoice(after, c))
		if a != b {
			moved++
			if b != "cdn-b" {
				t.Fatalf("subnet %v moved from %s to %s", c.Prefix, a, b)
			}
		}
	}
	if moved == 0 {
		t.Fatal("no subnet moved to the heavier CDN")
	}
}

func TestDNSPlanChoices(t *testing.T) {
	e := newEngine(t, testConfig(), newClock(), healthMap{"cdn-b": true})
	single := world()
	single.CDNs = single.CDNs[:1]
	single.CDNs[0].State = CDNDisabled
	single.Edges = single.Edges[:1] // eu-1 only
	notLive := world()
	notLive.Event.State = "ended"
	blackout := world()
	blackout.Event.BlackoutRegions = []string{"eu"}
	// ecsIn returns the i-th ECS /56 of the eu region's 2001:db8:e::/48.
	ecsIn := func(i int) Client {
		return Client{Addr: addr("192.0.2.53"), Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x0e, byte(i)}), 56)}
	}
	tests := []struct {
		name   string
		snap   Snapshot
		client func(i int) Client
		want   []string // the choices seen over 200 subnets
		scope  int      // of the first subnet
	}{
		{"one outcome: the region's scope", single, func(i int) Client {
			return Client{Addr: addr("192.0.2.53"), Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i), 0}), 24)}
		}, []string{"mesh/192.0.2.11"}, 9},
		{"unhealthy CDN never chosen, local edges", world(), ecsIn,
			[]string{"cdn-a", "mesh/192.0.2.11", "mesh/192.0.2.12"}, 56},
		{"not live", notLive, ecsIn, []string{""}, 48},
		{"blacked out", blackout, ecsIn, []string{""}, 48},
		{"no ECS: the resolver's /24, no scope beyond the region's", world(), func(i int) Client {
			return Client{Addr: netip.AddrFrom4([4]byte{10, 200, byte(i), 7})}
		}, []string{"cdn-a", "mesh/192.0.2.21", "mesh/192.0.2.22"}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.DNSPlan(tt.snap)
			if ch := p.Choose(tt.client(0)); ch.Scope != tt.scope {
				t.Fatalf("scope %d, want %d", ch.Scope, tt.scope)
			}
			seen := map[string]bool{}
			for i := range 200 {
				seen[planChoice(p, tt.client(i))] = true
			}
			if got := fmt.Sprint(keys(seen)); got != fmt.Sprint(tt.want) {
				t.Fatalf("choices %s, want %v", got, tt.want)
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func BenchmarkDNSPlanChoose(b *testing.B) {
	e := newEngine(b, testConfig(), newClock(), nil)
	p := e.DNSPlan(benchWorld())
	c := Client{Addr: addr("192.0.2.53"), Prefix: pfx("100.7.3.0/24")}
	b.ReportAllocs()
	for b.Loop() {
		p.Choose(c)
	}
}
