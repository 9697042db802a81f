// Package dns serves steering decisions over DNS: an authoritative server
// for one zone. github.com/miekg/dns validates configured names; queries
// are read and answers written straight on the wire.
//
// The consumer (the node) supplies a Steerer whose Plan says which names
// exist, which answer a client gets (Choose: its region and a choice
// stable for its subnet) and what each answer holds (Answer: addresses or
// a CNAME). The server compiles every (name, choice, query type) into a
// wire template once per plan Version, so answering is a parse, a lookup,
// a Choose and a copy with the query's ID, question and flags, plus the
// OPT RR (DO bit, the client subnet echoed with the choice's scope).
//
// Each UDP socket (several, SO_REUSEPORT) has one worker reading in a loop,
// in batches of up to 64 packets per recvmmsg and sendmmsg on Linux (a
// blocking socket outside the runtime's poller), one packet at a time
// through Go's sockets elsewhere; no goroutine per packet, no allocation
// per query. TCP connections are capped (MaxTCPConns) and time out when idle.
//
// It answers SOA and NS (with glue for name servers inside the zone) at
// the apex, the name servers' addresses, NODATA for empty non-terminals,
// NXDOMAIN for everything else in the zone (nothing exists below a name
// that does not, RFC 8020), REFUSED outside it; one RRset to ANY (RFC
// 8482); FORMERR for malformed queries, client subnet options (RFC 7871)
// and repeated OPT RRs (RFC 6891); BADVERS for EDNS versions above 0;
// NOTAUTH with a BADKEY TSIG to signed queries (it holds no keys, RFC
// 8945); NOTIMP for opcodes other than QUERY.
package dns
