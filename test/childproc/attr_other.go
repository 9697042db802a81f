//go:build unix && !linux

package childproc

import "syscall"

// Attr puts a child in its own process group, so one signal reaches it
// whole.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
