package identity_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
)

// Error matchers for the tables below.
func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func invalid(reason x509.InvalidReason) func(error) bool {
	return func(err error) bool {
		var ce x509.CertificateInvalidError
		return errors.As(err, &ce) && ce.Reason == reason
	}
}

func unknownAuthority(err error) bool {
	var ue x509.UnknownAuthorityError
	return errors.As(err, &ue)
}

// badCerts are presented by the other side in both directions; each must
// fail the handshake with the error its matcher accepts.
func badCerts(t *testing.T, ca *identity.CA) []struct {
	name string
	cert tls.Certificate
	want func(error) bool
} {
	other := newCA(t)
	past := *ca
	past.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	expired, err := past.Issue("rogue", []string{identity.RoleEdge, identity.RoleShield}, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	expiredCert, err := expired.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	otherCert, err := issue(t, other, "rogue", identity.RoleEdge, identity.RoleShield).TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	roleOnly := func(c *x509.Certificate) { c.URIs = c.URIs[1:] }
	janitor := func(c *x509.Certificate) {
		c.URIs = append(c.URIs, mustURL(t, identity.RoleURIPrefix+"janitor"))
	}
	return []struct {
		name string
		cert tls.Certificate
		want func(error) bool
	}{
		{"another CA", otherCert, unknownAuthority},
		{"expired", expiredCert, invalid(x509.Expired)},
		{"no node URI", signLeaf(t, ca, roleOnly), is(identity.ErrBadCertificate)},
		{"two node URIs", signLeaf(t, ca, func(c *x509.Certificate) {
			c.URIs = append(c.URIs, &url.URL{Scheme: "urn", Opaque: "ringside:node:other"})
		}), is(identity.ErrBadCertificate)},
		{"unknown role", signLeaf(t, ca, janitor), is(identity.ErrBadCertificate)},
	}
}

func TestIdentityServerRefusesClient(t *testing.T) {
	ca := newCA(t)
	srv := node(t, ca, "shield-1", identity.RoleShield)
	edge := node(t, ca, "edge-1", identity.RoleEdge)
	serverOnly := signLeaf(t, ca, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	raw := func(c tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{c}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	}
	tests := []struct {
		name      string
		authorize func(identity.Peer) error
		client    *tls.Config
		want      func(error) bool // nil: admitted
	}{
		{"member", identity.HasAny(identity.RoleEdge), edge.ClientTLS(nil), nil},
		{"anyone from the CA", nil, edge.ClientTLS(nil), nil},
		{"wrong id", identity.Is("edge-2"), edge.ClientTLS(nil), is(identity.ErrNotAllowed)},
		{"wrong role", identity.HasAny(identity.RoleShield, identity.RoleIngest), edge.ClientTLS(nil), is(identity.ErrNotAllowed)},
		{"all, one refuses", identity.All(identity.Is("edge-1"), identity.HasAny(identity.RoleControl)), edge.ClientTLS(nil), is(identity.ErrNotAllowed)},
		{"server auth only", nil, raw(serverOnly), invalid(x509.IncompatibleUsage)},
		{"no certificate", nil, &tls.Config{InsecureSkipVerify: true}, func(err error) bool { return err != nil }},
	}
	for _, bc := range badCerts(t, ca) {
		tests = append(tests, struct {
			name      string
			authorize func(identity.Peer) error
			client    *tls.Config
			want      func(error) bool
		}{bc.name, nil, raw(bc.cert), bc.want})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make(chan identity.Peer, 1)
			authorize := func(p identity.Peer) error {
				seen <- p
				if tt.authorize == nil {
					return nil
				}
				return tt.authorize(p)
			}
			s := startServer(t, srv.ServerTLS(authorize))
			conn, cerr := dial(s.addr, tt.client)
			serr := s.handshakeErr(t)
			if tt.want == nil {
				if cerr != nil || serr != nil {
					t.Fatalf("refused: client %v, server %v", cerr, serr)
				}
				conn.Close()
				if p := <-seen; p.ID != "edge-1" || !slices.Equal(p.Roles, []string{identity.RoleEdge}) {
					t.Errorf("authorize saw %v", p)
				}
				return
			}
			if cerr == nil {
				conn.Close()
				t.Fatal("the client was not refused")
			}
			if !tt.want(serr) {
				t.Errorf("server error %v (%T): not the expected kind", serr, serr)
			}
		})
	}
}

func TestIdentityClientRefusesServer(t *testing.T) {
	ca := newCA(t)
	srv := node(t, ca, "shield-1", identity.RoleShield)
	edge := node(t, ca, "edge-1", identity.RoleEdge)
	clientOnly := signLeaf(t, ca, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} })
	raw := func(c tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{c}, ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS13}
	}
	tests := []struct {
		name   string
		server *tls.Config
		expect func(identity.Peer) error
		want   func(error) bool // nil: accepted
	}{
		{"member", srv.ServerTLS(nil), identity.All(identity.Is("shield-1"), identity.HasAny(identity.RoleShield)), nil},
		{"anyone from the CA", srv.ServerTLS(nil), nil, nil},
		{"wrong id", srv.ServerTLS(nil), identity.Is("shield-2"), is(identity.ErrNotAllowed)},
		{"wrong role", srv.ServerTLS(nil), identity.HasAny(identity.RoleControl), is(identity.ErrNotAllowed)},
		{"client auth only", raw(clientOnly), nil, invalid(x509.IncompatibleUsage)},
	}
	for _, bc := range badCerts(t, ca) {
		tests = append(tests, struct {
			name   string
			server *tls.Config
			expect func(identity.Peer) error
			want   func(error) bool
		}{bc.name, raw(bc.cert), nil, bc.want})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.server)
			conn, cerr := dial(s.addr, edge.ClientTLS(tt.expect))
			serr := s.handshakeErr(t)
			if tt.want == nil {
				if cerr != nil || serr != nil {
					t.Fatalf("refused: client %v, server %v", cerr, serr)
				}
				defer conn.Close()
				p, err := identity.FromConnState(conn.ConnectionState())
				if err != nil || p.ID != "shield-1" {
					t.Errorf("server peer %v, %v", p, err)
				}
				return
			}
			if cerr == nil {
				conn.Close()
				t.Fatal("the client accepted the server")
			}
			if !tt.want(cerr) {
				t.Errorf("client error %v (%T): not the expected kind", cerr, cerr)
			}
			if serr == nil {
				t.Error("the server completed a handshake the client refused")
			}
		})
	}
}

// TestIdentityClientDialsByIP: the server's certificate need not name the
// address dialed; the identity in its URI SANs is what is checked.
func TestIdentityClientDialsByIP(t *testing.T) {
	ca := newCA(t)
	nc, err := ca.Issue("shield-1", []string{identity.RoleShield}, 0, []string{"shield-1.internal"})
	if err != nil {
		t.Fatal(err)
	}
	srv := loadSource(t, writeNode(t, t.TempDir(), ca, nc), "shield-1")
	edge := node(t, ca, "edge-1", identity.RoleEdge)
	s := startServer(t, srv.ServerTLS(identity.HasAny(identity.RoleEdge)))
	conn, err := dial(s.addr, edge.ClientTLS(identity.Is("shield-1")))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := s.handshakeErr(t); err != nil {
		t.Fatal(err)
	}
}
