//go:build unix && !linux

package browser

import "syscall"

// procAttr puts a child (the demo and its ffmpeg, or node and its
// Chromium) in its own process group, so one signal reaches it whole.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
