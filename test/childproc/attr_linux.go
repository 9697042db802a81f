//go:build linux

package childproc

import "syscall"

// Attr puts a child (a node, the demo and its ffmpeg, or the player driver
// and its Chromium) in its own process group, so one signal reaches it
// whole, and kills it if the test process dies first.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
