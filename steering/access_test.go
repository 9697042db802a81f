package steering

import (
	"net/netip"
	"testing"
)

func TestRegionsOfMatchesDecide(t *testing.T) {
	regions := []Region{
		{Name: "eu", CIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}},
		{Name: "paris", CIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}},
	}
	r, tbl := NewRegions(regions), newRegionTable(regions)
	for _, a := range []string{"10.2.3.4", "10.1.2.3", "::ffff:10.1.2.3", "2001:db8::1", "192.0.2.1", "::1"} {
		addr := netip.MustParseAddr(a)
		want, _ := tbl.lookup(addr.Unmap())
		if got := r.Of(addr); got != want {
			t.Errorf("%s: %q, want %q", a, got, want)
		}
	}
	if (*Regions)(nil).Of(netip.MustParseAddr("10.0.0.1")) != "" {
		t.Error("nil Regions found a region")
	}
}
