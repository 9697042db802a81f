package dns

import (
	"net/netip"

	miekg "github.com/miekg/dns"
)

// parseECS returns the EDNS client subnet of a query (invalid when absent
// or of length 0), the option itself for the echo, and false when the
// option is malformed (RFC 7871 section 7.1.1: FORMERR).
func parseECS(opt *miekg.OPT) (netip.Prefix, *miekg.EDNS0_SUBNET, bool) {
	if opt == nil {
		return netip.Prefix{}, nil, true
	}
	var ecs *miekg.EDNS0_SUBNET
	for _, o := range opt.Option {
		if e, ok := o.(*miekg.EDNS0_SUBNET); ok {
			if ecs != nil {
				return netip.Prefix{}, nil, false // more than one
			}
			ecs = e
		}
	}
	if ecs == nil {
		return netip.Prefix{}, nil, true
	}
	if ecs.SourceScope != 0 {
		return netip.Prefix{}, nil, false
	}
	var a netip.Addr
	switch ecs.Family {
	case 0: // "no address" with length 0, as dig sends it
		if ecs.SourceNetmask != 0 {
			return netip.Prefix{}, nil, false
		}
		return netip.Prefix{}, ecs, true
	case 1:
		ip4 := ecs.Address.To4()
		if ip4 == nil || ecs.SourceNetmask > 32 {
			return netip.Prefix{}, nil, false
		}
		a = netip.AddrFrom4([4]byte(ip4))
	case 2:
		ip16 := ecs.Address.To16()
		if ip16 == nil || ecs.SourceNetmask > 128 {
			return netip.Prefix{}, nil, false
		}
		a = netip.AddrFrom16([16]byte(ip16))
	default:
		return netip.Prefix{}, nil, false
	}
	p := netip.PrefixFrom(a, int(ecs.SourceNetmask))
	if p.Masked().Addr() != a {
		return netip.Prefix{}, nil, false // address bits beyond the source prefix
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, ecs, true
	}
	return p, ecs, true
}

// echoECS adds the client subnet option to resp's OPT record: family,
// source prefix length and address as the query sent them, and the scope
// the answer holds for (0 when the query's source length was 0).
func echoECS(resp *miekg.Msg, q *miekg.EDNS0_SUBNET, scope int) {
	opt := resp.IsEdns0()
	if opt == nil {
		return
	}
	maxBits := 32
	if q.Family == 2 {
		maxBits = 128
	}
	if q.SourceNetmask == 0 || q.Family == 0 {
		scope = 0
	}
	scope = min(max(scope, 0), maxBits)
	opt.Option = append(opt.Option, &miekg.EDNS0_SUBNET{
		Code: miekg.EDNS0SUBNET, Family: q.Family, SourceNetmask: q.SourceNetmask,
		SourceScope: uint8(scope), Address: q.Address,
	})
}
