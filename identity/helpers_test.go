package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
)

// ioTimeout bounds every test connection: a hung handshake fails the test
// instead of hanging it.
const ioTimeout = 10 * time.Second

func newCA(t testing.TB) *identity.CA {
	t.Helper()
	ca, err := identity.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t testing.TB, ca *identity.CA, id string, roles ...string) *identity.NodeCert {
	t.Helper()
	nc, err := ca.Issue(id, roles, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// writeNode writes ca's certificate and nc's pair into dir.
func writeNode(t testing.TB, dir string, ca *identity.CA, nc *identity.NodeCert) identity.Files {
	t.Helper()
	caPath, _, err := ca.WriteFiles(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := nc.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return identity.Files{Cert: certPath, Key: keyPath, CA: caPath}
}

func loadSource(t testing.TB, files identity.Files, id string) *identity.Source {
	t.Helper()
	cfg := identity.DefaultConfig()
	cfg.NodeID, cfg.Files = id, files
	s, err := identity.LoadSource(cfg, identity.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// node issues a certificate for id and loads a Source over it, in its own
// directory.
func node(t testing.TB, ca *identity.CA, id string, roles ...string) *identity.Source {
	t.Helper()
	return loadSource(t, writeNode(t, t.TempDir(), ca, issue(t, ca, id, roles...)), id)
}

// signLeaf signs a certificate the way Issue would (node "rogue", role
// edge, both usages, valid now), after mutate has changed its template: the
// certificates Issue refuses to make.
func signLeaf(t testing.TB, ca *identity.CA, mutate func(*x509.Certificate)) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "rogue"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{mustURL(t, identity.NodeURIPrefix+"rogue"), mustURL(t, identity.RoleURIPrefix+"edge")},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if mutate != nil {
		mutate(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// server accepts TLS connections on 127.0.0.1 with cfg, reports each
// handshake's outcome on errs and echoes what it reads.
type server struct {
	addr string
	errs chan error
}

func startServer(t testing.TB, cfg *tls.Config) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &server{addr: ln.Addr().String(), errs: make(chan error, 100)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *server) serve(c net.Conn, cfg *tls.Config) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Server(c, cfg)
	err := tc.Handshake()
	s.errs <- err
	if err == nil {
		io.Copy(tc, tc)
	}
}

// handshakeErr waits for the outcome of the server's next handshake.
func (s *server) handshakeErr(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.errs:
		return err
	case <-time.After(ioTimeout):
		t.Fatal("the server saw no handshake")
		return nil
	}
}

// dial connects with cfg and makes one echo round trip, which in TLS 1.3 is
// what tells a client that the server accepted its certificate.
func dial(addr string, cfg *tls.Config) (*tls.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	if err := echo(tc); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// echo writes a byte and reads it back.
func echo(c *tls.Conn) error {
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		return err
	}
	if b[0] != 'x' {
		return errors.New("echo: wrong byte")
	}
	return nil
}

func fileMode(t testing.TB, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func join(dir, name string) string { return filepath.Join(dir, name) }
