package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

// rogue is a member that has the gossip key and claims every role, but
// whose certificate is not what it claims: it serves poison and a forged
// configuration, and records every request that reaches it.
type rogue struct {
	id   string
	mesh *mesh.Mesh
	srv  *httptest.Server // its "mesh listener" (TLS)
	http *httptest.Server // its "HTTP listener"
	cert tls.Certificate

	mu   sync.Mutex
	seen []string // "METHOD path headers" of every request it got
}

var poison = []byte("ROGUE-BYTES")

// startRogue joins the cluster with the right gossip key, claiming every
// role and the push event, and presents cert on its mesh address.
func startRogue(t *testing.T, c *nodetest.Cluster, id string, cert tls.Certificate) *rogue {
	t.Helper()
	r := &rogue{id: id, cert: cert}
	record := func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, fmt.Sprintf("%s %s %v", req.Method, req.URL.Path, req.Header))
		r.mu.Unlock()
		if strings.HasSuffix(req.URL.Path, "/internal/v1/config") {
			// A forged document from the far future.
			fmt.Fprintf(w, `{"version": %d, "events": {}, "regions": {}, "cdns": {}, "nodes": {}, "signing": {}}`, uint64(1)<<62)
			return
		}
		w.Write(poison)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(record))
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the nodes refusing its certificate
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.http = httptest.NewServer(http.HandlerFunc(record))
	t.Cleanup(r.http.Close)

	mc, err := mesh.Profile("test")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(nodetest.GossipKey)
	mc.BindAddr, mc.Seeds, mc.SecretKey = "127.0.0.1:0", []string{c.Nodes[0].GossipAddr()}, key
	meta := mesh.Meta{ID: id, Roles: []string{mesh.RoleControl, mesh.RoleShield, mesh.RoleIngest, mesh.RoleEdge},
		Tier: mesh.TierOrigin, Events: []string{"fight"},
		HTTPAddr: strings.TrimPrefix(r.http.URL, "http://"), MeshAddr: strings.TrimPrefix(r.srv.URL, "https://")}
	if r.mesh, err = mesh.New(mc, meta); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.mesh.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.mesh.Ready()
	return r
}

func (r *rogue) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// client is an HTTP client presenting the rogue's certificate.
func (r *rogue) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{r.cert}, InsecureSkipVerify: true}}}
}

// TestRogueMembers: two members with the right gossip key claim control,
// shield and ingest (and the push event): one without a certificate of
// the cluster CA, one with a valid edge certificate. Neither serves
// config, owns keys, ingests, receives a credential or pushes into a
// cache; players never see their bytes, and the mesh serves with 0
// errors throughout.
func TestRogueMembers(t *testing.T) {
	const streamKey = "rogue-test-stream-key"
	c := nodetest.Start(t, nodetest.Options{N: 3, Voters: 1,
		Events: []node.EventConfig{{ID: "fight", StreamKey: streamKey}},
		Configure: func(i int, cfg *node.Config) {
			if i == 0 {
				cfg.Node.Roles = []string{node.RoleIngest, node.RoleControl}
			}
		}})

	foreign, err := identity.NewCA(0) // not the cluster's
	if err != nil {
		t.Fatal(err)
	}
	fc, err := foreign.Issue("rogue-a", identity.Roles(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	certA, err := fc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	sec := c.Issue("rogue-b", identity.RoleEdge) // valid, but an edge's
	certB, err := tls.LoadX509KeyPair(sec.Cert, sec.Key)
	if err != nil {
		t.Fatal(err)
	}
	rogues := []*rogue{startRogue(t, c, "rogue-a", certA), startRogue(t, c, "rogue-b", certB)}

	// Every node sees both in gossip and has checked their certificates.
	c.WaitFor("every node checked both rogues", 20*time.Second, func() bool {
		for _, n := range c.Nodes {
			nodes := nodesView(t, c, n)
			a, b := nodes["rogue-a"], nodes["rogue-b"]
			if !strings.HasPrefix(a.Identity, "not verified") || !strings.HasPrefix(b.Identity, "roles not certified") {
				return false
			}
		}
		return true
	})
	nodes := nodesView(t, c, c.Nodes[1])
	if b := nodes["rogue-b"]; !strings.Contains(b.Identity, "control") || len(b.CertRoles) != 1 || b.CertRoles[0] != "edge" {
		t.Fatalf("rogue-b as /admin/v1/nodes shows it: %+v", b)
	}

	// No rogue owns a key or is asked for the push event.
	for i := range 200 {
		key := fmt.Sprintf("/live/fight/0/seg%d.ts", i)
		for _, n := range c.Nodes {
			if o := n.Owner(key); strings.HasPrefix(o, "rogue") {
				t.Fatalf("%s owns %s on %s", o, key, n.ID())
			}
		}
	}

	// Segments pushed into the ingest node reach players through both
	// edges, byte for byte.
	ingest := c.URL(0) + "/ingest/fight/0/"
	var list strings.Builder
	list.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n")
	segs := map[string][]byte{}
	for i := range 12 {
		name := fmt.Sprintf("seg%d.ts", i)
		segs[name] = bytes.Repeat([]byte{0x47, byte(i)}, 94*100)
		if st := put(t, ingest+name, streamKey, segs[name]); st/100 != 2 {
			t.Fatalf("push %s: %d", name, st)
		}
		fmt.Fprintf(&list, "#EXTINF:2.0,\n%s\n", name)
	}
	if st := put(t, ingest+"index.m3u8", streamKey, []byte(list.String())); st/100 != 2 {
		t.Fatalf("push playlist: %d", st)
	}
	for _, i := range []int{1, 2} {
		for name, want := range segs {
			got := body(t, c.URL(i)+"/live/fight/0/"+name)
			if got != string(want) {
				t.Fatalf("node %d served %s: %d bytes, poisoned=%v", i, name, len(got), strings.Contains(got, string(poison)))
			}
		}
	}

	// The configuration follows the real control plane only.
	admin(t, "POST", c.URL(1)+"/admin/v1/events", `{"id":"later","state":"scheduled","pull_url":"http://127.0.0.1:1/x"}`, 200)
	c.WaitFor("every node serves the real document", 10*time.Second, func() bool {
		for i := range c.Nodes {
			if v := configVersion(t, c.URL(i)); v < 2 || v > 1000 {
				return false
			}
		}
		return true
	})

	// What rogue-b may try with its edge certificate on a real node's mesh
	// listener: no cache fill, no purge, no drain, no admin call without
	// the operator's proof; the config it can read has no stream key.
	mb := meshAddr(t, c, "n1")
	cl := rogues[1].client()
	try := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "https://"+mb+path, strings.NewReader(body))
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/internal/v1/fill/fight/0/seg3.ts", string(poison)},
		{"POST", "/internal/v1/purge", `{"prefix":"/live/"}`},
		{"POST", "/internal/v1/drain", `{"drain":true}`},
		{"POST", "/internal/v1/mesh/keys", `{"op":"list"}`},
		{"PUT", "/internal/v1/dvr/fight/master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://evil.example/x.m3u8\n"},
		// Unpinning a clip on a mirror is the ingest nodes' relay.
		{"POST", "/internal/v1/dvr-pins/fight", `{"op":"delete","name":"knockout"}`},
	} {
		if st, out := try(tc.method, tc.path, tc.body); st != 403 {
			t.Fatalf("rogue-b %s %s: %d %s", tc.method, tc.path, st, out)
		}
	}
	if st, out := try("POST", "/admin/v1/events", `{"id":"evil","state":"live","pull_url":"http://127.0.0.1:1/x"}`); st != 401 {
		t.Fatalf("rogue-b forwarded an admin write without a proof: %d %s", st, out)
	}
	if st, out := try("GET", "/internal/v1/config", ""); st != 503 {
		t.Fatalf("n1 is no voter; config from it: %d %s", st, out)
	}
	mv := meshAddr(t, c, "n0")
	req, _ := http.NewRequest("GET", "https://"+mv+"/internal/v1/config", nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(doc), streamKey) || !strings.Contains(string(doc), "redacted-") {
		t.Fatalf("the document an edge certificate reads: %d %s", resp.StatusCode, doc)
	}
	// rogue-a has no certificate of the cluster CA: the handshake fails.
	ca := rogues[0].client()
	if _, err := ca.Get("https://" + mb + "/internal/v1/config"); err == nil {
		t.Fatal("a certificate of another CA got through the mesh listener's handshake")
	}
	// And the public listener has no node-to-node routes at all.
	if st := status(c.URL(1) + "/internal/v1/config"); st != 404 {
		t.Fatalf("/internal on the public listener: %d", st)
	}

	// Still unpoisoned after all of it, and nothing reached the rogues but
	// what any edge gets: no fills, no config polls, no admin calls, no
	// secret of any kind.
	for name, want := range segs {
		if got := body(t, c.URL(2)+"/live/fight/0/"+name); got != string(want) {
			t.Fatalf("after the attempts, %s is %d bytes", name, len(got))
		}
	}
	for _, r := range rogues {
		for _, s := range r.requests() {
			for _, bad := range []string{"/live/", "/internal/v1/fill", "/internal/v1/config", "/admin/", "Authorization",
				"X-Ringside-Admin-Proof", streamKey, nodetest.AdminToken} {
				if strings.Contains(s, bad) {
					t.Fatalf("%s received %q: %s", r.id, bad, s)
				}
			}
		}
	}
	if got := rogues[0].requests(); len(got) != 0 {
		t.Fatalf("rogue-a (no certificate of the cluster CA) got requests: %v", got)
	}
}

// nodeView is one node of /admin/v1/nodes, what the test reads of it.
type nodeView struct {
	ID        string   `json:"id"`
	Identity  string   `json:"identity"`
	CertRoles []string `json:"cert_roles"`
}

// nodesView is node n's /admin/v1/nodes by id.
func nodesView(t *testing.T, c *nodetest.Cluster, n *node.Node) map[string]nodeView {
	t.Helper()
	i := slices.Index(c.Nodes, n)
	var v struct {
		Nodes []nodeView `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(admin(t, "GET", c.URL(i)+"/admin/v1/nodes", "", 200)), &v); err != nil {
		t.Fatal(err)
	}
	m := map[string]nodeView{}
	for _, x := range v.Nodes {
		m[x.ID] = x
	}
	return m
}

// meshAddr is the mesh address member id advertises.
func meshAddr(t *testing.T, c *nodetest.Cluster, id string) string {
	t.Helper()
	for _, m := range c.Nodes[0].Members() {
		if m.ID == id {
			return m.MeshAddr
		}
	}
	t.Fatalf("no member %s", id)
	return ""
}

// configVersion is the document version node url serves.
func configVersion(t *testing.T, url string) uint64 {
	t.Helper()
	var v struct {
		Version uint64 `json:"version"`
	}
	json.Unmarshal([]byte(admin(t, "GET", url+"/admin/v1/config", "", 200)), &v)
	return v.Version
}

// put uploads body to url with the stream key, as an encoder does.
func put(t *testing.T, url, key string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
