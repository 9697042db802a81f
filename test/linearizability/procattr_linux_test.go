//go:build linux

package linearizability

import "syscall"

// procAttr puts a node in its own process group (so one signal reaches
// it whole) and kills it if the test process dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
