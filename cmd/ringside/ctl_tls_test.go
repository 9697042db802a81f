package main

import (
	"crypto/tls"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

// newTLSFakeNode is f's admin API behind an https listener whose
// certificate a fresh cluster CA issued; caFile is that CA's PEM.
func newTLSFakeNode(t *testing.T, f *fakeNode) (url, caFile string) {
	t.Helper()
	ca, err := identity.NewCA(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ca.Issue("self", []string{"edge"}, time.Hour, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f.Config.Handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, caFile
}

// TestCtlCA: an https address is verified against --ca (or RINGSIDE_CA);
// without it the system roots do not know the cluster CA.
func TestCtlCA(t *testing.T) {
	f := newFakeNode(t)
	url, caFile := newTLSFakeNode(t, f)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("not https: %s", url)
	}
	code, out, errs, _ := ctlAgainst(t, "--addr", url, "--token", fakeToken, "--ca", caFile, "nodes", "list")
	if code != 0 || !strings.Contains(out, "self") {
		t.Fatalf("with --ca: exit %d %q %q", code, out, errs)
	}
	code, _, errs, _ = ctlAgainst(t, "--addr", url, "--token", fakeToken, "nodes", "list")
	if code != exitUnreachable || !strings.Contains(errs, "--ca") {
		t.Fatalf("without --ca: exit %d %q", code, errs)
	}
	other := filepath.Join(t.TempDir(), "other.crt")
	otherCA, _ := identity.NewCA(time.Hour)
	os.WriteFile(other, otherCA.CertPEM(), 0o600)
	if code, _, errs, _ = ctlAgainst(t, "--addr", url, "--token", fakeToken, "--ca", other, "nodes", "list"); code != exitUnreachable {
		t.Fatalf("another CA: exit %d %q", code, errs)
	}
	notPEM := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, bad := range []string{notPEM, filepath.Join(t.TempDir(), "missing.crt")} {
		if code, _, errs, _ = ctlAgainst(t, "--addr", url, "--token", fakeToken, "--ca", bad, "nodes", "list"); code != exitUsage ||
			!strings.Contains(errs, "--ca") {
			t.Fatalf("--ca %s: exit %d %q", bad, code, errs)
		}
	}

	// From the environment, through runCtl.
	t.Setenv("RINGSIDE_ADDR", url)
	t.Setenv("RINGSIDE_TOKEN", fakeToken)
	t.Setenv("RINGSIDE_CA", caFile)
	var o, e syncbuf.Buffer
	if code := runCtl([]string{"status"}, &o, &e); code != 0 || !strings.Contains(o.String(), "node self") {
		t.Fatalf("RINGSIDE_CA: exit %d %q %q", code, o.String(), e.String())
	}
}

// TestCtlOperator: every request names the operator; a write's history
// records them at the node ctl called.
func TestCtlOperator(t *testing.T) {
	f := newFakeNode(t)
	code, out, errs, _ := ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "--operator", "alice", "purge", "--event", "fight")
	if reqs := f.requests(); code != 0 || len(reqs) != 1 || reqs[0].operator != "alice" {
		t.Fatalf("exit %d %q %q; requests %+v", code, out, errs, reqs)
	}
	ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "events", "create", "--id", "final", "--pull-url", "http://o/", "--operator=bob@corp")
	if h := f.control.History(1); len(h) != 1 || h[0].Actor != "bob@corp@self" {
		t.Fatalf("history %+v, want actor bob@corp@self", h)
	}
	f.requests()
	if code, _, errs, _ := ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "--operator", "alice smith", "status"); code != exitUsage ||
		!strings.Contains(errs, "--operator") || len(f.requests()) != 0 {
		t.Fatalf("bad operator: exit %d %q", code, errs)
	}

	for _, tt := range []struct{ env, user, want string }{
		{"carol", "dave", "carol"},
		{"", "dave", "dave"},
		{"", "DOMAIN\\dave", "operator"},
		{"", "", "operator"},
	} {
		t.Setenv("RINGSIDE_OPERATOR", tt.env)
		t.Setenv("USER", tt.user)
		var o, e syncbuf.Buffer
		if code := runCtl([]string{"--addr", f.URL, "--token", fakeToken, "status"}, &o, &e); code != 0 {
			t.Fatalf("exit %d %s", code, e.String())
		}
		if reqs := f.requests(); len(reqs) != 1 || reqs[0].operator != tt.want {
			t.Fatalf("RINGSIDE_OPERATOR %q, USER %q: sent %+v, want %s", tt.env, tt.user, reqs, tt.want)
		}
	}
}

// TestCtlNodesIdentity: the node table shows each member's certificate
// check.
func TestCtlNodesIdentity(t *testing.T) {
	f := newFakeNode(t)
	code, out, errs, _ := ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "nodes", "list")
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(lines[0]), "IDENTITY") ||
		!strings.HasSuffix(strings.TrimSpace(lines[1]), "mismatch: certificate names edge-3") ||
		!strings.HasSuffix(strings.TrimSpace(lines[2]), "verified") {
		t.Fatalf("exit %d %q %q", code, out, errs)
	}
	code, out, _, _ = ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "-o", "json", "nodes", "list")
	if code != 0 || !strings.Contains(out, `"identity": "verified"`) || !strings.Contains(out, `"cert_roles": [`) {
		t.Fatalf("json: %d %s", code, out)
	}
}
