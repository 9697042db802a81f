//go:build unix

package linearizability

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/test/childproc"
)

// Tokens and the gossip key (base64 of 32 bytes) of every cluster the
// test starts.
const (
	adminToken = "linearizability-admin-token"
	gossipKey  = "bGluZWFyaXphYmlsaXR5LWdvc3NpcC1rZXktMzJieSE="
)

// freeAddr returns a loopback address whose port is free right now. The
// nodes are separate processes that must know each other's addresses
// before they start, so the port is bound and released here.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one `ringside node` process: its configuration, its log, and
// the process while it runs. Restarts reuse the configuration file and
// data directory.
type proc struct {
	name    string
	voter   bool
	bin     string
	cfgPath string
	logPath string
	admin   string // admin.listen, host:port

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	paused bool
}

// adminURL is the base URL of the node's admin listener.
func (p *proc) adminURL() string { return "http://" + p.admin }

// start runs the process, in its own process group, appending stdout and
// stderr to its log.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.exited) {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own descriptor
	fmt.Fprintf(logf, "=== linearizability test: starting %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, "node", "--config", p.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childproc.Attr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p.cmd, p.exited, p.paused = cmd, exited, false
	return nil
}

// running reports whether the process runs (paused or not).
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !closed(p.exited)
}

// answering reports whether the process runs and is not paused.
func (p *proc) answering() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !closed(p.exited) && !p.paused
}

// crashed returns how the process ended when it exited without being
// killed.
func (p *proc) crashed() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || !closed(p.exited) {
		return "", false
	}
	return p.cmd.ProcessState.String(), true
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// signal sends sig to the process group.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s: not running", p.name)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("%s: %v: %w", p.name, sig, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		p.paused = true
	case syscall.SIGCONT:
		p.paused = false
	}
	return nil
}

// kill SIGKILLs the process group and waits for the process to exit.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd, p.paused = nil, false
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// resume SIGCONTs the process if it is paused.
func (p *proc) resume() error {
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	if !paused {
		return nil
	}
	return p.signal(syscall.SIGCONT)
}

// logTail returns the last n lines of the process's log.
func (p *proc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// cluster is three control voters and one edge, each its own process.
type cluster struct {
	dir    string
	voters []*proc
	edge   *proc
}

// all returns the voters, then the edge.
func (c *cluster) all() []*proc { return append(append([]*proc(nil), c.voters...), c.edge) }

// startCluster writes the four configurations and starts the processes.
// Every process is killed when the test ends; on failure the tail of each
// log is printed.
func startCluster(t *testing.T, bin string) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir()}
	type addrs struct{ http, admin, gossip, mesh, raft string }
	names := []string{"v0", "v1", "v2", "edge"}
	as := make([]addrs, len(names))
	var seeds, bootstrap []string
	for i := range names {
		as[i] = addrs{http: freeAddr(t), admin: freeAddr(t), gossip: freeAddr(t), mesh: freeAddr(t)}
		seeds = append(seeds, fmt.Sprintf("%q", as[i].gossip))
		if i < 3 {
			as[i].raft = freeAddr(t)
			bootstrap = append(bootstrap, fmt.Sprintf("{id: %q, addr: %q}", names[i], as[i].raft))
		}
	}
	// The cluster CA and a certificate per node, as `ringside ca` makes them.
	ca, err := identity.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	pki := filepath.Join(c.dir, "pki")
	caFile, _, err := ca.WriteFiles(pki, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		dataDir := filepath.Join(c.dir, name, "data")
		control := fmt.Sprintf("{data_dir: %q, profile: test}", dataDir)
		roles := "[edge]"
		if i < 3 {
			roles = "[control]"
			control = fmt.Sprintf("{data_dir: %q, profile: test, raft_bind: %q, bootstrap: [%s]}",
				dataDir, as[i].raft, strings.Join(bootstrap, ", "))
		}
		nc, err := ca.Issue(name, strings.Split(strings.Trim(roles, "[]"), ","), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := nc.WriteFiles(pki)
		if err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`node: {id: %q, roles: %s}
http: {listen: %q}
mesh: {bind: %q, listen: %q, seeds: [%s], secret_key: %q, profile: test}
identity: {cert: %q, key: %q, ca: %q}
admin: {listen: %q, token: %q}
control: %s
log: {level: info}
`, name, roles, as[i].http, as[i].gossip, as[i].mesh, strings.Join(seeds, ", "), gossipKey, cert, key, caFile, as[i].admin, adminToken, control)
		// Created here, as an operator would.
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		p := &proc{name: name, voter: i < 3, bin: bin, admin: as[i].admin,
			cfgPath: filepath.Join(c.dir, name, "node.yaml"), logPath: filepath.Join(c.dir, name, "node.log")}
		if err := os.WriteFile(p.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if p.voter {
			c.voters = append(c.voters, p)
		} else {
			c.edge = p
		}
	}
	t.Cleanup(func() {
		for _, p := range c.all() {
			p.kill()
		}
		if t.Failed() {
			for _, p := range c.all() {
				t.Logf("--- %s log tail (%s) ---\n%s", p.name, p.logPath, p.logTail(40))
			}
		}
	})
	for _, p := range c.all() {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}
