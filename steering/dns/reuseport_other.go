//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dns

import "syscall"

const reusePortSupported = false

func reusePort(network, address string, c syscall.RawConn) error { return nil }
