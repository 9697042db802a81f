package dns

import "net/netip"

// Steerer gives the server the plan it answers from.
type Steerer interface {
	// Plan returns the current plan. The server asks once per batch of
	// queries, so it must be cheap while nothing changed (an atomic
	// load and a version check).
	Plan() Plan
}

// Plan is one version of the zone's steered names: which names exist,
// which answer each client gets, and what each answer holds. It is
// immutable and safe for concurrent use; the server compiles each
// (name, choice, query type) into wire form once per Version, so a query
// is a lookup, a Choose and a copy.
type Plan interface {
	// Version changes whenever any answer may change.
	Version() uint64
	// Names lists the names below the apex that exist, relative to the
	// zone and in lower case ("fight", "live"); "" stands for the apex
	// itself when it has addresses. Every other name is NXDOMAIN (except
	// the name servers' own names), and so is everything below a name.
	Names() []string
	// Choose returns which answer of Names()[name] a client gets and the
	// ECS SCOPE PREFIX-LENGTH that holds for. client is the address the
	// query came from, ecs the client subnet (invalid when absent or /0).
	// It must not block or allocate: it runs for every query.
	Choose(name int, client netip.Addr, ecs netip.Prefix) (choice, scope int)
	// Answer returns the records of a name for one choice: the server
	// asks once per version, name and choice.
	Answer(name, choice int) Answer
}

// Answer is what a name holds for one choice.
type Answer struct {
	// Addrs answer A and AAAA queries (the family asked for); none of
	// that family is an empty answer (NODATA).
	Addrs []netip.Addr
	// CNAME, when set, is answered instead of addresses (a CDN's
	// hostname), for every query type. It is not chased inside the zone:
	// the resolver asks again.
	CNAME string
}
