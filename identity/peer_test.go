package identity_test

import (
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
)

func TestIdentityIssueRoundTrip(t *testing.T) {
	ca := newCA(t)
	if ca.Cert.Subject.CommonName != "Ringside cluster CA" || !ca.Cert.IsCA {
		t.Errorf("CA %q, IsCA %v", ca.Cert.Subject.CommonName, ca.Cert.IsCA)
	}
	if life := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); life < identity.DefaultCATTL {
		t.Errorf("CA valid for %v", life)
	}
	tests := []struct {
		name      string
		roles     []string
		hosts     []string
		ttl       time.Duration
		wantRoles []string
		wantDNS   []string
		wantIPs   []string
		wantLife  time.Duration
	}{
		{"defaults", []string{"edge"}, nil, 0, []string{"edge"}, []string{"localhost"}, []string{"127.0.0.1", "::1"}, identity.DefaultNodeTTL},
		{"roles sorted and distinct", []string{"shield", "ingest", "shield"}, nil, time.Hour, []string{"ingest", "shield"}, []string{"localhost"}, []string{"127.0.0.1", "::1"}, time.Hour},
		{"hosts", []string{"control", "steer"}, []string{"10.0.0.7", "Edge-1.Example.net", "*.edge.example.net"}, 0,
			[]string{"control", "steer"}, []string{"edge-1.example.net", "*.edge.example.net"}, []string{"10.0.0.7"}, identity.DefaultNodeTTL},
		{"never past the CA", []string{"edge"}, nil, 20 * identity.DefaultCATTL, []string{"edge"}, []string{"localhost"}, []string{"127.0.0.1", "::1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := ca.Issue("edge-1", tt.roles, tt.ttl, tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			// The PEM is what peers see: parse it, not nc.Cert.
			pair, err := nc.TLSCertificate()
			if err != nil {
				t.Fatal(err)
			}
			c := pair.Leaf
			p, err := identity.FromCertificate(c)
			if err != nil || p.ID != "edge-1" || !slices.Equal(p.Roles, tt.wantRoles) {
				t.Errorf("FromCertificate = %v, %v; want edge-1 %v", p, err, tt.wantRoles)
			}
			if !slices.Equal(nc.Peer.Roles, p.Roles) {
				t.Errorf("NodeCert.Peer %v, parsed %v", nc.Peer, p)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(c.DNSNames, tt.wantDNS) || !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("SANs %v %v, want %v %v", c.DNSNames, ips, tt.wantDNS, tt.wantIPs)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
				t.Errorf("ExtKeyUsage %v", c.ExtKeyUsage)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("does not chain to the CA: %v", err)
			}
			life := c.NotAfter.Sub(time.Now())
			if tt.wantLife == 0 && !c.NotAfter.Equal(ca.Cert.NotAfter) ||
				tt.wantLife != 0 && (life > tt.wantLife || life < tt.wantLife-time.Minute) {
				t.Errorf("NotAfter %v (CA %v), want about now + %v", c.NotAfter, ca.Cert.NotAfter, tt.wantLife)
			}
		})
	}
}

func pool(ca *identity.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func TestIdentityIssueRejects(t *testing.T) {
	ca := newCA(t)
	tests := []struct {
		name  string
		id    string
		roles []string
		ttl   time.Duration
		hosts []string
		want  []string
	}{
		{"upper case id", "Edge-1", []string{"edge"}, 0, nil, []string{`node id "Edge-1"`}},
		{"id too long", strings.Repeat("a", 64), []string{"edge"}, 0, nil, []string{"node id"}},
		{"id with a dot", "edge.1", []string{"edge"}, 0, nil, []string{"node id"}},
		{"no role", "edge-1", nil, 0, nil, []string{"at least one role"}},
		{"unknown roles", "edge-1", []string{"edge", "janitor", "admin"}, 0, nil, []string{`"janitor"`, `"admin"`}},
		{"all at once", "-x", []string{"janitor"}, 0, nil, []string{"node id", `"janitor"`}},
		{"negative ttl", "edge-1", []string{"edge"}, -time.Hour, nil, []string{"negative"}},
		{"bad host", "edge-1", []string{"edge"}, 0, []string{"a b"}, []string{`host "a b"`}},
		{"empty label", "edge-1", []string{"edge"}, 0, []string{"a..b"}, []string{`host "a..b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.Issue(tt.id, tt.roles, tt.ttl, tt.hosts)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "identity: ") {
					t.Errorf("Issue = %v, want %q", err, w)
				}
			}
		})
	}
}

func TestIdentityFromCertificate(t *testing.T) {
	uris := func(ss ...string) []*url.URL {
		var out []*url.URL
		for _, s := range ss {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, u)
		}
		return out
	}
	tests := []struct {
		name string
		uris []*url.URL
		want identity.Peer // ID "" means an ErrBadCertificate with wantMsg
		msg  string
	}{
		{"node and roles", uris("urn:ringside:node:edge-1", "urn:ringside:role:shield", "urn:ringside:role:edge"),
			identity.Peer{ID: "edge-1", Roles: []string{"edge", "shield"}}, ""},
		{"no roles", uris("urn:ringside:node:edge-1"), identity.Peer{ID: "edge-1"}, ""},
		{"repeated role", uris("urn:ringside:role:edge", "urn:ringside:node:e", "urn:ringside:role:edge"),
			identity.Peer{ID: "e", Roles: []string{"edge"}}, ""},
		{"foreign URIs ignored", uris("spiffe://example.org/ns/live/edge", "urn:ringside:node:e", "https://example.org/"),
			identity.Peer{ID: "e"}, ""},
		{"no URIs", nil, identity.Peer{}, "no urn:ringside:node:<id> URI"},
		{"only a role", uris("urn:ringside:role:edge"), identity.Peer{}, "no urn:ringside:node"},
		{"two nodes", uris("urn:ringside:node:a", "urn:ringside:node:b"), identity.Peer{}, "2 node URIs"},
		{"same node twice", uris("urn:ringside:node:a", "urn:ringside:node:a"), identity.Peer{}, "2 node URIs"},
		{"unknown role", uris("urn:ringside:node:a", "urn:ringside:role:janitor"), identity.Peer{}, `unknown role "janitor"`},
		{"malformed id", uris("urn:ringside:node:A/b"), identity.Peer{}, "malformed node id"},
		{"empty id", uris("urn:ringside:node:"), identity.Peer{}, "malformed node id"},
		{"unknown kind", uris("urn:ringside:nodes:a", "urn:ringside:node:a"), identity.Peer{}, "unknown URI"},
		{"other case", uris("URN:Ringside:node:a", "urn:ringside:node:a"), identity.Peer{}, "unknown URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := identity.FromCertificate(&x509.Certificate{URIs: tt.uris, IPAddresses: []net.IP{net.IPv6loopback}})
			if tt.want.ID == "" {
				if !errors.Is(err, identity.ErrBadCertificate) || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("FromCertificate = %v, %v; want ErrBadCertificate with %q", p, err, tt.msg)
				}
				return
			}
			if err != nil || p.ID != tt.want.ID || !slices.Equal(p.Roles, tt.want.Roles) {
				t.Errorf("FromCertificate = %v, %v; want %v", p, err, tt.want)
			}
		})
	}
	if _, err := identity.FromCertificate(nil); !errors.Is(err, identity.ErrBadCertificate) {
		t.Errorf("FromCertificate(nil) = %v", err)
	}
}

func TestIdentityChecks(t *testing.T) {
	edge := identity.Peer{ID: "edge-1", Roles: []string{"edge", "steer"}}
	tests := []struct {
		name  string
		check func(identity.Peer) error
		ok    bool
	}{
		{"is", identity.Is("edge-1"), true},
		{"is not", identity.Is("edge-2"), false},
		{"has one", identity.HasAny("shield", "steer"), true},
		{"has none", identity.HasAny("shield", "ingest"), false},
		{"no roles asked", identity.HasAny(), false},
		{"all", identity.All(identity.Is("edge-1"), nil, identity.HasAny("edge")), true},
		{"all, one refuses", identity.All(identity.Is("edge-1"), identity.HasAny("control")), false},
		{"all of nothing", identity.All(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(edge)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, identity.ErrNotAllowed) {
				t.Errorf("check = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if !edge.HasRole("steer") || edge.HasRole("control") || edge.String() != "edge-1[edge,steer]" {
		t.Errorf("HasRole/String on %v", edge)
	}
}
