package steering

import (
	"fmt"
	"net/netip"
	"testing"
)

// benchWorld is a snapshot of realistic size: 20 regions, 50 edges, 4 CDNs.
func benchWorld() Snapshot {
	s := world()
	for r := range 20 {
		s.Regions = append(s.Regions, Region{Name: fmt.Sprintf("r%d", r), CIDRs: []netip.Prefix{
			netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(r), 0, 0}), 16),
			netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(r), 128, 0}), 20),
		}})
	}
	for i := range 50 {
		s.Edges = append(s.Edges, Edge{ID: fmt.Sprintf("e%d", i), Region: fmt.Sprintf("r%d", i%20),
			Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)}), Load: float64(i%10) / 12, Alive: true})
	}
	s.CDNs = append(s.CDNs, CDN{ID: "cdn-c", Weight: 30, State: CDNActive}, CDN{ID: "cdn-d", Weight: 10, State: CDNDraining})
	return s
}

func BenchmarkDecideDNS(b *testing.B) {
	e := newEngine(b, testConfig(), newClock(), nil)
	s := benchWorld()
	c := Client{Addr: addr("192.0.2.53"), Prefix: pfx("100.7.3.0/24")}
	b.ReportAllocs()
	for b.Loop() {
		e.Decide(s, c)
	}
}

func BenchmarkDecideSticky(b *testing.B) {
	e := newEngine(b, testConfig(), newClock(), nil)
	s := benchWorld()
	clients := make([]Client, 10000)
	for i := range clients {
		clients[i] = Client{Addr: netip.AddrFrom4([4]byte{100, byte(i % 20), byte(i >> 8), byte(i)}), Session: sessionID(i)}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Decide(s, clients[i%len(clients)])
		i++
	}
}
