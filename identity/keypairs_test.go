package identity_test

import (
	"crypto/tls"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
)

// httpsPair issues a certificate for hosts and writes it into dir as name.
func httpsPair(t *testing.T, ca *identity.CA, dir, name string, hosts ...string) identity.KeyPairFiles {
	t.Helper()
	nc, err := ca.Issue(name, []string{identity.RoleEdge}, 0, hosts)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := nc.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return identity.KeyPairFiles{Cert: cert, Key: key}
}

func loadPairs(t *testing.T, pairs ...identity.KeyPairFiles) *identity.KeyPairs {
	t.Helper()
	k, err := identity.LoadKeyPairs(pairs, identity.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// presentedName dials with cfg and returns the first DNS name of the
// certificate the server presented ("" if the handshake failed).
func presentedName(t *testing.T, s *server, cfg *tls.Config) (string, error) {
	t.Helper()
	conn, err := dial(s.addr, cfg)
	serr := s.handshakeErr(t)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if serr != nil {
		t.Fatalf("server: %v", serr)
	}
	return conn.ConnectionState().PeerCertificates[0].DNSNames[0], nil
}

func TestIdentityKeyPairsSNI(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	k := loadPairs(t,
		httpsPair(t, ca, dir, "default", "live.example"),
		httpsPair(t, ca, dir, "a", "a.example"),
		httpsPair(t, ca, dir, "b", "*.b.example"),
	)
	s := startServer(t, k.TLSConfig())
	tests := []struct{ sni, want string }{
		{"a.example", "a.example"},
		{"x.b.example", "*.b.example"},
		{"live.example", "live.example"},
		{"unknown.example", "live.example"},
		{"", "live.example"},
	}
	for _, tt := range tests {
		t.Run(tt.sni, func(t *testing.T) {
			cfg := &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true}
			if got, err := presentedName(t, s, cfg); err != nil || got != tt.want {
				t.Errorf("SNI %q: presented %q, %v; want %q", tt.sni, got, err, tt.want)
			}
		})
	}
}

func TestIdentityKeyPairsModernOnly(t *testing.T) {
	ca := newCA(t)
	k := loadPairs(t, httpsPair(t, ca, t.TempDir(), "a", "a.example"))
	s := startServer(t, k.TLSConfig())
	tests := []struct {
		name   string
		min    uint16
		max    uint16
		suites []uint16
		ok     bool
	}{
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, nil, true},
		{"TLS 1.2 AES-GCM", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
		{"TLS 1.2 ChaCha20", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		{"TLS 1.2 CBC", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, false},
		{"TLS 1.1", tls.VersionTLS10, tls.VersionTLS11, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{ServerName: "a.example", RootCAs: pool(ca), MinVersion: tt.min, MaxVersion: tt.max, CipherSuites: tt.suites}
			_, err := presentedName(t, s, cfg)
			if tt.ok != (err == nil) {
				t.Errorf("handshake: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestIdentityKeyPairsTicketKeys: an edge resumes a session another edge
// started when it holds the key that encrypted the ticket, even as a
// previous key (rotation); an edge without it does not.
func TestIdentityKeyPairsTicketKeys(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	pair := httpsPair(t, ca, dir, "a", "a.example")
	shared := [][32]byte{{1, 2, 3}, {4, 5, 6}}
	edge := func(keys [][32]byte) *server {
		k := loadPairs(t, pair)
		if err := k.SetTicketKeys(keys); err != nil {
			t.Fatal(err)
		}
		return startServer(t, k.TLSConfig())
	}
	e1, e2, stranger := edge(shared), edge([][32]byte{{7, 8, 9}, shared[0]}), edge([][32]byte{shared[1]})
	if err := loadPairs(t, pair).SetTicketKeys(nil); err == nil {
		t.Error("SetTicketKeys(nil) accepted")
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cfg := &tls.Config{ServerName: "a.example", RootCAs: pool(ca), MaxVersion: version,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			resumed := func(s *server) bool {
				conn, err := dial(s.addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if err := s.handshakeErr(t); err != nil {
					t.Fatal(err)
				}
				return conn.ConnectionState().DidResume
			}
			if resumed(e1) {
				t.Fatal("the first connection resumed")
			}
			if !resumed(e2) {
				t.Error("an edge sharing the ticket keys did not resume")
			}
			if resumed(stranger) {
				t.Error("an edge with other keys resumed")
			}
		})
	}
}

func TestIdentityKeyPairsReload(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	pair := httpsPair(t, ca, dir, "a", "a.example")
	k := loadPairs(t, pair)
	s := startServer(t, k.TLSConfig())
	cfg := &tls.Config{ServerName: "a.example", InsecureSkipVerify: true}

	// Same file names, new names inside.
	next, err := ca.Issue("a", []string{identity.RoleEdge}, 72*time.Hour, []string{"new.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := next.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, _ := presentedName(t, s, cfg); got != "new.example" {
		t.Errorf("after reload: %q", got)
	}
	if !k.NotAfter().Equal(next.Cert.NotAfter) {
		t.Errorf("NotAfter %v, want %v", k.NotAfter(), next.Cert.NotAfter)
	}
	if err := os.WriteFile(pair.Key, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err == nil || !strings.HasPrefix(err.Error(), "identity: ") {
		t.Errorf("bad reload = %v", err)
	}
	if got, _ := presentedName(t, s, cfg); got != "new.example" {
		t.Errorf("after a bad reload: %q", got)
	}
	if _, err := identity.LoadKeyPairs(nil, identity.Deps{}); err == nil {
		t.Error("LoadKeyPairs(nil) accepted")
	}
}
