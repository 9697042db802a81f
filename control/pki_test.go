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
	"slices"
	"testing"
	"time"
)

// A throwaway cluster PKI, standing in for package identity: a node
// certificate names its node (urn:ringside:node:<id>) and its roles
// (urn:ringside:role:<role>) in URI SANs, and Raft admits only the control
// role.

const (
	testRoleControl = "control"
	testRoleEdge    = "edge"
)

func nodeURI(id string) *url.URL   { return &url.URL{Scheme: "urn", Opaque: "ringside:node:" + id} }
func roleURI(role string) *url.URL { return &url.URL{Scheme: "urn", Opaque: "ringside:role:" + role} }
func hasRole(c *x509.Certificate, role string) bool {
	return slices.ContainsFunc(c.URIs, func(u *url.URL) bool { return u.String() == roleURI(role).String() })
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "ringside test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for node id with roles, signed by ca; a nil
// ca makes it self-signed.
func (ca *testCA) issue(t testing.TB, id string, roles ...string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: id},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{nodeURI(id)},
	}
	for _, r := range roles {
		tmpl.URIs = append(tmpl.URIs, roleURI(r))
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
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

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
