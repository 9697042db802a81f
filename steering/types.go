package steering

import (
	"net/netip"
	"time"
)

// Event states that can be played.
const (
	StateLive      = "live"
	StateRehearsal = "rehearsal"
)

// CDN states.
const (
	CDNActive   = "active"   // takes new sessions
	CDNDraining = "draining" // keeps its sessions for at most one steering TTL, takes no new ones
	CDNDisabled = "disabled" // takes nothing
)

// Pathway kinds and the id of the mesh's own pathway.
const (
	KindMesh = "mesh"
	KindCDN  = "cdn"
	MeshID   = "mesh"
)

// Event is the part of an event's configuration steering reads.
type Event struct {
	ID    string
	State string // scheduled, rehearsal, live, ended
	// AllowedRegions, when not empty, is the only regions that may play;
	// a client in no known region is then refused.
	AllowedRegions  []string
	BlackoutRegions []string
	// RequireToken is carried for the HTTP adapter; Decide does not check
	// tokens.
	RequireToken bool
}

// Region is a named set of client networks.
type Region struct {
	Name  string
	CIDRs []netip.Prefix
}

// CDN is a third-party CDN pathway.
type CDN struct {
	ID       string // pathway id: [A-Za-z0-9._-], not "mesh"
	Hostname string // DNS answers CNAME here
	BaseURL  string // where the event's files are, for manifests and redirects
	Weight   int    // share of new sessions; 0 = only a fallback
	// CapacityMbps bounds the estimated bitrate of the sessions steered to
	// it; 0 = unlimited.
	CapacityMbps int64
	State        string // CDNActive, CDNDraining or CDNDisabled
	// Clone marks a CDN described in HLS steering manifests as a pathway
	// clone of the default pathway (HOST replaced) rather than listed in
	// the master playlist.
	Clone bool
}

// Edge is one of the mesh's own edge nodes, as gossip reports it.
type Edge struct {
	ID      string
	Region  string
	Addr    netip.Addr
	BaseURL string
	// TLSBaseURL is the edge's HTTPS base URL ("" without one): what a
	// client that came over HTTPS is sent to (a page on https:// may not
	// load http:// media).
	TLSBaseURL string
	Load       float64 // 0..1
	Drain      bool
	Alive      bool
}

// Snapshot is everything Decide needs to know about the world. Version
// must change whenever any field changes: the engine caches what it derives
// from a snapshot by version (0 = never cache).
type Snapshot struct {
	Event   Event
	Regions []Region
	CDNs    []CDN
	Edges   []Edge
	Version uint64
}

// Client is who asks. Over HTTP Addr is the player; over DNS Addr is the
// resolver and Prefix the EDNS client subnet (invalid when absent).
type Client struct {
	Addr    netip.Addr
	Prefix  netip.Prefix
	Session string // "" = no stickiness (DNS)
	// Mbps is the session's estimated bitrate for capacity accounting;
	// 0 = Config.SessionMbps.
	Mbps float64
	// TLS: the client asked over HTTPS, so mesh pathways get the edges'
	// HTTPS base URLs (edges without one are not offered first).
	TLS bool
}

// Decision is where a client should go.
type Decision struct {
	Region      string // "" when no CIDR matched
	Blocked     bool
	BlockReason string
	// Pathways in priority order; empty when blocked or when nothing is
	// eligible.
	Pathways []Pathway
	// Reasons explains the decision, one short line per step.
	Reasons []string
	// Scope is the prefix length the region decision holds for around the
	// client's address (the ECS SCOPE PREFIX-LENGTH); 0 = any address.
	Scope int
	// TTL is how long the client may keep this decision: Config.TTL, or
	// less for a session on a draining pathway, so that it asks again
	// before the pathway must be empty.
	TTL time.Duration
}

// Pathway is one place to fetch the event from.
type Pathway struct {
	ID       string // MeshID or the CDN id
	Kind     string // KindMesh or KindCDN
	Hostname string
	// Addrs are edge addresses for DNS A/AAAA answers, best first (mesh
	// only).
	Addrs   []netip.Addr
	BaseURL string
	Clone   bool // see CDN.Clone
	Why     string
}
