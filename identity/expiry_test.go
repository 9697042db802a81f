package identity

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestIdentityExpiryWarning(t *testing.T) {
	ca, err := NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caPath, _, err := ca.WriteFiles(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ca.Issue("edge-1", []string{RoleEdge}, 30*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := nc.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	now := time.Now()
	cfg := DefaultConfig()
	cfg.Files = Files{Cert: certPath, Key: keyPath, CA: caPath}
	s, err := LoadSource(cfg, Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	notAfter := nc.Cert.NotAfter
	steps := []struct {
		name  string
		now   time.Time
		total int // warnings logged so far
	}{
		{"a month left", notAfter.Add(-30 * 24 * time.Hour), 0},
		{"15 days left", notAfter.Add(-15 * 24 * time.Hour), 0},
		{"13 days left", notAfter.Add(-13 * 24 * time.Hour), 1},
		{"an hour later", notAfter.Add(-13*24*time.Hour + time.Hour), 1},
		{"a day later", notAfter.Add(-12 * 24 * time.Hour), 2},
		{"again that day", notAfter.Add(-12*24*time.Hour + 23*time.Hour), 2},
		{"expired", notAfter.Add(time.Hour), 3},
	}
	for _, st := range steps {
		now = st.now
		s.w.warnExpiry()
		if got := strings.Count(logs.String(), "TLS certificate expires soon"); got != st.total {
			t.Fatalf("%s: %d warnings, want %d:\n%s", st.name, got, st.total, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "cert="+certPath) || strings.Contains(logs.String(), "node=") {
		t.Errorf("log lines: %s", logs.String())
	}
}
