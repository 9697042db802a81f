package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

const ctlToken = "ctl-test-admin-token"

// startControlNode runs one node with every role and a single-voter
// control plane, its admin API on a separate listener.
func startControlNode(t *testing.T) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.Node.ID = "ctl1"
	cfg.Node.Roles = []string{node.RoleEdge, node.RoleShield, node.RoleControl}
	cfg.HTTP.Listen, cfg.Admin.Listen, cfg.Admin.Token = "127.0.0.1:0", "127.0.0.1:0", ctlToken
	cfg.Control.DataDir, cfg.Control.RaftBind, cfg.Control.Profile = t.TempDir(), "127.0.0.1:0", "test"
	cfg.Control.Bootstrap = []node.PeerConfig{{ID: "ctl1"}}
	cfg.Events = []node.EventConfig{{ID: "fight", PullURL: "http://127.0.0.1:9/"}}
	return nodetest.Run(t, cfg, node.Deps{})
}

func updateFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "final.json")
	os.WriteFile(p, []byte(`{"id":"final","title":"The Final, updated","pull_url":"http://127.0.0.1:9/"}`), 0o600)
	return p
}

func ctlRun(t *testing.T, addr string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncbuf.Buffer
	code := runCtl(append([]string{"--addr", addr, "--token", ctlToken}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCtlEndToEnd(t *testing.T) {
	n := startControlNode(t)
	addr := n.AdminAddr()
	var listed string
	eventually(t, 20*time.Second, func() bool { // the seed lands once the single voter leads
		code, out, _ := ctlRun(t, addr, "events", "list")
		listed = out
		return code == 0 && strings.Contains(out, "fight")
	}, func() string { return "seed visible through ctl: " + listed })
	steps := []struct {
		args []string
		code int
		out  string // in stdout (code 0) or stderr
	}{
		{[]string{"status"}, 0, "config version"},
		{[]string{"events", "create", "--id", "final", "--title", "The Final", "--pull-url", "http://127.0.0.1:9/"}, 0, "event created"},
		{[]string{"events", "list"}, 0, "final"},
		{[]string{"events", "get", "final"}, 0, `"title": "The Final"`},
		{[]string{"events", "update", "final", "-f", updateFile(t)}, 0, "final updated"},
		{[]string{"events", "get", "final"}, 0, `"title": "The Final, updated"`},
		{[]string{"events", "set-state", "final", "live"}, 0, "now live"},
		{[]string{"events", "set-state", "final", "scheduled"}, 1, "409"},
		{[]string{"events", "create", "--id", "Bad Id", "--pull-url", "http://x/"}, 1, "events["},
		{[]string{"events", "get", "nope"}, 1, "404"},
		{[]string{"nodes", "list"}, 0, "ctl1"},
		{[]string{"nodes", "drain", "ctl1"}, 0, "drained"},
		{[]string{"nodes", "undrain", "ctl1"}, 0, "undrained"},
		{[]string{"purge", "--event", "fight"}, 0, "purged"},
		{[]string{"purge"}, 1, "exactly one"},
		{[]string{"cdns", "set-weight", "akamai", "x"}, 2, "not a number"},
		{[]string{"cdns", "set-weight", "nope", "10"}, 1, "404"},
		{[]string{"bogus"}, 2, "unknown command"},
	}
	for _, s := range steps {
		code, out, errs := ctlRun(t, addr, s.args...)
		got := out
		if s.code != 0 {
			got = errs
		}
		if code != s.code || !strings.Contains(got, s.out) {
			t.Fatalf("ctl %v: exit %d, stdout %q, stderr %q; want exit %d with %q", s.args, code, out, errs, s.code, s.out)
		}
	}
	// A CDN made through the API, then steered with ctl.
	req, _ := http.NewRequest("PUT", "http://"+addr+"/admin/v1/cdns/akamai", strings.NewReader(`{"hostname":"live.akamai.example.net","weight":100,"state":"active"}`))
	req.Header.Set("Authorization", "Bearer "+ctlToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("put cdn: %v %v", resp, err)
	}
	for _, args := range [][]string{{"cdns", "set-weight", "akamai", "250"}, {"cdns", "drain", "akamai"}} {
		if code, out, errs := ctlRun(t, addr, args...); code != 0 {
			t.Fatalf("ctl %v: %d %s %s", args, code, out, errs)
		}
	}
	code, out, _ := ctlRun(t, addr, "-o", "json", "cdns", "list")
	var cdns []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &cdns) != nil || len(cdns) != 1 || cdns[0]["weight"] != 250.0 || cdns[0]["state"] != "draining" {
		t.Fatalf("cdns list json: %d %s", code, out)
	}
	// Auth and reachability failures have their own exit codes.
	var o, e syncbuf.Buffer
	if code := runCtl([]string{"--addr", addr, "--token", "wrong", "status"}, &o, &e); code != 1 || !strings.Contains(e.String(), "401") {
		t.Fatalf("wrong token: %d %s", code, e.String())
	}
	if code := runCtl([]string{"--addr", "127.0.0.1:1", "--token", ctlToken, "status"}, &o, &e); code != 3 {
		t.Fatalf("unreachable: %d", code)
	}
	t.Setenv("RINGSIDE_ADDR", addr)
	t.Setenv("RINGSIDE_TOKEN", ctlToken)
	if code := runCtl([]string{"nodes", "list"}, &o, &e); code != 0 {
		t.Fatalf("from the environment: %d %s", code, e.String())
	}
}
