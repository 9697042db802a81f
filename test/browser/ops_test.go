package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/test/childproc"
)

// TestOpsLoop plays the demo on Ringside's own player page (/watch/demo:
// hls.js from the binary, content steering and CMCD on) in Debian's
// Chromium, with one third-party CDN: a real nginx in front of a switch
// that forwards to the demo node, or hangs.
//
//   - console: three player pages play; the ops console (/console/ on the
//     admin listener, signed in with the admin token) shows 3 viewers
//     within 2 s of the third first frame; a click on "Drain" for the CDN,
//     confirmed, moves its sessions (checked through the admin API's
//     steering simulation and on the pages); screenshots are artifacts
//     (go test -artifacts: under the output directory).
//   - hung: a player on the CDN; the CDN hangs (accepts, never answers);
//     the player loads fragments from another pathway within 10 s.
func TestOpsLoop(t *testing.T) {
	requireDeps(t)
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatalf("nginx is required (the CDN of this test; .ci/run installs it): %v", err)
	}
	bin := childproc.Build(t, t.TempDir())
	d := startDemo(t, bin)
	cdn := newHangingCDN(t, d.base)
	adminBase := strings.TrimSuffix(d.admin, "/admin/v1/")
	auth := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}}
	body := fmt.Sprintf(`{"hostname":"cdn-a.example.net","base_url":"http://%s","weight":1000,"state":"active"}`, cdn.addr)
	if st, b, err := do(d.client, "PUT", d.admin+"cdns/cdn-a", auth, []byte(body)); err != nil || st != 200 {
		t.Fatalf("put cdn-a: %d %s %v", st, b, err)
	}
	d.waitLive(t, 4)
	shots := t.ArtifactDir()

	t.Run("console", func(t *testing.T) {
		r := ops(t, map[string]any{"mode": "console", "watch": d.base + "/watch/demo", "players": 3,
			"console": adminBase + "/console/", "token": adminToken, "cdn": "cdn-a", "shots": shots, "timeout": 150})
		t.Logf("console showed 3 viewers %.1f s after the third player's first frame; the drained CDN's players moved after %.1f s",
			r.ViewersShownAfterPlaying, r.MovedAfterDrain)
		if r.ViewersShownAfterPlaying > 2 {
			t.Errorf("the console showed 3 viewers %.1f s after the players played, want within 2 s", r.ViewersShownAfterPlaying)
		}
		if len(r.OnCDNAtDrain) == 0 {
			t.Fatalf("no player was on cdn-a when it was drained: %+v", r.Sessions)
		}
		// Through the admin API: the sessions are off the drained CDN.
		for _, s := range r.SessionsAfter {
			u := d.admin + "steering/simulate?event=demo&client=127.0.0.1&session=" + s.Session
			st, b, err := do(d.client, "GET", u, auth, nil)
			if err != nil || st != 200 {
				t.Fatalf("simulate: %d %s %v", st, b, err)
			}
			var sim struct {
				Decision struct{ Pathways []struct{ ID string } }
			}
			json.Unmarshal(b, &sim)
			if strings.Contains(string(b), `"cdn-a"`) && len(sim.Decision.Pathways) > 0 && sim.Decision.Pathways[0].ID == "cdn-a" {
				t.Errorf("session %s still steered to the drained CDN: %s", s.Session, b)
			}
		}
		for _, f := range []string{"console-viewers.png", "console-drained.png", "console-after-drain.png"} {
			if fi, err := os.Stat(filepath.Join(shots, f)); err != nil || fi.Size() == 0 {
				t.Errorf("screenshot %s: %v", f, err)
			}
		}
		// Back to active for the next case.
		if st, b, err := do(d.client, "POST", d.admin+"cdns/cdn-a/state", auth, []byte(`{"state":"active"}`)); err != nil || st != 200 {
			t.Fatalf("undrain cdn-a: %d %s %v", st, b, err)
		}
	})

	t.Run("hung", func(t *testing.T) {
		r := ops(t, map[string]any{"mode": "hung", "watch": d.base + "/watch/demo", "cdn": "cdn-a",
			"hang": cdn.control + "/hang", "shots": shots, "timeout": 150})
		t.Logf("FAILOVER {\"seconds\":%.1f,\"to\":%q,\"stalls\":%d} (hung CDN; probes 1 s/1 s, down after 3; manifest TTL 5 s)",
			r.FailoverSeconds, r.FailoverPathway, r.StallsDuringFailover)
		if r.FailoverSeconds > 10 {
			t.Errorf("the player left the hung CDN after %.1f s, want within 10 s; after: %+v", r.FailoverSeconds, r.After)
		}
	})
}

// opsReport is what ops.mjs prints.
type opsReport struct {
	Error                    string
	Steps                    []map[string]any
	Console                  []string
	ViewersShownAfterPlaying float64
	MovedAfterDrain          float64
	OnCDNAtDrain             []int
	Sessions, SessionsAfter  []struct {
		Session, Pathway string
	}
	FailoverSeconds      float64
	FailoverPathway      string
	StallsDuringFailover int
	After                map[string]any
}

func ops(t *testing.T, spec map[string]any) opsReport {
	t.Helper()
	in, _ := json.Marshal(spec)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "ops.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = childproc.Attr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	var r opsReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("ops.mjs: %v (%v); stdout:\n%s\nstderr:\n%s", runErr, err, stdout.String(), stderr.String())
	}
	if r.Error != "" {
		t.Fatalf("ops.mjs %s: %s\nsteps: %v\nconsole:\n%s", spec["mode"], r.Error, r.Steps, strings.Join(r.Console, "\n"))
	}
	return r
}

// hangingCDN is nginx (no cache) in front of a TCP switch to the node:
// POST {control}/hang makes the switch accept connections and never
// answer, as a CDN that hangs; the steering probes go through it too.
type hangingCDN struct {
	addr, control string
	hung          atomic.Bool
}

func newHangingCDN(t *testing.T, nodeBase string) *hangingCDN {
	t.Helper()
	c := &hangingCDN{}
	target := strings.TrimPrefix(nodeBase, "http://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close(); conns.Wait() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer in.Close()
				if c.hung.Load() {
					select { // hold the connection, answer nothing
					case <-stop:
					case <-time.After(90 * time.Second):
					}
					return
				}
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			})
		}
	}()
	ctl := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hung.Store(r.URL.Path == "/hang")
		w.WriteHeader(http.StatusNoContent)
	})}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ctl.Serve(cl)
	t.Cleanup(func() { ctl.Close() })
	c.control = "http://" + cl.Addr().String()
	dir := t.TempDir()
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = al.Addr().String()
	al.Close() // nginx binds it
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log crit;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
  uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    location / {
      proxy_pass http://%[3]s;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header Ringside-Pathway cdn-a;
    }
  }
}
`, dir, c.addr, ln.Addr().String())
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
	if !eventually(10*time.Second, func() bool {
		conn, err := net.Dial("tcp", c.addr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}) {
		t.Fatalf("nginx did not listen on %s", c.addr)
	}
	return c
}
