//go:build unix && !linux

package linearizability

import "syscall"

// procAttr puts a node in its own process group, so one signal reaches it
// whole.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
