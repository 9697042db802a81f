package identity_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/identity"
)

func TestCAFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca := newCA(t)
	certPath, keyPath, err := ca.WriteFiles(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(certPath) != "ca.pem" || filepath.Base(keyPath) != "ca-key.pem" {
		t.Errorf("wrote %s, %s", certPath, keyPath)
	}
	nc := issue(t, ca, "edge-1", identity.RoleEdge)
	ncCert, ncKey, err := nc.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(ncCert) != "edge-1.pem" || filepath.Base(ncKey) != "edge-1-key.pem" {
		t.Errorf("wrote %s, %s", ncCert, ncKey)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, certPath: 0o644, keyPath: 0o600, ncCert: 0o644, ncKey: 0o600} {
		if got := fileMode(t, path); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d files in %s, want 4 (no temporary files left)", len(entries), dir)
	}

	// A second CA is refused unless forced.
	again := newCA(t)
	if _, _, err := again.WriteFiles(dir, false); !errors.Is(err, fs.ErrExist) || !strings.HasPrefix(err.Error(), "identity: ") {
		t.Errorf("WriteFiles over a CA = %v, want fs.ErrExist", err)
	}
	loaded, err := identity.LoadCA(dir)
	if err != nil || !loaded.Cert.Equal(ca.Cert) {
		t.Fatalf("LoadCA = %v: not the first CA", err)
	}
	// The loaded CA issues certificates the first one's nodes trust.
	files := identity.Files{Cert: ncCert, Key: ncKey, CA: certPath}
	src := loadSource(t, files, "edge-1")
	other := loadSource(t, writeNode(t, t.TempDir(), loaded, issue(t, loaded, "shield-1", identity.RoleShield)), "shield-1")
	s := startServer(t, other.ServerTLS(identity.HasAny(identity.RoleEdge)))
	if conn, err := dial(s.addr, src.ClientTLS(identity.Is("shield-1"))); err != nil {
		t.Errorf("a node of the loaded CA: %v", err)
	} else {
		conn.Close()
	}

	if _, _, err := again.WriteFiles(dir, true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if loaded, err := identity.LoadCA(dir); err != nil || !loaded.Cert.Equal(again.Cert) {
		t.Errorf("after force LoadCA = %v: not the new CA", err)
	}
	if fileMode(t, keyPath) != 0o600 {
		t.Errorf("forced key mode %o", fileMode(t, keyPath))
	}
}

func TestCALoadRejects(t *testing.T) {
	a, b := newCA(t), newCA(t)
	tests := []struct {
		name  string
		write func(dir string)
		want  string
	}{
		{"missing", func(string) {}, "no such file"},
		{"key of another CA", func(dir string) {
			a.WriteFiles(dir, true)
			other := t.TempDir()
			b.WriteFiles(other, true)
			copyFile(t, filepath.Join(other, "ca-key.pem"), filepath.Join(dir, "ca-key.pem"))
		}, "does not match"},
		{"a node certificate", func(dir string) {
			nc := issue(t, a, "edge-1", identity.RoleEdge)
			os.WriteFile(filepath.Join(dir, "ca.pem"), nc.CertPEM, 0o644)
			os.WriteFile(filepath.Join(dir, "ca-key.pem"), nc.KeyPEM, 0o600)
		}, "not a CA certificate"},
		{"no key", func(dir string) {
			a.WriteFiles(dir, true)
			os.WriteFile(filepath.Join(dir, "ca-key.pem"), a.CertPEM(), 0o600)
		}, "no PEM private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.write(dir)
			_, err := identity.LoadCA(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadCA = %v, want %q", err, tt.want)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
