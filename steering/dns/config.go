package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	miekg "github.com/miekg/dns"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	Zone   string // the zone served, e.g. "ringside.test."
	Listen string // host:port for UDP and TCP; port 0 picks one
	// UDPListeners is how many SO_REUSEPORT UDP sockets share the port
	// (one reader each); 0 = GOMAXPROCS. Forced to 1 where the platform
	// has no SO_REUSEPORT.
	UDPListeners int
	TTL          time.Duration // of answers, SOA and NS
	NS           []string      // the zone's name servers (apex NS records)
	// SOA fields. Hostmaster is the SOA RNAME ("hostmaster.ringside.test.");
	// Serial 0 means the server's start time in Unix seconds.
	Hostmaster             string
	Serial                 uint32
	Refresh, Retry, Expire time.Duration
	// NegativeTTL is the SOA MINIMUM: how long resolvers cache NXDOMAIN
	// and empty answers.
	NegativeTTL time.Duration
	// MaxUDPSize caps the EDNS0 buffer size honoured and advertised; 1232
	// avoids IP fragmentation (DNS flag day 2020).
	MaxUDPSize int
	// ResolveTimeout bounds one call to the Resolver; past it the answer
	// is SERVFAIL.
	ResolveTimeout time.Duration
	// TCP connection timeouts.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// DefaultConfig serves ringside.test. on port 53 with 30 s answers.
func DefaultConfig() Config {
	return Config{
		Zone: "ringside.test.", Listen: "0.0.0.0:53",
		TTL: 30 * time.Second, NS: []string{"ns1.ringside.test."}, Hostmaster: "hostmaster.ringside.test.",
		Refresh: time.Hour, Retry: 10 * time.Minute, Expire: 14 * 24 * time.Hour, NegativeTTL: 30 * time.Second,
		MaxUDPSize: 1232, ResolveTimeout: time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 8 * time.Second,
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("dns: config: "+format, args...))
	}
	if _, ok := miekg.IsDomainName(c.Zone); !ok || !miekg.IsFqdn(c.Zone) {
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
	for _, n := range append(append([]string(nil), c.NS...), c.Hostmaster) {
		if _, ok := miekg.IsDomainName(n); !ok || !miekg.IsFqdn(n) {
			bad("%q: not a fully qualified domain name", n)
		}
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
	for _, d := range []named{{"ResolveTimeout", c.ResolveTimeout}, {"ReadTimeout", c.ReadTimeout}, {"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout}} {
		if d.v <= 0 {
			bad("%s: %v, must be positive", d.name, d.v)
		}
	}
	if c.MaxUDPSize < miekg.MinMsgSize || c.MaxUDPSize > miekg.MaxMsgSize {
		bad("MaxUDPSize: %d, want %d..%d", c.MaxUDPSize, miekg.MinMsgSize, miekg.MaxMsgSize)
	}
	return errors.Join(errs...)
}

// Deps are a Server's collaborators.
type Deps struct {
	Resolver Resolver     // required
	Logger   *slog.Logger // nil = discard
}
