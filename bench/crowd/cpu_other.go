//go:build !unix

package crowd

import "time"

// cpuTime is not measured on this platform.
func cpuTime() (user, sys time.Duration) { return 0, 0 }
