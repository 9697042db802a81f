package dns

import (
	"context"
	"net/netip"
)

// QType is the kind of record asked for, as far as a Resolver cares.
type QType uint8

// Query types.
const (
	TypeA     QType = iota + 1 // IPv4 addresses
	TypeAAAA                   // IPv6 addresses
	TypeOther                  // anything else: only existence and CNAME matter
)

func (t QType) String() string {
	switch t {
	case TypeA:
		return "A"
	case TypeAAAA:
		return "AAAA"
	case TypeOther:
		return "other"
	}
	return "unknown"
}

// Query is one question for a name in the zone.
type Query struct {
	Name     string // lower case, fully qualified: "fight.live.ringside.test."
	Relative string // Name without the zone: "fight.live"; "" at the apex
	Type     QType
	Client   netip.Addr   // the address the query came from (usually a resolver)
	ECS      netip.Prefix // EDNS client subnet; invalid when absent or /0
}

// Answer is what a Resolver says about a name.
type Answer struct {
	// Addrs answer A and AAAA queries; the server keeps those of the
	// family asked for. A name with addresses of the other family only
	// gets an empty (NODATA) answer.
	Addrs []netip.Addr
	// CNAME, when set, is answered instead of addresses (a CDN hostname).
	// A target inside the zone is resolved in turn.
	CNAME string
	// ECSScope is the SCOPE PREFIX-LENGTH for the answer: how much of the
	// client subnet it depends on (0 = not at all).
	ECSScope int
	// NXDomain says the name does not exist.
	NXDomain bool
}

// Resolver answers queries for names in the zone. It must be safe for
// concurrent use and return quickly; errors become SERVFAIL.
type Resolver interface {
	Resolve(ctx context.Context, q Query) (Answer, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, q Query) (Answer, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, q Query) (Answer, error) { return f(ctx, q) }

var _ Resolver = ResolverFunc(nil)
