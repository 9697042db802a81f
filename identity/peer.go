package identity

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The URI SANs that carry a node's identity. A certificate names exactly one
// node (NodeURIPrefix + id) and any number of roles (RoleURIPrefix + role).
const (
	NodeURIPrefix = "urn:ringside:node:"
	RoleURIPrefix = "urn:ringside:role:"
	// ringsideURN is what both share: any other URI under it is an error,
	// so a typo cannot silently drop a role.
	ringsideURN = "urn:ringside:"
)

// The roles a node certificate may grant.
const (
	RoleIngest  = "ingest"
	RoleShield  = "shield"
	RoleEdge    = "edge"
	RoleControl = "control"
	RoleSteer   = "steer"
)

var knownRoles = []string{RoleIngest, RoleShield, RoleEdge, RoleControl, RoleSteer}

// idRE is the project's id syntax: ids are path elements and label values.
var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

var (
	// ErrBadCertificate: a certificate does not carry a valid Ringside node
	// identity (no node URI, two of them, a malformed id, an unknown role).
	ErrBadCertificate = errors.New("identity: not a Ringside node certificate")
	// ErrNotAllowed: a check (Is, HasAny, All) refused a peer.
	ErrNotAllowed = errors.New("identity: peer not allowed")
)

// ValidID reports whether id is a valid node id.
func ValidID(id string) bool { return idRE.MatchString(id) }

// ValidRole reports whether role is one of the roles a certificate may grant.
func ValidRole(role string) bool { return slices.Contains(knownRoles, role) }

// Roles returns the roles a certificate may grant.
func Roles() []string { return slices.Clone(knownRoles) }

// Peer is who is on the other end of a verified connection, as its
// certificate says. Roles are sorted and distinct.
type Peer struct {
	ID    string
	Roles []string
}

// HasRole reports whether the peer's certificate grants role.
func (p Peer) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// String is "id[role,role]", for logs and errors.
func (p Peer) String() string { return p.ID + "[" + strings.Join(p.Roles, ",") + "]" }

// FromCertificate reads the identity in a certificate's URI SANs: exactly
// one node URI and any roles. URIs outside urn:ringside: are ignored (an
// operator's own CA may add SPIFFE ids); one under it that is neither a
// valid node nor a known role is ErrBadCertificate. It does not verify the
// certificate: use it on a verified chain's leaf.
func FromCertificate(c *x509.Certificate) (Peer, error) {
	if c == nil {
		return Peer{}, fmt.Errorf("%w: no certificate", ErrBadCertificate)
	}
	var p Peer
	nodes := 0
	for _, u := range c.URIs {
		s := u.String()
		if len(s) < len(ringsideURN) || !strings.EqualFold(s[:len(ringsideURN)], ringsideURN) {
			continue
		}
		switch {
		case strings.HasPrefix(s, NodeURIPrefix):
			id := s[len(NodeURIPrefix):]
			if !ValidID(id) {
				return Peer{}, fmt.Errorf("%w: malformed node id %q", ErrBadCertificate, id)
			}
			p.ID = id
			nodes++
		case strings.HasPrefix(s, RoleURIPrefix):
			role := s[len(RoleURIPrefix):]
			if !ValidRole(role) {
				return Peer{}, fmt.Errorf("%w: unknown role %q", ErrBadCertificate, role)
			}
			if !slices.Contains(p.Roles, role) {
				p.Roles = append(p.Roles, role)
			}
		default:
			return Peer{}, fmt.Errorf("%w: unknown URI %q", ErrBadCertificate, s)
		}
	}
	switch {
	case nodes == 0:
		return Peer{}, fmt.Errorf("%w: no %s URI", ErrBadCertificate, NodeURIPrefix+"<id>")
	case nodes > 1:
		return Peer{}, fmt.Errorf("%w: %d node URIs", ErrBadCertificate, nodes)
	}
	slices.Sort(p.Roles)
	return p, nil
}

// FromConnState reads the peer's identity from a completed handshake (the
// leaf the peer presented; the chain was verified by the handshake when the
// connection uses ServerTLS or ClientTLS).
func FromConnState(cs tls.ConnectionState) (Peer, error) {
	if len(cs.PeerCertificates) == 0 {
		return Peer{}, fmt.Errorf("%w: the peer presented no certificate", ErrBadCertificate)
	}
	return FromCertificate(cs.PeerCertificates[0])
}

// Is admits only the node id.
func Is(id string) func(Peer) error {
	return func(p Peer) error {
		if p.ID != id {
			return fmt.Errorf("%w: peer is %q, want %q", ErrNotAllowed, p.ID, id)
		}
		return nil
	}
}

// HasAny admits a peer whose certificate grants at least one of roles.
func HasAny(roles ...string) func(Peer) error {
	roles = slices.Clone(roles)
	return func(p Peer) error {
		for _, r := range roles {
			if p.HasRole(r) {
				return nil
			}
		}
		return fmt.Errorf("%w: %s needs one of the roles %s", ErrNotAllowed, p, strings.Join(roles, ","))
	}
}

// All admits a peer every check admits (nil checks are skipped) and returns
// the first refusal.
func All(checks ...func(Peer) error) func(Peer) error {
	checks = slices.Clone(checks)
	return func(p Peer) error {
		for _, c := range checks {
			if c == nil {
				continue
			}
			if err := c(p); err != nil {
				return err
			}
		}
		return nil
	}
}
