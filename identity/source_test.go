package identity_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

// presented dials s and returns the serial number of the certificate the
// server presented.
func presented(t *testing.T, s *server, client *identity.Source) string {
	t.Helper()
	conn, err := dial(s.addr, client.ClientTLS(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := s.handshakeErr(t); err != nil {
		t.Fatal(err)
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestIdentityReload(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	first := issue(t, ca, "shield-1", identity.RoleShield)
	srv := loadSource(t, writeNode(t, dir, ca, first), "shield-1")
	edge := node(t, ca, "edge-1", identity.RoleEdge)
	s := startServer(t, srv.ServerTLS(nil))

	before, err := dial(s.addr, edge.ClientTLS(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if err := s.handshakeErr(t); err != nil {
		t.Fatal(err)
	}

	second, err := ca.Issue("shield-1", []string{identity.RoleShield, identity.RoleIngest}, 48*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := second.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, want := presented(t, s, edge), second.Cert.SerialNumber.String(); got != want {
		t.Errorf("after reload the server presents %s, want %s", got, want)
	}
	if !srv.NotAfter().Equal(second.Cert.NotAfter) || !srv.Peer().HasRole(identity.RoleIngest) {
		t.Errorf("NotAfter %v, Peer %v: not the new certificate's", srv.NotAfter(), srv.Peer())
	}
	if err := echo(before); err != nil {
		t.Errorf("the connection opened before the reload broke: %v", err)
	}
	if got := before.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(first.Cert.SerialNumber) != 0 {
		t.Errorf("the old connection's certificate changed")
	}
}

func TestIdentityBadReloadKeepsCertificate(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	expiredCA := *ca
	expiredCA.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	expired, err := expiredCA.Issue("shield-1", []string{identity.RoleShield}, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := issue(t, ca, "shield-1", identity.RoleShield)
	tests := []struct {
		name string
		pair *identity.NodeCert // replaces the certificate and key
		cert []byte             // replaces the certificate only
		ca   []byte             // replaces the bundle
		want string
	}{
		{"garbage certificate", nil, []byte("not a certificate"), nil, "failed to find any PEM data"},
		{"key of another certificate", nil, issue(t, ca, "shield-1", identity.RoleShield).CertPEM, nil, "private key does not match"},
		{"another node's certificate", issue(t, ca, "shield-2", identity.RoleShield), nil, nil, `for node "shield-2", not "shield-1"`},
		{"another CA's certificate", issue(t, other, "shield-1", identity.RoleShield), nil, nil, "unknown authority"},
		{"expired certificate", expired, nil, nil, "expired"},
		{"bundle without a CA", nil, nil, good.CertPEM, "not a CA certificate"},
		{"empty bundle", nil, nil, []byte{}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := writeNode(t, t.TempDir(), ca, good)
			srv := loadSource(t, files, "shield-1")
			writes := map[string][]byte{files.Cert: tt.cert, files.CA: tt.ca}
			if tt.pair != nil {
				writes[files.Cert], writes[files.Key] = tt.pair.CertPEM, tt.pair.KeyPEM
			}
			for path, data := range writes {
				if data != nil {
					if err := os.WriteFile(path, data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := srv.Reload()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "identity: ") {
				t.Fatalf("Reload = %v, want an identity error with %q", err, tt.want)
			}
			if !srv.NotAfter().Equal(good.Cert.NotAfter) {
				t.Errorf("NotAfter changed to %v", srv.NotAfter())
			}
			s := startServer(t, srv.ServerTLS(nil))
			if got := presented(t, s, node(t, ca, "edge-1", identity.RoleEdge)); got != good.Cert.SerialNumber.String() {
				t.Errorf("the server presents %s, not the old certificate", got)
			}
		})
	}
}

// TestIdentityPollReload: Run notices new files without being told, logs
// a replacement it refuses (another node's: with no NodeID set, the first
// certificate's id is pinned), and loads the next good one.
func TestIdentityPollReload(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	files := writeNode(t, dir, ca, issue(t, ca, "edge-1", identity.RoleEdge))
	cfg := identity.DefaultConfig()
	cfg.Files, cfg.ReloadEvery = files, time.Millisecond
	var logs syncbuf.Buffer
	src, err := identity.LoadSource(cfg, identity.Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if src.Peer().ID != "edge-1" {
		t.Fatalf("Peer = %v", src.Peer())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()

	before := src.NotAfter()
	other := issue(t, ca, "edge-2", identity.RoleEdge)
	for path, data := range map[string][]byte{files.Key: other.KeyPEM, files.Cert: other.CertPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "the refusal is logged", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), `for node \"edge-2\", not \"edge-1\"`)
	})
	if !src.NotAfter().Equal(before) || src.Peer().ID != "edge-1" {
		t.Fatalf("another node's certificate was loaded: %v", src.Peer())
	}

	next, err := ca.Issue("edge-1", []string{identity.RoleEdge}, 24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := next.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	// The new certificate is in use before its reload is logged: wait for both.
	poll.Until(t, "the new certificate is loaded and logged", 10*time.Second, func() bool {
		return src.NotAfter().Equal(next.Cert.NotAfter) && strings.Contains(logs.String(), "TLS certificate reloaded")
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestIdentityLoadSourceRejects(t *testing.T) {
	ca := newCA(t)
	files := writeNode(t, t.TempDir(), ca, issue(t, ca, "edge-1", identity.RoleEdge))
	tests := []struct {
		name string
		cfg  func(*identity.Config)
		want []string
	}{
		{"everything missing", func(c *identity.Config) { *c = identity.Config{NodeID: "Edge 1", ExpiryWarning: -1} },
			[]string{"node id", "cert: a file is required", "key: a file", "ca: a file", "reload_every", "expiry_warning"}},
		{"no such file", func(c *identity.Config) { c.Files.CA += ".missing" }, []string{"no such file"}},
		{"another node", func(c *identity.Config) { c.NodeID = "edge-2" }, []string{`not "edge-2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := identity.DefaultConfig()
			cfg.Files = files
			tt.cfg(&cfg)
			_, err := identity.LoadSource(cfg, identity.Deps{})
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("LoadSource = %v, want %q", err, w)
				}
			}
		})
	}
}

// TestIdentityCARotation walks a CA rotation: a node of the new CA is
// refused until the bundle holds both CAs, and a bundle without the old CA
// refuses its nodes at the next handshake.
func TestIdentityCARotation(t *testing.T) {
	oldCA, newCA := newCA(t), newCA(t)
	files := writeNode(t, t.TempDir(), oldCA, issue(t, oldCA, "shield-1", identity.RoleShield))
	srv := loadSource(t, files, "shield-1")
	s := startServer(t, srv.ServerTLS(nil))
	both := append(oldCA.CertPEM(), newCA.CertPEM()...)
	oldNode := node(t, oldCA, "edge-1", identity.RoleEdge)
	newFiles := writeNode(t, t.TempDir(), newCA, issue(t, newCA, "edge-2", identity.RoleEdge))
	if err := os.WriteFile(newFiles.CA, both, 0o644); err != nil {
		t.Fatal(err)
	}
	newNode := loadSource(t, newFiles, "edge-2")
	renewed := issue(t, newCA, "shield-1", identity.RoleShield)
	steps := []struct {
		name   string
		bundle []byte             // the server's next bundle; nil keeps it
		pair   *identity.NodeCert // the server's next certificate; nil keeps it
		client *identity.Source
		ok     bool
	}{
		{"old node, old bundle", nil, nil, oldNode, true},
		{"new node, old bundle", nil, nil, newNode, false},
		{"new node, both", both, nil, newNode, true},
		{"old node, both", nil, nil, oldNode, true},
		{"server renewed by the new CA", nil, renewed, oldNode, false}, // oldNode trusts only the old CA
		{"new node, server renewed", nil, nil, newNode, true},
		{"old node, new bundle", newCA.CertPEM(), nil, oldNode, false},
		{"new node, new bundle", nil, nil, newNode, true},
	}
	for _, st := range steps {
		if st.pair != nil {
			if _, _, err := st.pair.WriteFiles(filepath.Dir(files.Cert)); err != nil {
				t.Fatal(err)
			}
		}
		if st.bundle != nil {
			if err := os.WriteFile(files.CA, st.bundle, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if st.pair != nil || st.bundle != nil {
			if err := srv.Reload(); err != nil {
				t.Fatal(err)
			}
		}
		conn, err := dial(s.addr, st.client.ClientTLS(identity.Is("shield-1")))
		serr := s.handshakeErr(t)
		if st.ok != (err == nil && serr == nil) {
			t.Errorf("%s: client %v, server %v; want ok=%v", st.name, err, serr, st.ok)
		}
		if conn != nil {
			conn.Close()
		}
	}
}
