package mesh

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Roles a member can advertise; a node may hold several.
const (
	RoleIngest  = "ingest"
	RoleShield  = "shield"
	RoleEdge    = "edge"
	RoleControl = "control"
	RoleSteer   = "steer"
)

// Shield tiers a member can advertise in Meta.Tier.
const (
	TierOrigin   = "origin"   // the global origin shield (the default)
	TierRegional = "regional" // a mid-tier for the edges of its region
)

// MetaMaxSize is the largest encoded Meta memberlist can carry (its
// MetaMaxSize); New and UpdateMeta refuse anything larger.
const MetaMaxSize = 512

// Meta is what a member advertises to the mesh. It travels JSON-encoded in
// memberlist's node meta, so it must stay under MetaMaxSize bytes encoded.
type Meta struct {
	ID       string   `json:"id"`
	Roles    []string `json:"roles"`
	Tier     string   `json:"tier,omitempty"`   // "edge", "regional", "origin" (shield tier)
	Region   string   `json:"region,omitempty"` // regional shields are chosen per region
	HTTPAddr string   `json:"http"`             // host:port of the node's HTTP listener
	// HTTPSAddr is host:port of its HTTPS listener for players ("": none).
	HTTPSAddr string `json:"https,omitempty"`
	// AdminAddr is host:port of the node's admin listener, when the admin
	// API has its own (admin.listen); empty: it shares HTTPAddr.
	AdminAddr string `json:"admin,omitempty"`
	// MeshAddr is host:port of the node's node-to-node listener (mutual
	// TLS): every peer request goes there, never to HTTPAddr.
	MeshAddr string   `json:"mesh,omitempty"`
	Load     float64  `json:"load"`             // 0..1, advisory
	Drain    bool     `json:"drain,omitempty"`  // still a member, but should get no new work
	Events   []string `json:"events,omitempty"` // events this node ingests (push origin)
}

// HasRole reports whether the member advertises role r.
func (m Meta) HasRole(r string) bool { return slices.Contains(m.Roles, r) }

// clone returns a deep copy, so callers can never alias a stored Meta.
func (m Meta) clone() Meta {
	m.Roles = slices.Clone(m.Roles)
	m.Events = slices.Clone(m.Events)
	return m
}

func (m Meta) equal(o Meta) bool {
	return m.ID == o.ID && slices.Equal(m.Roles, o.Roles) && m.Tier == o.Tier &&
		m.Region == o.Region && m.HTTPAddr == o.HTTPAddr && m.HTTPSAddr == o.HTTPSAddr && m.AdminAddr == o.AdminAddr && m.MeshAddr == o.MeshAddr && m.Load == o.Load &&
		m.Drain == o.Drain && slices.Equal(m.Events, o.Events)
}

// encode returns the wire form of m, or an error if it is empty of an ID or
// too large for memberlist.
func (m Meta) encode() ([]byte, error) {
	if m.ID == "" {
		return nil, fmt.Errorf("mesh: meta: empty ID")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("mesh: meta: %w", err)
	}
	if len(b) > MetaMaxSize {
		return nil, fmt.Errorf("mesh: meta: encoded size %d exceeds %d bytes", len(b), MetaMaxSize)
	}
	return b, nil
}

// decodeMeta parses a member's advertised meta. The memberlist node name is
// authoritative for the ID, so a member cannot claim another's identity.
func decodeMeta(name string, b []byte) (Meta, error) {
	var m Meta
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			return Meta{ID: name}, fmt.Errorf("mesh: meta of %s: %w", name, err)
		}
	}
	m.ID = name
	return m, nil
}
