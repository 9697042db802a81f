package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
)

// TestIdentityBringYourOwnCA: an operator's RSA root and ECDSA intermediate
// (SEC 1 key) in ca.pem; LoadCA and Issue work with them, the node files
// carry the intermediate, and nodes trusting only the root talk mTLS.
func TestIdentityBringYourOwnCA(t *testing.T) {
	rootDER, interDER, secDER := operatorCA(t)
	pki := t.TempDir()
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	writeAll(t, map[string][]byte{
		filepath.Join(pki, "ca.pem"):     append(block("CERTIFICATE", interDER), block("CERTIFICATE", rootDER)...),
		filepath.Join(pki, "ca-key.pem"): block("EC PRIVATE KEY", secDER),
		filepath.Join(pki, "root.pem"):   block("CERTIFICATE", rootDER),
	})
	ca, err := identity.LoadCA(pki)
	if err != nil {
		t.Fatal(err)
	}
	load := func(id, role string) *identity.Source {
		nc := issue(t, ca, id, role)
		certPath, keyPath, err := nc.WriteFiles(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return loadSource(t, identity.Files{Cert: certPath, Key: keyPath, CA: filepath.Join(pki, "root.pem")}, id)
	}
	srv, edge := load("shield-1", identity.RoleShield), load("edge-1", identity.RoleEdge)
	s := startServer(t, srv.ServerTLS(identity.HasAny(identity.RoleEdge)))
	conn, err := dial(s.addr, edge.ClientTLS(identity.Is("shield-1")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := s.handshakeErr(t); err != nil {
		t.Fatal(err)
	}
	if chain := conn.ConnectionState().PeerCertificates; len(chain) != 2 || !chain[1].Equal(mustParse(t, interDER)) {
		t.Errorf("the server sent %d certificates, want the leaf and the intermediate", len(chain))
	}
}

// operatorCA is an RSA root and an ECDSA intermediate it signed, with the
// intermediate's key in SEC 1 form: DER, as an operator's PKI hands them out.
func operatorCA(t *testing.T) (rootDER, interDER, interKeyDER []byte) {
	t.Helper()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Operator root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootDER, err = x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	interTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Operator Ringside issuing CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	interDER, err = x509.CreateCertificate(rand.Reader, interTmpl, root, interKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	interKeyDER, err = x509.MarshalECPrivateKey(interKey)
	if err != nil {
		t.Fatal(err)
	}
	return rootDER, interDER, interKeyDER
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeAll(t *testing.T, files map[string][]byte) {
	t.Helper()
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
