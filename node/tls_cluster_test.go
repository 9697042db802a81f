package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

// TestSessionResumptionAcrossEdges: a player's TLS session started on one
// edge resumes on another (the ticket keys are shared through the control
// plane), and no longer once the signing key rotated twice.
func TestSessionResumptionAcrossEdges(t *testing.T) {
	players, err := identity.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := players.Issue("players", []string{identity.RoleEdge}, 0, []string{"live.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key, err := pc.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := nodetest.Start(t, nodetest.Options{N: 3, Voters: 1, Configure: func(i int, cfg *node.Config) {
		cfg.HTTP.TLSListen, cfg.HTTP.TLS = "127.0.0.1:0", []node.KeyPairConfig{{Cert: cert, Key: key}}
	}})
	c.WaitControl(0)
	admin(t, "POST", c.URL(0)+"/admin/v1/signing-keys/rotate", "", 200)
	pool := x509.NewCertPool()
	pool.AddCert(players.Cert)
	resumed := func(cache tls.ClientSessionCache, i int) bool {
		t.Helper()
		cfg := &tls.Config{RootCAs: pool, ServerName: "live.example.net", ClientSessionCache: cache}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
		resp, err := client.Get("https://" + c.Nodes[i].HTTPSAddr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // TLS 1.3 tickets arrive after the handshake
		resp.Body.Close()
		return resp.TLS.DidResume
	}
	c.WaitFor("a session from n1 resumes on n2", 10*time.Second, func() bool {
		cache := tls.NewLRUClientSessionCache(4)
		if resumed(cache, 1) {
			t.Fatal("the first connection resumed")
		}
		return resumed(cache, 2)
	})
	cache := tls.NewLRUClientSessionCache(4)
	resumed(cache, 1) // a ticket under the first signing key
	var rotated struct {
		Version uint64 `json:"version"`
	}
	for range 2 {
		json.Unmarshal([]byte(admin(t, "POST", c.URL(0)+"/admin/v1/signing-keys/rotate", "", 200)), &rotated)
	}
	if rotated.Version == 0 {
		t.Fatal("the rotation answered no version")
	}
	c.WaitFor("every node serves the document of the second rotation", 10*time.Second, func() bool {
		for i := range c.Nodes {
			if configVersion(t, c.URL(i)) < rotated.Version {
				return false
			}
		}
		return true
	})
	if resumed(cache, 2) {
		t.Fatal("two rotations later a ticket under the first key still resumes")
	}
}
