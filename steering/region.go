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
	// hi, lo hold the prefix's address as 128 bits (IPv4 in its mapped
	// form), bits its length in that space: lookups compare with two XORs.
	hi, lo uint64
	bits   int
	is4    bool
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
				p = p.Masked()
				hi, lo := addr128(p.Addr())
				bits := p.Bits()
				if p.Addr().Is4() {
					bits += 96
				}
				t.cidrs = append(t.cidrs, regionCIDR{prefix: p, region: r.Name, hi: hi, lo: lo, bits: bits, is4: p.Addr().Is4()})
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
	is4 := a.Is4()
	hi, lo := addr128(a)
	off := 0 // scope is counted in the address's own family
	if is4 {
		off = 96
	}
	matched := -1
	for i := range t.cidrs {
		c := &t.cidrs[i]
		if c.is4 == is4 && common128(hi, lo, c.hi, c.lo) >= c.bits {
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
	for i := range t.cidrs {
		c := &t.cidrs[i]
		if c.bits-off <= scope || c.is4 != is4 {
			continue
		}
		if n := common128(hi, lo, c.hi, c.lo) - off; n >= scope && n < c.bits-off {
			scope = n + 1
		}
	}
	return region, scope
}

// addr128 returns a's 128 bits (an IPv4 address in its mapped form).
func addr128(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

// common128 returns how many leading bits two 128-bit addresses share.
func common128(ahi, alo, bhi, blo uint64) int {
	if d := ahi ^ bhi; d != 0 {
		return bits.LeadingZeros64(d)
	}
	return 64 + bits.LeadingZeros64(alo^blo)
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix into its IPv4 prefix.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() || !p.Addr().Is4In6() {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
}
