package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	miekg "github.com/miekg/dns"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	Zone   string // the zone served, e.g. "ringside.test."
	Listen string // host:port for UDP and TCP; port 0 picks one
	// UDPListeners is how many SO_REUSEPORT UDP sockets share the port,
	// each read by one worker in a loop; 0 = GOMAXPROCS-1 (at least 1).
	// A worker waiting in recvmmsg holds its P in a system call: with
	// every P held so, the runtime takes one back at each wake-up (on 2
	// cores at 10k q/s: 0.47 core with 2 workers, 0.28 with 1), and one
	// P stays free for the rest of the node. Forced to 1 where the
	// platform has no SO_REUSEPORT.
	UDPListeners int
	TTL          time.Duration // of answers, SOA and NS
	// NS are the zone's name servers (apex NS records). A name server
	// named inside the zone needs its addresses: the server answers them
	// and adds them as glue to NS answers, else the delegation is lame.
	NS []NameServer
	// SOA fields. Hostmaster is the SOA RNAME ("hostmaster.ringside.test.");
	// Serial 0 means the server's start time in Unix seconds.
	Hostmaster             string
	Serial                 uint32
	Refresh, Retry, Expire time.Duration
	// NegativeTTL is the SOA MINIMUM. Negative answers carry the SOA with
	// the TTL min(TTL, NegativeTTL) (RFC 2308 section 3).
	NegativeTTL time.Duration
	// MaxUDPSize caps the EDNS0 buffer size honoured and advertised; 1232
	// avoids IP fragmentation (DNS flag day 2020).
	MaxUDPSize int
	// MaxTCPConns bounds the open TCP connections; one more is closed as
	// soon as it is accepted (resolvers retry elsewhere), so idle clients
	// cannot hold a goroutine and a buffer each without limit.
	MaxTCPConns int
	// TCP timeouts: ReadTimeout for the rest of a query once its first
	// byte came, WriteTimeout per answer, IdleTimeout between queries.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// NameServer is one NS record of the zone.
type NameServer struct {
	Name  string       // fully qualified: "ns1.ringside.test."
	Addrs []netip.Addr // required when Name is inside the zone
}

// DefaultConfig serves ringside.test. on port 53 with 30 s answers. Its
// name server ns1.ringside.test. has no address yet: Validate asks for one.
func DefaultConfig() Config {
	return Config{
		Zone: "ringside.test.", Listen: "0.0.0.0:53",
		TTL: 30 * time.Second, NS: []NameServer{{Name: "ns1.ringside.test."}}, Hostmaster: "hostmaster.ringside.test.",
		Refresh: time.Hour, Retry: 10 * time.Minute, Expire: 14 * 24 * time.Hour, NegativeTTL: 30 * time.Second,
		MaxUDPSize: 1232, MaxTCPConns: 256,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 8 * time.Second,
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("dns: config: "+format, args...))
	}
	if !fqdn(c.Zone) {
		bad("Zone %q: not a fully qualified domain name", c.Zone)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("Listen %q: %w", c.Listen, err)
	}
	if c.UDPListeners < 0 {
		bad("UDPListeners: %d, must not be negative", c.UDPListeners)
	}
	if len(c.NS) == 0 {
		bad("NS: the zone needs at least one name server")
	}
	for _, ns := range c.NS {
		switch {
		case !fqdn(ns.Name):
			bad("NS %q: not a fully qualified domain name", ns.Name)
		case fqdn(c.Zone) && inZone(ns.Name, c.Zone) && len(ns.Addrs) == 0:
			bad("NS %s: inside the zone, so it needs an address (glue)", ns.Name)
		case fqdn(c.Zone) && canonical(ns.Name) == canonical(c.Zone):
			bad("NS %s: the apex cannot be a name server's name here", ns.Name)
		}
		for _, a := range ns.Addrs {
			if !a.IsValid() || a.IsUnspecified() {
				bad("NS %s: address %v is not one a resolver can use", ns.Name, a)
			}
		}
	}
	if !fqdn(c.Hostmaster) {
		bad("Hostmaster %q: not a fully qualified domain name", c.Hostmaster)
	}
	type named struct {
		name string
		v    time.Duration
	}
	for _, d := range []named{{"TTL", c.TTL}, {"Refresh", c.Refresh}, {"Retry", c.Retry}, {"Expire", c.Expire}, {"NegativeTTL", c.NegativeTTL}} {
		if d.v < time.Second {
			bad("%s: %v, want at least 1s (DNS counts in seconds)", d.name, d.v)
		}
	}
	for _, d := range []named{{"ReadTimeout", c.ReadTimeout}, {"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout}} {
		if d.v <= 0 {
			bad("%s: %v, must be positive", d.name, d.v)
		}
	}
	if c.MaxUDPSize < miekg.MinMsgSize || c.MaxUDPSize > miekg.MaxMsgSize {
		bad("MaxUDPSize: %d, want %d..%d", c.MaxUDPSize, miekg.MinMsgSize, miekg.MaxMsgSize)
	}
	if c.MaxTCPConns < 1 {
		bad("MaxTCPConns: %d, want at least 1", c.MaxTCPConns)
	}
	return errors.Join(errs...)
}

func fqdn(s string) bool {
	_, ok := miekg.IsDomainName(s)
	return ok && miekg.IsFqdn(s)
}

// canonical is s in lower case (DNS compares names without case).
func canonical(s string) string { return strings.ToLower(s) }

// inZone says whether name is zone or below it.
func inZone(name, zone string) bool { return miekg.IsSubDomain(canonical(zone), canonical(name)) }

// Deps are a Server's collaborators.
type Deps struct {
	Steerer Steerer      // required
	Logger  *slog.Logger // nil = discard
}
