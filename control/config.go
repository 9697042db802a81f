package control

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Timing profiles.
const (
	// ProfileLAN uses hashicorp/raft's defaults (1 s heartbeat and election
	// timeouts): voters in one region.
	ProfileLAN = "lan"
	// ProfileTest uses millisecond timeouts and skips fsync, for clusters
	// inside one test process. Not durable across a machine crash.
	ProfileTest = "test"
)

// Peer is one voter of the initial cluster.
type Peer struct {
	ID   string `json:"id" yaml:"id"`
	Addr string `json:"addr" yaml:"addr"` // host:port of its Raft transport
}

// Config configures one Store.
type Config struct {
	// NodeID is this voter's Raft server id. Use the mesh node id: the
	// NotLeaderError names the leader by it, and the admin API finds the
	// leader's HTTP address through the mesh.
	NodeID string
	// RaftAddr is the host:port the Raft transport binds; port 0 picks one
	// (see Store.Addr).
	RaftAddr string
	// Listener, when set, is the Raft transport's socket, already bound (a
	// test or a supervisor hands it over; no bind-then-close race on the
	// port); RaftAddr is then not used. The Store closes it.
	Listener net.Listener
	// Advertise is the ip:port other voters dial, if not RaftAddr (needed
	// when RaftAddr is 0.0.0.0 or behind NAT). Empty = the bound address.
	Advertise string
	// TLS, when set, puts Raft on mutual TLS: only peers whose client
	// certificate TLS.Server admits (control voters) get to send Raft
	// RPCs. Nil = plain TCP: anyone who reaches RaftAddr can append entries
	// and call elections, so only for tests and single-node demos; the
	// node requires it in production.
	TLS *TransportTLS
	// DataDir holds the Raft log (raft.db) and snapshots/. One per store.
	DataDir string
	// Bootstrap lists the initial voters, this node included; the entry for
	// NodeID may leave Addr empty (the advertised address is used). It is
	// used only when DataDir has no Raft state; every voter may get the same
	// list. Empty = wait to be added by a leader (Store.AddVoter).
	Bootstrap []Peer
	// Profile picks the Raft timings: ProfileLAN or ProfileTest.
	Profile string

	// SnapshotThreshold is how many new log entries trigger a snapshot (checked
	// every SnapshotInterval); TrailingLogs how many entries are kept behind a
	// snapshot so a slightly late follower catches up from the log instead of
	// a whole snapshot.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64

	// CheckInterval is how often the leader appends a check entry (its
	// latest applied position and document digest, compared by every
	// voter: see Divergence) when something was applied since the last
	// one. Zero = by Profile: 5s lan, 200ms test.
	CheckInterval time.Duration

	// Clock stamps Document.UpdatedAt on the leader; nil = time.Now.
	Clock  func() time.Time
	Logger *slog.Logger // nil = discard; Raft's own log goes here too
}

// DefaultConfig returns LAN timings. NodeID, DataDir and usually Bootstrap
// must be filled in.
func DefaultConfig() Config {
	return Config{
		RaftAddr:          "127.0.0.1:7947",
		Profile:           ProfileLAN,
		SnapshotThreshold: 1024,
		SnapshotInterval:  2 * time.Minute,
		TrailingLogs:      1024,
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("control: config: "+format, args...))
	}
	if !validNodeID(c.NodeID) {
		bad("NodeID %q: want 1 to 128 printable characters without spaces", c.NodeID)
	}
	if c.DataDir == "" {
		bad("DataDir is required")
	}
	raftAddr := c.RaftAddr
	if c.Listener != nil {
		raftAddr = c.Listener.Addr().String()
	}
	host, _, err := splitHostPort(raftAddr, true)
	if err != nil {
		bad("RaftAddr: %v", err)
	}
	if c.Advertise != "" {
		ahost, _, err := splitHostPort(c.Advertise, false)
		if err != nil {
			bad("Advertise: %v", err)
		} else if ip := net.ParseIP(ahost); ip == nil || ip.IsUnspecified() {
			bad("Advertise %q: host must be an IP address others can dial", c.Advertise)
		}
	} else if ip := net.ParseIP(host); err == nil && (ip == nil || ip.IsUnspecified()) {
		bad("RaftAddr %q: without Advertise, the host must be an IP address others can dial", c.RaftAddr)
	}
	if c.TLS != nil {
		errs = append(errs, c.TLS.validate()...)
	}
	errs = append(errs, c.validateBootstrap()...)
	if c.Profile != ProfileLAN && c.Profile != ProfileTest {
		bad("Profile %q: want %q or %q", c.Profile, ProfileLAN, ProfileTest)
	}
	if c.SnapshotThreshold == 0 {
		bad("SnapshotThreshold must be positive")
	}
	if c.SnapshotInterval <= 0 {
		bad("SnapshotInterval %v must be positive", c.SnapshotInterval)
	}
	if c.CheckInterval < 0 {
		bad("CheckInterval %v must not be negative", c.CheckInterval)
	}
	return errors.Join(errs...)
}

func (c Config) validateBootstrap() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range c.Bootstrap {
		switch {
		case !validNodeID(p.ID):
			errs = append(errs, fmt.Errorf("control: config: Bootstrap[%d].ID %q is not a node id", i, p.ID))
		case seen[p.ID]:
			errs = append(errs, fmt.Errorf("control: config: Bootstrap[%d].ID %q is listed twice", i, p.ID))
		}
		seen[p.ID] = true
		if p.Addr == "" && p.ID == c.NodeID {
			continue
		}
		if _, _, err := splitHostPort(p.Addr, false); err != nil {
			errs = append(errs, fmt.Errorf("control: config: Bootstrap[%d].Addr: %v", i, err))
		}
	}
	if len(c.Bootstrap) > 0 && !seen[c.NodeID] {
		errs = append(errs, fmt.Errorf("control: config: Bootstrap does not list this node %q", c.NodeID))
	}
	return errs
}

func splitHostPort(s string, portZeroOK bool) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 || (port == 0 && !portZeroOK) {
		return "", 0, fmt.Errorf("%q: bad port %q", s, p)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q: missing host", s)
	}
	return host, port, nil
}

// checkInterval is CheckInterval with the profile's default filled in.
func (c Config) checkInterval() time.Duration {
	switch {
	case c.CheckInterval > 0:
		return c.CheckInterval
	case c.Profile == ProfileTest:
		return 200 * time.Millisecond
	}
	return 5 * time.Second
}
