package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// prefix names every namespace and link the suite makes, so a run killed
// before its cleanup is swept by the next one.
const prefix = "rsf-"

// host is one network namespace with one interface (eth0) on the switch.
type host struct {
	name  string // e.g. "n1", "origin", "client"
	ns    string // prefix + name
	ip    string
	port  int    // its port on the switch
	group string // its initial group
}

// lab is the hosts and the switch between them.
type lab struct {
	t     testing.TB
	hosts map[string]*host
	order []*host
	fab   *fabric
	// spawn runs process starts on one OS thread locked for the lab's
	// life: Pdeathsig fires when the thread that forked a child ends, and
	// inNS retires the threads it locks.
	spawn chan func()
}

// ip runs ip(8).
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sweep removes whatever a previous run left behind.
func sweep() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			// Processes a killed run left in it (ours: only the suite
			// starts processes in these namespaces).
			pids, _ := exec.Command("ip", "netns", "pids", f[0]).Output()
			for _, p := range strings.Fields(string(pids)) {
				// inNS may have moved this process's main thread into the
				// namespace (Go parks, never ends, a locked main thread):
				// never kill ourselves.
				if p == strconv.Itoa(os.Getpid()) {
					continue
				}
				_ = exec.Command("kill", "-9", p).Run()
			}
			_ = ip("netns", "del", f[0])
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], prefix) {
			_ = ip("link", "del", strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
}

// newLab makes a namespace per host (10.77.0.0/24) and the switch; groups
// gives each host its initial group. Everything is removed when the test
// ends, whatever its outcome.
func newLab(t testing.TB, names []string, addrs map[string]string, groups map[string]string) *lab {
	t.Helper()
	sweep()
	l := &lab{t: t, hosts: map[string]*host{}, fab: newFabric(), spawn: make(chan func())}
	go func() {
		runtime.LockOSThread()
		for f := range l.spawn {
			f()
		}
	}()
	t.Cleanup(func() {
		close(l.spawn)
		l.fab.close()
		sweep()
	})
	for i, name := range names {
		h := &host{name: name, ns: prefix + name, ip: addrs[name], port: i, group: groups[name]}
		veth := prefix + name
		steps := [][]string{
			{"netns", "add", h.ns},
			{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.ns},
			{"link", "set", veth, "up"},
			{"-n", h.ns, "addr", "add", h.ip + "/24", "dev", "eth0"},
			{"-n", h.ns, "link", "set", "eth0", "up"},
			{"-n", h.ns, "link", "set", "lo", "up"},
		}
		for _, s := range steps {
			if err := ip(s...); err != nil {
				t.Fatal(err)
			}
		}
		ifi, err := net.InterfaceByName(veth)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.fab.addPort(veth, ifi.Index, h.group); err != nil {
			t.Fatalf("switch port %s: %v", veth, err)
		}
		l.hosts[name] = h
		l.order = append(l.order, h)
	}
	return l
}

// regroup puts each named host in a group; hosts not named keep theirs.
func (l *lab) regroup(groups map[string]string) {
	for name, g := range groups {
		h := l.hosts[name]
		l.fab.setGroup(h.port, g)
		h.group = g
	}
}

// inNS runs f on an OS thread in ns's network namespace. The thread is
// never given back to the runtime (it ends with the goroutine), so no other
// goroutine ever runs in the wrong namespace. Sockets keep the namespace
// they were made in.
func inNS(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// dial connects from h's namespace.
func (h *host) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNS(h.ns, func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// listen listens in h's namespace.
func (h *host) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNS(h.ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// command is a process to run in h's namespace (start it with l.start).
func (h *host) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.ns, name}, args...)...)
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	cmd.Env = os.Environ()
	return cmd
}

// start starts cmd from the lab's spawning thread, so that it is killed
// when the test process dies, and only then.
func (l *lab) start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	l.spawn <- func() { errc <- cmd.Start() }
	return <-errc
}
