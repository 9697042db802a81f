package steering

import (
	"net/netip"
	"testing"
)

func TestRegionLookup(t *testing.T) {
	e := newEngine(t, testConfig(), newClock(), nil)
	s := world()
	tests := []struct {
		name   string
		c      Client
		region string
		scope  int
	}{
		{"address in /24", Client{Addr: addr("198.51.100.7")}, "eu", 24},
		{"longest match wins", Client{Addr: addr("10.1.2.3")}, "us-east", 16},
		{"covering /8 minus a /16 hole", Client{Addr: addr("10.2.0.1")}, "us", 15},
		{"ipv6", Client{Addr: addr("2001:db8:e::1")}, "eu", 48},
		{"ipv4-mapped ipv6", Client{Addr: addr("::ffff:203.0.113.9")}, "us", 24},
		{"ECS prefix beats resolver address", Client{Addr: addr("203.0.113.1"), Prefix: pfx("198.51.100.0/24")}, "eu", 24},
		{"ECS /16 in a /8", Client{Addr: addr("192.0.2.53"), Prefix: pfx("10.9.0.0/16")}, "us", 13},
		{"ECS unmasked is masked", Client{Addr: addr("192.0.2.53"), Prefix: pfx("198.51.100.99/24")}, "eu", 24},
		{"ECS /0 falls back to address", Client{Addr: addr("203.0.113.5"), Prefix: pfx("0.0.0.0/0")}, "us", 24},
		{"unknown address", Client{Addr: addr("192.0.2.1")}, "", 0},
		{"invalid address", Client{}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(s, tt.c)
			if d.Region != tt.region {
				t.Fatalf("region %q, want %q (%v)", d.Region, tt.region, d.Reasons)
			}
			if tt.scope != 0 && d.Scope != tt.scope {
				t.Fatalf("scope /%d, want /%d", d.Scope, tt.scope)
			}
		})
	}
}

// TestRegionScope checks the scope against brute force: every address in
// the scope block around a must get the same region.
func TestRegionScope(t *testing.T) {
	tab := newRegionTable([]Region{
		{Name: "a", CIDRs: []netip.Prefix{pfx("10.0.0.0/8")}},
		{Name: "b", CIDRs: []netip.Prefix{pfx("10.0.64.0/18"), pfx("10.0.200.0/24")}},
		{Name: "c", CIDRs: []netip.Prefix{pfx("10.0.64.128/25")}},
	})
	for _, s := range []string{"10.0.0.1", "10.0.64.1", "10.0.64.200", "10.0.128.1", "10.0.200.7", "10.0.201.7", "10.1.0.0", "11.0.0.1", "9.255.255.255"} {
		t.Run(s, func(t *testing.T) {
			a := addr(s)
			region, scope := tab.lookup(a)
			block := netip.PrefixFrom(a, scope).Masked()
			if block.Bits() < 16 {
				// check the /16 around a; larger blocks have the same shape
				block = netip.PrefixFrom(a, 16).Masked()
			}
			for x := block.Addr(); block.Contains(x); x = x.Next() {
				if r, _ := tab.lookup(x); r != region && netip.PrefixFrom(a, scope).Masked().Contains(x) {
					t.Fatalf("%v in %v/%d has region %q, %v has %q", x, a, scope, r, a, region)
				}
			}
		})
	}
}
