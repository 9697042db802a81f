package limiter

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"net/netip"
	"sync"
	"time"
)

// ways is the associativity of the table: a network's bucket is in one of
// the ways entries of its set.
const ways = 4

// Config sets the budget of each client network and the table size.
type Config struct {
	// Rate is the requests per second a network may make, sustained.
	Rate float64
	// Burst is how many requests a network may make at once (the bucket
	// size); a network not seen before starts with a full bucket.
	Burst int
	// Bits4 and Bits6 are the prefix lengths of a client network: 32,
	// one IPv4 address; 48, the largest assignment to one IPv6 site (RFC
	// 6177), so one subscriber cannot multiply its budget by changing
	// addresses.
	Bits4, Bits6 int
	// Entries is how many networks the table tracks at once, rounded up
	// to a power of two; each costs about 30 bytes.
	Entries int
}

// DefaultConfig: 100 requests a second, bursts of 200, per IPv4 address
// and IPv6 /48, 32768 networks tracked.
func DefaultConfig() Config {
	return Config{Rate: 100, Burst: 200, Bits4: 32, Bits6: 48, Entries: 1 << 15}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("limiter: config: "+format, args...))
	}
	if !(c.Rate > 0) {
		bad("Rate: %v, must be positive", c.Rate)
	}
	if c.Burst < 1 {
		bad("Burst: %d, must be at least 1", c.Burst)
	}
	if c.Bits4 < 1 || c.Bits4 > 32 {
		bad("Bits4: %d, want 1..32", c.Bits4)
	}
	if c.Bits6 < 1 || c.Bits6 > 128 {
		bad("Bits6: %d, want 1..128", c.Bits6)
	}
	if c.Entries < ways || c.Entries > 1<<24 {
		bad("Entries: %d, want %d..%d", c.Entries, ways, 1<<24)
	}
	return errors.Join(errs...)
}

// Limiter is a table of token buckets, one per client network. It is safe
// for concurrent use.
type Limiter struct {
	cfg     Config
	perNano float64 // tokens per nanosecond
	burst   float64
	seed    maphash.Seed
	mask    uint64
	sets    []set
}

// set is ways buckets under one lock.
type set struct {
	mu sync.Mutex
	e  [ways]bucket
}

// bucket is one network's tokens; tag is its key's hash (0: unused), last
// when it was last asked (Unix nanoseconds), which also orders eviction.
type bucket struct {
	tag    uint64
	last   int64
	tokens float64
}

// New returns a Limiter with an empty table. It does no I/O.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sets := (cfg.Entries + ways - 1) / ways
	n := 1 << bits.Len(uint(sets-1)) // rounded up to a power of two
	return &Limiter{
		cfg: cfg, perNano: cfg.Rate / float64(time.Second), burst: float64(cfg.Burst),
		seed: maphash.MakeSeed(), mask: uint64(n - 1), sets: make([]set, n),
	}, nil
}

// Allow takes one token from the bucket of addr's network at now and
// reports whether there was one. An invalid address is a network of its
// own.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) bool {
	h := maphash.Comparable(l.seed, l.Network(addr)) | 1 // 0 marks an unused bucket
	t := now.UnixNano()
	s := &l.sets[h&l.mask]
	s.mu.Lock()
	defer s.mu.Unlock()
	victim := 0
	for i := range s.e {
		b := &s.e[i]
		if b.tag == h {
			return l.take(b, t)
		}
		if b.tag == 0 || s.e[victim].tag != 0 && b.last < s.e[victim].last {
			victim = i
		}
	}
	s.e[victim] = bucket{tag: h, last: t, tokens: l.burst}
	return l.take(&s.e[victim], t)
}

// take refills b up to t and takes a token if there is one.
func (l *Limiter) take(b *bucket, t int64) bool {
	if t > b.last { // a clock going back refills nothing
		b.tokens = min(l.burst, b.tokens+float64(t-b.last)*l.perNano)
		b.last = t
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Network returns the client network of addr: its first Bits4 (IPv4,
// IPv4-mapped included) or Bits6 bits; the zero Prefix for an invalid
// address.
func (l *Limiter) Network(addr netip.Addr) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	n := l.cfg.Bits6
	if addr.Is4() {
		n = l.cfg.Bits4
	}
	p, _ := addr.Prefix(n) // n is in range: Validate
	return p
}
