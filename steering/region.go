package steering

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
)

// regionCIDR is one network of a region.
type regionCIDR struct {
	prefix netip.Prefix // masked, unmapped
	region string
}

// regionTable finds a client's region by longest prefix match.
type regionTable struct {
	cidrs []regionCIDR // longest prefix first
}

func newRegionTable(regions []Region) regionTable {
	var t regionTable
	for _, r := range regions {
		for _, p := range r.CIDRs {
			if p = unmapPrefix(p); p.IsValid() {
				t.cidrs = append(t.cidrs, regionCIDR{p.Masked(), r.Name})
			}
		}
	}
	slices.SortStableFunc(t.cidrs, func(a, b regionCIDR) int { return cmp.Compare(b.prefix.Bits(), a.prefix.Bits()) })
	return t
}

// clientAddr is the address a decision is made for: the (masked) EDNS
// client subnet when there is one with a non-zero length, else the
// client's address.
func clientAddr(c Client) netip.Addr {
	if p := unmapPrefix(c.Prefix); p.IsValid() && p.Bits() > 0 {
		return p.Masked().Addr()
	}
	return c.Addr.Unmap()
}

// lookup returns the region of a ("" for none) and the scope: the longest
// prefix length needed for every address in the block around a to get the
// same answer, which is what an ECS response's SCOPE PREFIX-LENGTH says.
func (t *regionTable) lookup(a netip.Addr) (region string, scope int) {
	if !a.IsValid() {
		return "", 0
	}
	matched := -1
	for i, c := range t.cidrs {
		if c.prefix.Contains(a) {
			matched = i
			break
		}
	}
	if matched >= 0 {
		region, scope = t.cidrs[matched].region, t.cidrs[matched].prefix.Bits()
	}
	// A more specific network that shares the first scope bits with a but
	// does not contain it carves a hole in the block: narrow the block
	// until the hole is outside it.
	for _, c := range t.cidrs {
		if c.prefix.Bits() <= scope || c.prefix.Addr().Is4() != a.Is4() {
			continue
		}
		if n := commonBits(a, c.prefix.Addr()); n >= scope && n < c.prefix.Bits() {
			scope = n + 1
		}
	}
	return region, scope
}

// commonBits returns how many leading bits a and b (same family) share.
func commonBits(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			n += bits.LeadingZeros8(d)
			break
		}
		n += 8
	}
	if a.Is4() {
		n -= 96
	}
	return n
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix into its IPv4 prefix.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() || !p.Addr().Is4In6() {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
}
