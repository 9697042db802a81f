// Package dns serves steering decisions over DNS: an authoritative server
// for one zone, built on github.com/miekg/dns, whose types stay inside this
// package.
//
// For a name in the zone the server asks a Resolver (Query in, Answer out,
// plain Go types) and answers with A/AAAA records or a CNAME (a CDN's
// hostname), honouring the EDNS client subnet (RFC 7871) and echoing it with
// the scope the resolver reports. It answers SOA and NS at the apex itself,
// NXDOMAIN with the SOA for unknown names, REFUSED for names outside the zone
// (it never recurses), and FORMERR, NOTIMP or BADVERS for queries it cannot
// take. UDP answers larger than the client's buffer come back truncated (TC)
// and complete over TCP. Several SO_REUSEPORT UDP sockets share the port so
// every core reads queries.
package dns
