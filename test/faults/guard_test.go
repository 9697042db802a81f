package faults

import (
	"os"
	"os/exec"
	"testing"
)

// needLab skips unless the suite was asked for (RINGSIDE_FAULTS=1, as make
// faults does) and this machine can make network namespaces.
func needLab(t *testing.T) {
	t.Helper()
	if os.Getenv("RINGSIDE_FAULTS") != "1" {
		t.Skip("faults: the multi-host fault suite runs with RINGSIDE_FAULTS=1 (make faults): it needs root and network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("faults: needs root (network namespaces, veths, tmpfs)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("faults: needs ip(8) from iproute2 (scripts/ensure-test-deps installs it)")
	}
	if err := exec.Command("ip", "netns", "add", prefix+"probe").Run(); err != nil {
		t.Skip("faults: cannot make a network namespace here: ", err)
	}
	_ = exec.Command("ip", "netns", "del", prefix+"probe").Run()
}
