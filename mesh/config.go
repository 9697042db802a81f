package mesh

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Config configures one Mesh. The zero value is not usable; start from
// DefaultConfig (or TestConfig) and override.
type Config struct {
	BindAddr      string   // ip:port for gossip (UDP and TCP); port 0 picks one
	AdvertiseAddr string   // ip:port others should use, if not BindAddr (NAT, 0.0.0.0)
	Seeds         []string // host:port of members to join; none = first node

	// SecretKey encrypts gossip with AES (16, 24 or 32 bytes); nil = plain.
	// Nodes with different keys cannot talk, so they never join each other.
	// It is the keyring's primary key at start; InstallKey, UseKey and
	// RemoveKey rotate it while the mesh runs.
	SecretKey []byte

	GossipInterval   time.Duration // how often to gossip to a few random members
	ProbeInterval    time.Duration // how often to probe one random member
	ProbeTimeout     time.Duration // how long to wait for a probe ack; < ProbeInterval
	PushPullInterval time.Duration // full-state sync with one member; 0 disables
	SuspicionMult    int           // suspect -> dead after SuspicionMult*ProbeInterval (scaled by log n)

	// CoalescePeriod batches membership changes: flaps inside the window
	// become one event per member (latest state wins). 0 = no batching.
	CoalescePeriod time.Duration
	// JoinRetry is how long Run waits between join attempts while no seed
	// has answered.
	JoinRetry time.Duration
	// BroadcastTimeout bounds the graceful leave when Run's ctx ends: the leave
	// intent and the leave message get this long each to go out.
	BroadcastTimeout time.Duration
	// ReconnectInterval is how often members that failed (not those that
	// left) are contacted again, so a healed partition rejoins. 0: never.
	ReconnectInterval time.Duration

	// PacketFilter, if set, is asked about every peer address; false drops
	// all gossip to and from it (UDP packets and TCP streams). For tests that
	// simulate partitions: an incoming TCP stream is judged by the remote
	// socket address, which is not the peer's gossip address, so partition
	// both sides.
	PacketFilter func(remoteAddr string) bool

	Logger *slog.Logger // nil = discard; memberlist's own log goes here too
}

// DefaultConfig returns timings for a LAN or a single region, close to
// memberlist's LAN defaults.
func DefaultConfig() Config {
	return Config{
		BindAddr:          "0.0.0.0:7946",
		GossipInterval:    200 * time.Millisecond,
		ProbeInterval:     time.Second,
		ProbeTimeout:      500 * time.Millisecond,
		PushPullInterval:  30 * time.Second,
		SuspicionMult:     4,
		CoalescePeriod:    500 * time.Millisecond,
		JoinRetry:         5 * time.Second,
		BroadcastTimeout:  5 * time.Second,
		ReconnectInterval: 10 * time.Second,
	}
}

// TestConfig returns millisecond timings for meshes running inside one test
// process on the loopback interface.
func TestConfig() Config {
	return Config{
		BindAddr: "127.0.0.1:0",
		// Fast, but tolerant of a busy 2-core machine running the race
		// detector: a probe that misses 25 ms under load must not make a
		// healthy member flap.
		GossipInterval:    20 * time.Millisecond,
		ProbeInterval:     100 * time.Millisecond,
		ProbeTimeout:      80 * time.Millisecond,
		PushPullInterval:  time.Second,
		SuspicionMult:     6,
		CoalescePeriod:    20 * time.Millisecond,
		JoinRetry:         50 * time.Millisecond,
		BroadcastTimeout:  500 * time.Millisecond,
		ReconnectInterval: 100 * time.Millisecond,
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("mesh: config: "+format, args...))
	}
	if err := checkIPPort(c.BindAddr); err != nil {
		bad("BindAddr: %w", err)
	}
	if c.AdvertiseAddr != "" {
		if err := checkIPPort(c.AdvertiseAddr); err != nil {
			bad("AdvertiseAddr: %w", err)
		}
	}
	for i, s := range c.Seeds {
		if _, port, err := splitPort(s); err != nil {
			bad("Seeds[%d]: %w", i, err)
		} else if port == 0 {
			bad("Seeds[%d]: %q: port 0", i, s)
		}
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		bad("SecretKey: %d bytes, want 16, 24 or 32", len(c.SecretKey))
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"GossipInterval", c.GossipInterval}, {"ProbeInterval", c.ProbeInterval},
		{"ProbeTimeout", c.ProbeTimeout}, {"JoinRetry", c.JoinRetry}, {"BroadcastTimeout", c.BroadcastTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			bad("%s: %v, must be positive", p.name, p.d)
		}
	}
	if c.ProbeTimeout > 0 && c.ProbeInterval > 0 && c.ProbeTimeout >= c.ProbeInterval {
		bad("ProbeTimeout %v must be shorter than ProbeInterval %v", c.ProbeTimeout, c.ProbeInterval)
	}
	if c.PushPullInterval < 0 {
		bad("PushPullInterval: %v, must not be negative", c.PushPullInterval)
	}
	if c.CoalescePeriod < 0 {
		bad("CoalescePeriod: %v, must not be negative", c.CoalescePeriod)
	}
	if c.ReconnectInterval < 0 {
		bad("ReconnectInterval: %v, must not be negative", c.ReconnectInterval)
	}
	if c.SuspicionMult < 1 {
		bad("SuspicionMult: %d, must be at least 1", c.SuspicionMult)
	}
	return errors.Join(errs...)
}

// checkIPPort accepts "ip:port" only: memberlist binds and advertises IPs.
func checkIPPort(s string) error {
	host, _, err := splitPort(s)
	if err != nil {
		return err
	}
	if net.ParseIP(host) == nil {
		return fmt.Errorf("%q: host must be an IP address", s)
	}
	return nil
}

func splitPort(s string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port %q", s, p)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q: missing host", s)
	}
	return host, port, nil
}
