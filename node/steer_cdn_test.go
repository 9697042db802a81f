package node_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

// cdnProxy is a third-party CDN played by a real nginx caching proxy that
// pulls /live/ from the mesh. Its /healthz (the steering canary) goes to a
// switch the test controls, so health can be made to alternate exactly.
type cdnProxy struct {
	t      *testing.T
	dir    string
	addr   string
	cmd    *exec.Cmd
	health atomic.Int32 // 0 ok, 1 failing, 2 alternating
	flip   atomic.Int32
}

func newCDNProxy(t *testing.T, meshAddr string) *cdnProxy {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatalf("nginx is required for the CDN steering test (.ci/run installs it): %v", err)
	}
	p := &cdnProxy{t: t, dir: t.TempDir(), addr: nodetest.FreeAddr(t)}
	sw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := false
		switch p.health.Load() {
		case 1:
			fail = true
		case 2:
			fail = p.flip.Add(1)%2 == 0
		}
		if fail {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(sw.Close)
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
  uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  proxy_cache_path %[1]s/cache keys_zone=cdn:10m max_size=64m;
  server {
    listen %[2]s;
    location = /healthz { proxy_pass %[3]s; }
    location /live/ { proxy_pass http://%[4]s; proxy_cache cdn; proxy_cache_valid 200 1s; proxy_cache_lock on; }
  }
}
`, p.dir, p.addr, sw.URL, meshAddr)
	if os.Getuid() == 0 {
		conf = "user root;\n" + conf
	}
	if err := os.WriteFile(filepath.Join(p.dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *cdnProxy) start() {
	p.t.Helper()
	p.cmd = exec.Command("nginx", "-c", filepath.Join(p.dir, "nginx.conf"), "-p", p.dir)
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("nginx: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", p.addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("nginx did not listen on %s", p.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *cdnProxy) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(os.Interrupt) // nginx: fast shutdown
		p.cmd.Wait()
		p.cmd = nil
	}
}

type cdnHealth struct {
	CDNs []struct {
		ID    string
		Up    bool
		Flaps int
	} `json:"cdns"`
}

func health(t *testing.T, c *nodetest.Cluster, id string) (up bool, flaps int) {
	var h cdnHealth
	raw := call(t, "GET", c.URL(0)+"/admin/v1/steering/health", nodetest.AdminToken, "").raw
	// snake_case like the rest of the admin API (Go's decoder would
	// accept "ID" and "Up" as well, so look at the bytes).
	if strings.Contains(raw, `"cdn-a"`) && (!strings.Contains(raw, `"id": "cdn-a"`) || !strings.Contains(raw, `"up": `)) {
		t.Fatalf("steering health not in snake_case: %s", raw)
	}
	json.Unmarshal([]byte(raw), &h)
	for _, x := range h.CDNs {
		if x.ID == id {
			return x.Up, x.Flaps
		}
	}
	return true, 0
}

// players plays each session from its own loopback address (127.1.x.y),
// as real players are on their own networks: the engine remembers at most
// 16 sessions per client network, so sessions from one address would stop
// being sticky.
type players struct {
	t    *testing.T
	c    *nodetest.Cluster
	addr map[string]string
}

// firstPathway asks /play for a session and returns its first pathway.
func (p *players) firstPathway(session string) string {
	t := p.t
	t.Helper()
	ip, ok := p.addr[session]
	if !ok {
		n := len(p.addr)
		ip = fmt.Sprintf("127.1.%d.%d", n/250, n%250+1)
		p.addr[session] = ip
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	resp, err := client.Get(p.c.URL(0) + "/play/fight?session=" + session)
	if err != nil {
		t.Fatalf("/play from %s: %v", ip, err)
	}
	defer resp.Body.Close()
	var r struct{ Pathways []struct{ ID string } }
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/play: %d %s", resp.StatusCode, raw)
	}
	if json.Unmarshal(raw, &r); len(r.Pathways) == 0 {
		t.Fatalf("/play without pathways: %s", raw)
	}
	return r.Pathways[0].ID
}

// TestSteeringAcrossCDNs: two CDNs (real nginx caches pulling from the
// mesh) share new sessions; sessions are sticky; a CDN that stops answers
// its canary leaves new decisions and the steering manifest after the
// hysteresis, comes back after it restarts without moving the sessions
// that left it, and a health signal alternating quickly does not flap.
func TestSteeringAcrossCDNs(t *testing.T) {
	origin := newGatedOrigin(t, []byte("segment"), 0)
	close(origin.gate)
	c := nodetest.Start(t, nodetest.Options{N: 1, Voters: 1,
		Events: []node.EventConfig{{ID: "fight", PullURL: origin.URL}},
		Configure: func(i int, cfg *node.Config) {
			cfg.Node.Roles = append(cfg.Node.Roles, node.RoleSteer)
			cfg.Steering.MeshWeight = 0 // the mesh is only the fallback here
			cfg.Steering.ProbeInterval, cfg.Steering.ProbeTimeout = node.Duration(50*time.Millisecond), node.Duration(time.Second)
			cfg.Steering.TTL = node.Duration(2 * time.Second)
		}})
	c.WaitFor("seeded", 20*time.Second, func() bool { return version(t, c, 0) >= 1 })
	pl := &players{t: t, c: c, addr: map[string]string{}}
	a, b := newCDNProxy(t, c.Nodes[0].HTTPAddr()), newCDNProxy(t, c.Nodes[0].HTTPAddr())
	for id, p := range map[string]*cdnProxy{"cdn-a": a, "cdn-b": b} {
		body := fmt.Sprintf(`{"hostname":"%s.example.net","base_url":"http://%s","weight":100,"state":"active"}`, id, p.addr)
		if r := call(t, "PUT", c.URL(0)+"/admin/v1/cdns/"+id, nodetest.AdminToken, body); r.status != 200 {
			t.Fatalf("put %s: %d %s", id, r.status, r.raw)
		}
		if st := status("http://" + p.addr + "/live/fight/0/x.ts"); st != 200 {
			t.Fatalf("%s does not pull from the mesh: %d", id, st)
		}
	}
	share := func(prefix string, n int) map[string]int {
		got := map[string]int{}
		for i := range n {
			got[pl.firstPathway(fmt.Sprintf("%s-%d", prefix, i))]++
		}
		return got
	}
	if got := share("before", 60); got["cdn-a"] == 0 || got["cdn-b"] == 0 {
		t.Fatalf("new sessions not shared between the CDNs: %v", got)
	}
	sticky := pl.firstPathway("sticky")
	for range 5 {
		if got := pl.firstPathway("sticky"); got != sticky {
			t.Fatalf("session moved from %s to %s while healthy", sticky, got)
		}
	}
	// Find a session on cdn-a, then stop cdn-a.
	onA := ""
	for i := 0; onA == "" && i < 100; i++ {
		if s := fmt.Sprintf("on-a-%d", i); pl.firstPathway(s) == "cdn-a" {
			onA = s
		}
	}
	a.stop()
	c.WaitFor("cdn-a down after the hysteresis", 10*time.Second, func() bool { up, _ := health(t, c, "cdn-a"); return !up })
	if got := share("outage", 40); got["cdn-a"] != 0 {
		t.Fatalf("new sessions still sent to the stopped CDN: %v", got)
	}
	if got := pl.firstPathway(onA); got == "cdn-a" {
		t.Fatalf("session %s stayed on the stopped CDN", onA)
	}
	man := call(t, "GET", c.URL(0)+"/steer/fight?session=x&_HLS_pathway=%22cdn-a%22", "", "")
	if man.status != 200 || strings.Contains(man.raw, "cdn-a") || !strings.Contains(man.raw, "PATHWAY-PRIORITY") {
		t.Fatalf("steering manifest during the outage: %d %s", man.status, man.raw)
	}
	movedOff := pl.firstPathway(onA)
	// Restart: it comes back for new sessions; sessions that moved stay.
	a.start()
	c.WaitFor("cdn-a up again", 10*time.Second, func() bool { up, _ := health(t, c, "cdn-a"); return up })
	if got := share("after", 60); got["cdn-a"] == 0 {
		t.Fatalf("the restarted CDN gets no new sessions: %v", got)
	}
	if got := pl.firstPathway(onA); got != movedOff {
		t.Fatalf("session %s moved again on recovery (%s -> %s)", onA, movedOff, got)
	}
	// Alternating health never flips the state (down after 3, up after 2).
	_, flaps := health(t, c, "cdn-b")
	b.health.Store(2)
	c.WaitFor("many alternating probes", 10*time.Second, func() bool { return b.flip.Load() > 40 })
	if up, f := health(t, c, "cdn-b"); !up || f != flaps {
		t.Fatalf("alternating health flapped: up %v, flaps %d -> %d", up, flaps, f)
	}
	// Draining cdn-a from the admin API: no new sessions, and its sessions
	// move off within one steering TTL (2 s here).
	onA = ""
	for i := 0; onA == "" && i < 100; i++ {
		if s := fmt.Sprintf("drain-%d", i); pl.firstPathway(s) == "cdn-a" {
			onA = s
		}
	}
	if r := call(t, "POST", c.URL(0)+"/admin/v1/cdns/cdn-a/state", nodetest.AdminToken, `{"state":"draining"}`); r.status != 200 {
		t.Fatalf("drain cdn-a: %d %s", r.status, r.raw)
	}
	c.WaitFor("draining seen", 5*time.Second, func() bool {
		return strings.Contains(call(t, "GET", c.URL(0)+"/admin/v1/cdns", nodetest.AdminToken, "").raw, "draining")
	})
	drained := time.Now()
	c.WaitFor("the drained CDN's session moved", 6*time.Second, func() bool { return pl.firstPathway(onA) != "cdn-a" })
	t.Logf("session left the drained CDN after %v (steering TTL 2s)", time.Since(drained).Round(time.Millisecond))
	if got := share("drained", 30); got["cdn-a"] != 0 {
		t.Fatalf("new sessions sent to a draining CDN: %v", got)
	}
	m := body(t, c.URL(0)+"/metrics")
	for _, want := range []string{`ringside_steering_decisions_total{outcome="cdn",output="play"}`,
		`ringside_steering_cdn_up{cdn="cdn-a"} 1`, `ringside_steering_cdn_flaps{cdn="cdn-a"} 2`, `ringside_steering_sessions{pathway=`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
