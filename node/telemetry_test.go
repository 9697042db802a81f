package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	adminapi "github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

// faultyCDN is a third-party CDN: a real nginx (no cache, so every
// request reaches its upstream) in front of a fault switch that forwards
// to the mesh, except that while failing it answers 503 for a share of
// the segment requests of clients in one network (nginx passes the
// client's address in X-Forwarded-For), as a CDN failing in one region.
type faultyCDN struct {
	addr    string
	failNet *net.IPNet
	share   atomic.Int64 // per mille of the region's requests answered 503
}

func newFaultyCDN(t *testing.T, id, meshHTTP, failCIDR string) *faultyCDN {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatalf("nginx is required for the QoE steering test (.ci/run installs it): %v", err)
	}
	_, ipnet, _ := net.ParseCIDR(failCIDR)
	f := &faultyCDN{addr: nodetest.FreeAddr(t), failNet: ipnet}
	target, _ := url.Parse("http://" + meshHTTP)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // players leaving at the end are not news
	sw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := net.ParseIP(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-For"), ",")[0]))
		if strings.HasSuffix(r.URL.Path, ".ts") && client != nil && f.failNet.Contains(client) &&
			rand.Int64N(1000) < f.share.Load() {
			http.Error(w, "failing", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(sw.Close)
	dir := t.TempDir()
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
  uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    location / {
      proxy_pass %[3]s;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header Ringside-Pathway %[4]s;
    }
  }
}
`, dir, f.addr, sw.URL, id)
	if os.Getuid() == 0 {
		conf = "user root;\n" + conf
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("nginx: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", f.addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s", f.addr)
		}
	}
	return f
}

// simPlayer fetches segments from its CDN from its own address and
// reports each response to the steer node's beacon once a second, as the
// player page does on a CDN pathway.
type simPlayer struct {
	id, ip, cdn, cdnAddr string
}

func (p simPlayer) run(ctx context.Context, beacon string, requests, failures *atomic.Int64) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(p.ip)}}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2}}
	defer client.CloseIdleConnections()
	var lines []string
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	fetch := time.NewTicker(250 * time.Millisecond)
	defer fetch.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if len(lines) > 0 {
				if resp, err := client.Post(beacon, "text/plain", strings.NewReader(strings.Join(lines, "\n"))); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lines = lines[:0]
			}
		case <-fetch.C:
			rc := 0
			start := time.Now()
			resp, err := client.Get(fmt.Sprintf("http://%s/live/fight/0/s%d.ts", p.cdnAddr, seq%50))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				rc = resp.StatusCode
			}
			requests.Add(1)
			if rc != 200 {
				failures.Add(1)
			}
			lines = append(lines, fmt.Sprintf(`sid="%s",cid="fight",ot=v,br=2000,d=2000,bl=8000,v=2,cdn="%s",rc=%d,ttlb=%d`,
				p.id, p.cdn, rc, time.Since(start).Milliseconds()))
		}
	}
}

// TestTelemetryQoESteering: a 3-node mesh (n0 steer and control, n1 and
// n2 edges) with two nginx CDNs. Players in two regions play from both;
// cdn-a starts answering 503 for 30% of the segment requests of region
// eu only. The viewers' telemetry (beacons merged on n0) marks cdn-a down
// in eu within 10 s; new sessions and steering manifests of eu avoid it,
// us keeps it; then 60 health intervals of errors alternating each
// interval (1-s intervals here: 2 minutes at the default 2 s) never flip
// either region.
func TestTelemetryQoESteering(t *testing.T) {
	origin := newGatedOrigin(t, bytes.Repeat([]byte{0x47}, 2048), 0)
	close(origin.gate)
	c := nodetest.Start(t, nodetest.Options{N: 3, Voters: 1,
		Events: []node.EventConfig{{ID: "fight", PullURL: origin.URL}},
		Configure: func(i int, cfg *node.Config) {
			if i == 0 {
				cfg.Node.Roles = append(cfg.Node.Roles, node.RoleSteer)
			}
			cfg.Steering.TTL = node.Duration(2 * time.Second)
			cfg.Steering.ProbeInterval = node.Duration(time.Second)
			cfg.Telemetry.HealthInterval = node.Duration(time.Second) // the merger's resolution
			cfg.Telemetry.MinRequests, cfg.Telemetry.MinSessions = 20, 5
			cfg.Telemetry.BeaconRate = 100
		}})
	c.WaitFor("seeded", 20*time.Second, func() bool { return version(t, c, 0) >= 1 })
	steerURL := c.URL(0)
	for name, cidr := range map[string]string{"eu": "127.1.0.0/16", "us": "127.2.0.0/16"} {
		if r := call(t, "PUT", steerURL+"/admin/v1/regions/"+name, nodetest.AdminToken, `{"cidrs":["`+cidr+`"]}`); r.status != 200 {
			t.Fatalf("region %s: %d %s", name, r.status, r.raw)
		}
	}
	cdns := map[string]*faultyCDN{"cdn-a": newFaultyCDN(t, "cdn-a", c.Nodes[1].HTTPAddr(), "127.1.0.0/16"),
		"cdn-b": newFaultyCDN(t, "cdn-b", c.Nodes[2].HTTPAddr(), "127.1.0.0/16")}
	for id, f := range cdns {
		body := fmt.Sprintf(`{"hostname":"%s.example.net","base_url":"http://%s","weight":100,"state":"active"}`, id, f.addr)
		if r := call(t, "PUT", steerURL+"/admin/v1/cdns/"+id, nodetest.AdminToken, body); r.status != 200 {
			t.Fatalf("put %s: %d %s", id, r.status, r.raw)
		}
	}
	c.WaitFor("regions and CDNs on every node", 10*time.Second, func() bool { return version(t, c, 2) >= version(t, c, 0) })

	// 8 players per region and CDN: 32 sessions, 128 requests a second.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var requests, failures atomic.Int64
	var players []simPlayer
	for r, region := range []string{"eu", "us"} {
		for k, id := range []string{"cdn-a", "cdn-b"} {
			for i := range 8 {
				players = append(players, simPlayer{id: fmt.Sprintf("%s-%s-%d", region, id, i),
					ip: fmt.Sprintf("127.%d.%d.%d", r+1, k+1, i+1), cdn: id, cdnAddr: cdns[id].addr})
			}
		}
	}
	for _, p := range players {
		wg.Go(func() { p.run(ctx, steerURL+"/t/fight", &requests, &failures) })
	}
	view := func() adminapi.TelemetryView {
		var v adminapi.TelemetryView
		r := call(t, "GET", steerURL+"/admin/v1/telemetry?event=fight", nodetest.ReadOnlyToken, "")
		if r.status != 200 || json.Unmarshal([]byte(r.raw), &v) != nil {
			t.Fatalf("telemetry view: %d %s", r.status, r.raw)
		}
		return v
	}
	c.WaitFor("the players counted as viewers", 15*time.Second, func() bool { return view().Total.Viewers == uint64(len(players)) })
	v := view()
	if len(v.Nodes) != 3 {
		t.Errorf("telemetry from %d nodes, want 3: %+v", len(v.Nodes), v.Nodes)
	}
	qoe := func(pathway, region string) (down bool, flaps int) {
		for _, h := range view().Health {
			if h.Pathway == pathway && h.Region == region {
				return h.Down, h.Flaps
			}
		}
		return false, 0
	}

	cdns["cdn-a"].share.Store(300)
	failed := time.Now()
	c.WaitFor("cdn-a down in eu", 10*time.Second, func() bool { d, _ := qoe("cdn-a", "eu"); return d })
	t.Logf("cdn-a marked down in eu %v after it started failing 30%% there", time.Since(failed).Round(100*time.Millisecond))
	if d, _ := qoe("cdn-a", "us"); d {
		t.Fatal("cdn-a down in us too")
	}
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}
	get := func(ip, path string) string {
		resp, err := from(ip).Get(steerURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for i := range 20 {
		if p := get(fmt.Sprintf("127.1.9.%d", i+1), fmt.Sprintf("/play/fight?session=new-eu-%d", i)); strings.Contains(p, `"cdn-a"`) {
			t.Fatalf("a new eu session was offered cdn-a: %s", p)
		}
	}
	if m := get("127.1.9.200", "/steer/fight?session=m-eu"); strings.Contains(m, "cdn-a") || !strings.Contains(m, "cdn-b") {
		t.Fatalf("eu steering manifest: %s", m)
	}
	if m := get("127.2.9.200", "/steer/fight?session=m-us"); !strings.Contains(m, "cdn-a") {
		t.Fatalf("us steering manifest lost cdn-a: %s", m)
	}
	// The same figures through Prometheus (bounded labels).
	metrics := body(t, steerURL+"/metrics")
	for _, want := range []string{`ringside_telemetry_qoe_down{pathway="cdn-a",region="eu"} 1`,
		`ringside_telemetry_viewers{event="fight",pathway="cdn-a",region="eu"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Alternating: failing one interval, healthy the next.
	_, flapsEU := qoe("cdn-a", "eu")
	_, flapsUS := qoe("cdn-a", "us")
	for i := range 60 {
		cdns["cdn-a"].share.Store(int64(300 * (i % 2)))
		time.Sleep(time.Second) // the interval clock; nothing is awaited here
	}
	if d, f := qoe("cdn-a", "eu"); !d || f != flapsEU {
		t.Fatalf("alternating errors in eu flapped: down %v, flaps %d -> %d", d, flapsEU, f)
	}
	if d, f := qoe("cdn-a", "us"); d || f != flapsUS {
		t.Fatalf("us changed: down %v, flaps %d -> %d", d, flapsUS, f)
	}
	t.Logf("%d requests through the CDNs, %d failed; QoE health %+v", requests.Load(), failures.Load(), view().Health)
}
