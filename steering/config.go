package steering

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Config tunes an Engine. Start from DefaultConfig.
type Config struct {
	// TTL is the steering TTL handed to players (HLS/DASH steering
	// manifest TTL, HTTP cache lifetime). A draining pathway loses its
	// sessions within one TTL.
	TTL time.Duration
	// MinTTL is the shortest TTL handed out; a draining session whose
	// deadline is closer than this moves at once.
	MinTTL time.Duration
	// StickyTTL is how long a session is remembered after its last
	// decision. Longer than TTL, so players polling every TTL stay sticky.
	StickyTTL time.Duration
	// MaxSessions bounds the sticky table; the least recently seen
	// session is forgotten first.
	MaxSessions int
	// SessionsPerNetwork bounds the sessions remembered for one client
	// network (NetworkBits4/NetworkBits6 of Client.Addr). Session ids are
	// the client's word: without a bound, one client inventing ids could
	// fill a CDN's capacity (and the table) with sessions that fetch
	// nothing. A network's further sessions are still steered, by the
	// weighted choice a new session gets, but neither remembered (no
	// stickiness) nor counted against capacity, until some of its
	// sessions expire.
	SessionsPerNetwork int
	// NetworkBits4 and NetworkBits6 are the prefix lengths of a client
	// network: 32, one IPv4 address (a household, or a NAT); 48, the
	// largest assignment to one IPv6 site (RFC 6177), so that one
	// subscriber cannot multiply its share by changing addresses.
	NetworkBits4, NetworkBits6 int
	// Interval is the rebalancing period: at most MaxShiftPerInterval of
	// the sticky sessions are moved for weight changes per Interval.
	Interval            time.Duration
	MaxShiftPerInterval float64
	// RebalanceSlack is the share of all sessions a pathway may hold above
	// its weight's share before sessions are moved off it; it keeps the
	// noise of random assignment from moving anyone.
	RebalanceSlack float64

	MeshWeight   int    // weight of the mesh pathway against CDN weights
	MeshHostname string // hostname of the mesh pathway (the DNS name players use)
	MeshBaseURL  string // base URL of the mesh when the edge has none
	// HighWater is the edge load from which an edge takes no new sessions.
	HighWater float64
	// SessionMbps is the bitrate assumed for a session that reports none.
	SessionMbps float64
	// MaxAddrs bounds the edge addresses of the mesh pathway.
	MaxAddrs int
}

// DefaultConfig returns settings for a live event with players polling
// steering every minute.
func DefaultConfig() Config {
	return Config{
		TTL:                 time.Minute,
		MinTTL:              2 * time.Second,
		StickyTTL:           3 * time.Minute,
		MaxSessions:         500_000,
		SessionsPerNetwork:  16,
		NetworkBits4:        32,
		NetworkBits6:        48,
		Interval:            time.Minute,
		MaxShiftPerInterval: 0.10,
		RebalanceSlack:      0.05,
		MeshWeight:          100,
		HighWater:           0.85,
		SessionMbps:         5,
		MaxAddrs:            4,
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("steering: config: "+format, args...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TTL", c.TTL}, {"MinTTL", c.MinTTL}, {"StickyTTL", c.StickyTTL}, {"Interval", c.Interval}} {
		if d.v <= 0 {
			bad("%s: %v, must be positive", d.name, d.v)
		}
	}
	if c.MinTTL > c.TTL {
		bad("MinTTL %v longer than TTL %v", c.MinTTL, c.TTL)
	}
	if c.StickyTTL < c.TTL {
		bad("StickyTTL %v shorter than TTL %v: players polling every TTL would lose stickiness", c.StickyTTL, c.TTL)
	}
	if c.MaxSessions <= 0 {
		bad("MaxSessions: %d, must be positive", c.MaxSessions)
	}
	if c.SessionsPerNetwork <= 0 {
		bad("SessionsPerNetwork: %d, must be positive", c.SessionsPerNetwork)
	}
	if c.NetworkBits4 < 1 || c.NetworkBits4 > 32 {
		bad("NetworkBits4: %d, want 1..32", c.NetworkBits4)
	}
	if c.NetworkBits6 < 1 || c.NetworkBits6 > 128 {
		bad("NetworkBits6: %d, want 1..128", c.NetworkBits6)
	}
	if c.MaxShiftPerInterval < 0 || c.MaxShiftPerInterval > 1 {
		bad("MaxShiftPerInterval: %v, want 0..1", c.MaxShiftPerInterval)
	}
	if c.RebalanceSlack < 0 || c.RebalanceSlack > 1 {
		bad("RebalanceSlack: %v, want 0..1", c.RebalanceSlack)
	}
	if c.MeshWeight < 0 {
		bad("MeshWeight: %d, must not be negative", c.MeshWeight)
	}
	if c.HighWater <= 0 || c.HighWater > 1 {
		bad("HighWater: %v, want (0, 1]", c.HighWater)
	}
	if c.SessionMbps <= 0 {
		bad("SessionMbps: %v, must be positive", c.SessionMbps)
	}
	if c.MaxAddrs <= 0 {
		bad("MaxAddrs: %d, must be positive", c.MaxAddrs)
	}
	return errors.Join(errs...)
}

// HealthView says whether a CDN is up. *Health implements it.
type HealthView interface {
	Up(id string) bool
}

// Deps are an Engine's collaborators.
type Deps struct {
	Now func() time.Time // nil = time.Now
	// Rand drives weighted choices; nil = seeded from the clock. The
	// engine serialises its use.
	Rand   *rand.Rand
	Health HealthView // nil = every CDN up
	// RegionHealth, if set, marks CDNs down in one region only (viewers'
	// telemetry); nil = no CDN is down in a region of its own.
	RegionHealth RegionHealthView
}
