//go:build linux

package browser

import "syscall"

// procAttr puts a child (the demo and its ffmpeg, or node and its
// Chromium) in its own process group, so one signal reaches it whole,
// and kills it if the test process dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
