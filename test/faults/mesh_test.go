package faults

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
	"syscall"
	"testing"
	"time"
)

const (
	adminToken = "faults-admin-token"
	gossipKey  = "ZmF1bHRzLWdvc3NpcC1rZXktb2YtMzItYnl0ZXMhISE="
	streamKey  = "faults-stream-key"
	httpPort   = "8080"
)

// spec is one node of the mesh.
type spec struct {
	id     string
	region string
	tier   string // shield tier: origin or regional ("" for no shield)
	roles  []string
	voter  bool
	// dataDir, when set, holds control.data_dir and ingest.dvr.dir (the
	// disk-full scenario mounts a small tmpfs there).
	dataDir string
}

// rnode is a running (or stopped) `ringside node` process.
type rnode struct {
	spec
	h       *host
	cfgPath string
	logPath string
	admin   *http.Client // to 127.0.0.1:8081 in its namespace
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
}

// mesh is the five nodes, their CA and configs.
type mesh struct {
	t     testing.TB
	lab   *lab
	bin   string
	dir   string
	nodes []*rnode
	byID  map[string]*rnode
}

// buildBinary builds cmd/ringside once for the suite.
func buildBinary(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ringside")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/ringside-live/ringside/cmd/ringside")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ringside: %v\n%s", err, out)
	}
	return bin
}

func (m *mesh) run(args ...string) {
	m.t.Helper()
	if out, err := exec.Command(m.bin, args...).CombinedOutput(); err != nil {
		m.t.Fatalf("ringside %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newMesh writes the CA, one certificate and one config per node; events
// is the YAML list of events every node serves.
func newMesh(t testing.TB, l *lab, bin, dir string, specs []spec, events string) *mesh {
	t.Helper()
	m := &mesh{t: t, lab: l, bin: bin, dir: dir, byID: map[string]*rnode{}}
	pki := filepath.Join(dir, "pki")
	m.run("ca", "init", "--dir", pki)
	var bootstrap, seeds []string
	for _, s := range specs {
		h := l.hosts[s.id]
		if s.voter {
			bootstrap = append(bootstrap, fmt.Sprintf("{id: %s, addr: \"%s:7950\"}", s.id, h.ip))
			seeds = append(seeds, fmt.Sprintf("%q", h.ip+":7946"))
		}
	}
	for _, s := range specs {
		h := l.hosts[s.id]
		m.run("ca", "issue", "--dir", pki, "--node", s.id, "--roles", strings.Join(s.roles, ","), "--hosts", h.ip+",127.0.0.1")
		data := s.dataDir
		if data == "" {
			data = filepath.Join(dir, s.id)
		}
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "node: {id: %s, roles: [%s], region: %s", s.id, strings.Join(s.roles, ", "), s.region)
		if s.tier != "" {
			fmt.Fprintf(&b, ", tier: %s", s.tier)
		}
		b.WriteString("}\n")
		fmt.Fprintf(&b, "http: {listen: \"%s:%s\", max_conns_per_ip: -1}\n", h.ip, httpPort)
		fmt.Fprintf(&b, "mesh: {bind: \"%s:7946\", listen: \"%s:7947\", seeds: [%s], secret_key: %q, profile: lan, peer_timeout: 1s}\n",
			h.ip, h.ip, strings.Join(seeds, ", "), gossipKey)
		fmt.Fprintf(&b, "identity: {cert: %q, key: %q, ca: %q}\n", filepath.Join(pki, s.id+".pem"), filepath.Join(pki, s.id+"-key.pem"), filepath.Join(pki, "ca.pem"))
		fmt.Fprintf(&b, "admin: {listen: \"127.0.0.1:8081\", token: %q}\n", adminToken)
		fmt.Fprintf(&b, "control: {data_dir: %q", filepath.Join(data, "control"))
		if s.voter {
			fmt.Fprintf(&b, ", raft_bind: \"%s:7950\", bootstrap: [%s], ready_timeout: 3s", h.ip, strings.Join(bootstrap, ", "))
		}
		b.WriteString("}\n")
		if hasRole(s.roles, "ingest") {
			fmt.Fprintf(&b, "ingest: {dvr: {dir: %q, max_bytes: 200MiB}}\n", filepath.Join(data, "dvr"))
		}
		b.WriteString("events:\n" + events)
		b.WriteString("log: {level: info, format: json, access: true}\n")
		n := &rnode{spec: s, h: h, cfgPath: filepath.Join(dir, s.id+".yaml"), logPath: filepath.Join(dir, s.id+".log")}
		if err := os.WriteFile(n.cfgPath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		n.admin = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext:       func(ctx context.Context, nw, addr string) (net.Conn, error) { return h.dial(ctx, nw, addr) },
			DisableKeepAlives: true,
		}}
		m.nodes = append(m.nodes, n)
		m.byID[s.id] = n
	}
	t.Cleanup(func() {
		for _, n := range m.nodes {
			n.kill()
		}
	})
	return m
}

func hasRole(roles []string, r string) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// start runs the node's process; its log is appended to logPath.
func (n *rnode) start(t testing.TB, l *lab, bin string) {
	t.Helper()
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := n.h.command(bin, "node", "--config", n.cfgPath)
	cmd.Stdout, cmd.Stderr = f, f
	if err := l.start(cmd); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(exited) }()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
}

// dead reports whether the node's process has exited.
func (n *rnode) dead() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exited == nil {
		return true
	}
	select {
	case <-n.exited:
		return true
	default:
		return false
	}
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// kill ends the process with SIGKILL and waits for it.
func (n *rnode) kill() { n.signal(syscall.SIGKILL) }

func (n *rnode) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// startAll starts every node and waits until each sees all members alive
// and a control leader.
func (m *mesh) startAll() {
	m.t.Helper()
	for _, n := range m.nodes {
		n.start(m.t, m.lab, m.bin)
	}
	m.waitConverged("start", 60*time.Second)
}

// adminDo calls node n's admin API; body is JSON (nil for none).
func (n *rnode) adminDo(ctx context.Context, method, path string, body any, hdr map[string]string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1:8081/admin/v1/"+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := n.admin.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, resp.Header, err
}

type nodesView struct {
	ControlLeader string `json:"control_leader"`
	ConfigVersion uint64 `json:"config_version"`
	Nodes         []struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Identity string `json:"identity"`
	} `json:"nodes"`
}

// view is node n's /admin/v1/nodes.
func (n *rnode) view() (nodesView, error) {
	var v nodesView
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, b, _, err := n.adminDo(ctx, "GET", "nodes", nil, nil)
	if err != nil {
		return v, err
	}
	if st != 200 {
		return v, fmt.Errorf("nodes: %d %s", st, b)
	}
	return v, json.Unmarshal(b, &v)
}

// alive is the set of members n sees alive.
func (v nodesView) alive() map[string]bool {
	s := map[string]bool{}
	for _, x := range v.Nodes {
		if x.State == "alive" {
			s[x.ID] = true
		}
	}
	return s
}

// waitFor polls cond every 100 ms until it holds or timeout; it returns
// how long that took and whether it held.
func waitFor(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	t0 := time.Now()
	for time.Since(t0) < timeout {
		if cond() {
			return time.Since(t0), true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(t0), cond()
}

// converged: every node sees all nodes alive and verified, and the voters
// that name a leader (at least two: a quorum) name the same one.
func (m *mesh) converged() bool {
	leaders := map[string]int{}
	for _, n := range m.nodes {
		v, err := n.view()
		if err != nil || len(v.alive()) != len(m.nodes) {
			return false
		}
		for _, x := range v.Nodes {
			if !strings.HasPrefix(x.Identity, "verified") {
				return false
			}
		}
		if n.voter && v.ControlLeader != "" {
			leaders[v.ControlLeader]++
		}
	}
	return len(leaders) == 1 && maxCount(leaders) >= 2
}

func maxCount(m map[string]int) int {
	best := 0
	for _, v := range m {
		best = max(best, v)
	}
	return best
}

// waitConverged fails the test unless the mesh converges within timeout,
// and returns how long it took.
func (m *mesh) waitConverged(what string, timeout time.Duration) time.Duration {
	m.t.Helper()
	d, ok := waitFor(timeout, func() bool {
		for _, n := range m.nodes {
			if n.dead() {
				m.t.Fatalf("%s: node %s exited (log %s):\n%s", what, n.id, n.logPath, readTail(n.logPath))
			}
		}
		return m.converged()
	})
	if !ok {
		for _, n := range m.nodes {
			v, err := n.view()
			m.t.Logf("%s: %+v %v", n.id, v, err)
		}
		m.t.Fatalf("%s: the mesh did not converge within %v (logs in %s)", what, timeout, m.dir)
	}
	return d
}

// leader is the control leader as the first answering node sees it.
func (m *mesh) leader() string {
	for _, n := range m.nodes {
		if v, err := n.view(); err == nil && v.ControlLeader != "" {
			return v.ControlLeader
		}
	}
	return ""
}
