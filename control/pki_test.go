package control

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
)

// A throwaway cluster PKI from package identity (the node's own): a node
// certificate names its node (urn:ringside:node:<id>) and its roles
// (urn:ringside:role:<role>) in URI SANs, and Raft admits only the control
// role.

const (
	testRoleControl = identity.RoleControl
	testRoleEdge    = identity.RoleEdge
)

// hasRole reports whether c is a node certificate carrying role.
func hasRole(c *x509.Certificate, role string) bool {
	p, err := identity.FromCertificate(c)
	return err == nil && p.HasRole(role)
}

type testCA struct {
	ca   *identity.CA
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	ca, err := identity.NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &testCA{ca: ca, pool: pool}
}

// issue returns a certificate for node id with roles, signed by ca; a nil
// ca makes it self-signed (the leaf signs itself).
func (ca *testCA) issue(t testing.TB, id string, roles ...string) tls.Certificate {
	t.Helper()
	if ca == nil {
		return selfSigned(t, id, roles...)
	}
	nc, err := ca.ca.Issue(id, roles, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert.Leaf = nc.Cert
	return cert
}

// selfSigned is a node certificate with the right URI SANs that no CA
// signed: its own template is its parent.
func selfSigned(t testing.TB, id string, roles ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: id},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{{Scheme: "urn", Opaque: "ringside:node:" + id}}}
	for _, r := range roles {
		tmpl.URIs = append(tmpl.URIs, &url.URL{Scheme: "urn", Opaque: "ringside:role:" + r})
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// transportTLS is what the node will build from its identity: the server
// verifies client certificates against ca and, when checkRole, admits
// only the control role; the client verifies the server's chain against
// ca and its control role (the certificates carry no IP SANs, so that is
// done in VerifyConnection).
func (ca *testCA) transportTLS(t testing.TB, id string, checkRole bool, roles ...string) *TransportTLS {
	cert := ca.issue(t, id, roles...)
	srv := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: ca.pool, MinVersion: tls.VersionTLS13}
	if checkRole {
		srv.VerifyConnection = requireRole(testRoleControl)
	}
	return &TransportTLS{Server: srv, Client: ca.clientConfig(cert)}
}

// clientConfig presents cert and admits only a control server of ca.
func (ca *testCA) clientConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13,
		InsecureSkipVerify: true, // no IP SANs: verified below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: ca.pool, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return err
			}
			return requireRole(testRoleControl)(cs)
		},
	}
}

// requireRole is a VerifyConnection admitting only a peer whose (already
// verified) certificate carries role.
func requireRole(role string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 || !hasRole(cs.PeerCertificates[0], role) {
			return fmt.Errorf("peer lacks the %s role", role)
		}
		return nil
	}
}
