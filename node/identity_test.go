package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/identity"
)

// issueFor writes a CA and a certificate for id with roles into a temp
// directory and returns the identity section.
func issueFor(t *testing.T, id string, roles ...string) IdentitySection {
	return newPKI(t).issue(id, roles...)
}

// testPKI is a cluster CA in a temp directory.
type testPKI struct {
	t   *testing.T
	ca  *identity.CA
	dir string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := identity.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{t: t, ca: ca, dir: t.TempDir()}
	if _, _, err := ca.WriteFiles(p.dir, false); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue writes a certificate for id with roles and returns its section.
func (p *testPKI) issue(id string, roles ...string) IdentitySection {
	p.t.Helper()
	nc, err := p.ca.Issue(id, roles, 0, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	cert, key, err := nc.WriteFiles(p.dir)
	if err != nil {
		p.t.Fatal(err)
	}
	return IdentitySection{Cert: cert, Key: key, CA: filepath.Join(p.dir, identity.CACertFile)}
}

// client is an HTTP client that presents a certificate for id with roles
// and accepts any server certificate of the CA: another node, as the mesh
// listener sees it.
func (p *testPKI) client(id string, roles ...string) *http.Client {
	p.t.Helper()
	sec := p.issue(id, roles...)
	cfg := identity.DefaultConfig()
	cfg.NodeID, cfg.Files = id, identity.Files{Cert: sec.Cert, Key: sec.Key, CA: sec.CA}
	src, err := identity.LoadSource(cfg, identity.Deps{})
	if err != nil {
		p.t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: src.ClientTLS(nil)}}
}

// TestIdentityGrantsRoles: a node takes only the roles its certificate
// grants, and only a certificate naming it.
func TestIdentityGrantsRoles(t *testing.T) {
	tests := []struct {
		name  string
		certs IdentitySection
		want  string
	}{
		{"a role the certificate does not grant", issueFor(t, "t1", "edge", "shield"), `not "ingest" from node.roles`},
		{"another node's certificate", issueFor(t, "t2", "edge", "shield", "ingest"), "t2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Node.ID, cfg.HTTP.Listen, cfg.Identity = "t1", "127.0.0.1:0", tc.certs
			n, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			err = n.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error naming %q", err, tc.want)
			}
		})
	}
	n := startNode(t, func(c *Config) { c.Identity = issueFor(t, "t1", "ingest", "shield", "edge") })
	if m := do(t, "GET", "http://"+n.HTTPAddr()+"/metrics", "", nil).body; !strings.Contains(m, `ringside_tls_cert_expiry_seconds{cert="node"}`) {
		t.Fatal("no certificate expiry metric")
	}
}

// TestHTTPSForPlayers: the public routes answer over HTTPS with the
// configured certificate, next to plain HTTP, with CORS.
func TestHTTPSForPlayers(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n0/index.m3u8\n"))
	}))
	defer origin.Close()
	ids := issueFor(t, "edge-1", "edge")
	n := startNode(t, func(c *Config) {
		c.HTTP.TLSListen = "127.0.0.1:0"
		c.HTTP.TLS = []KeyPairConfig{{Cert: ids.Cert, Key: ids.Key}}
		c.Events = []EventConfig{{ID: "fight", PullURL: origin.URL}}
	})
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ids.CA)
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + n.HTTPSAddr() + "/live/fight/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "#EXT-X-STREAM-INF") || resp.TLS == nil ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("over HTTPS: %d %q tls=%v", resp.StatusCode, b, resp.TLS != nil)
	}
	if r := do(t, "GET", "http://"+n.HTTPAddr()+"/live/fight/master.m3u8", "", nil); r.status != 200 {
		t.Fatalf("plain HTTP alongside: %d", r.status)
	}
	if m := do(t, "GET", "http://"+n.HTTPAddr()+"/metrics", "", nil).body; !strings.Contains(m, `ringside_tls_cert_expiry_seconds{cert="https"}`) {
		t.Fatal("no HTTPS certificate expiry metric")
	}
}

// TestAdminTLS: the admin API does not take bearer tokens in clear text
// over a network: a non-loopback admin.listen needs admin.tls (or
// admin.insecure), admin.tls serves HTTPS, and an admin API sharing a
// non-loopback plain listener answers only on the HTTPS one.
func TestAdminTLS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node.ID, cfg.Admin.Listen, cfg.Admin.Token = "t1", "0.0.0.0:0", "admin-token-of-the-test"
	if _, err := New(cfg, Deps{}); err == nil || !strings.Contains(err.Error(), "admin.tls") {
		t.Fatalf("a clear-text admin listener on every interface: %v", err)
	}
	cfg.Admin.Insecure = true
	if _, err := New(cfg, Deps{}); err != nil {
		t.Fatalf("with admin.insecure: %v", err)
	}

	ids := issueFor(t, "t1", "edge")
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ids.CA)
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(url string) (int, error) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer admin-token-of-the-test")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	n := startNode(t, func(c *Config) {
		c.Admin.Listen, c.Admin.Token = "127.0.0.1:0", "admin-token-of-the-test"
		c.Admin.TLS = []KeyPairConfig{{Cert: ids.Cert, Key: ids.Key}}
	})
	if st, err := get("https://" + n.AdminAddr() + "/admin/v1/nodes"); err != nil || st != 200 {
		t.Fatalf("admin over admin.tls: %d %v", st, err)
	}
	if st, err := get("http://" + n.AdminAddr() + "/admin/v1/nodes"); err == nil && st == 200 {
		t.Fatal("the admin.tls listener answered plain HTTP")
	}
	// With an admin listener, metrics are there and not on the public one.
	if st, err := get("https://" + n.AdminAddr() + "/metrics"); err != nil || st != 200 {
		t.Fatalf("metrics on the admin listener: %d %v", st, err)
	}
	if r := do(t, "GET", "http://"+n.HTTPAddr()+"/metrics", "", nil); r.status != 404 {
		t.Fatalf("metrics on the public listener with admin.listen set: %d", r.status)
	}

	shared := startNode(t, func(c *Config) {
		c.Node.ID, c.HTTP.Listen, c.Admin.Token = "t1", "0.0.0.0:0", "admin-token-of-the-test"
		c.HTTP.TLSListen, c.HTTP.TLS = "127.0.0.1:0", []KeyPairConfig{{Cert: ids.Cert, Key: ids.Key}}
	})
	_, port, _ := net.SplitHostPort(shared.HTTPAddr())
	if st, err := get("http://127.0.0.1:" + port + "/admin/v1/nodes"); err != nil || st != 403 {
		t.Fatalf("admin on a non-loopback plain listener: %d %v", st, err)
	}
	if st, err := get("https://" + shared.HTTPSAddr() + "/admin/v1/nodes"); err != nil || st != 200 {
		t.Fatalf("admin on the shared HTTPS listener: %d %v", st, err)
	}
}
