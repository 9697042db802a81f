// Package childproc runs the ringside binary as a child process for the
// end-to-end tests (test/linearizability, test/browser): it builds
// cmd/ringside of the module the test runs in, with the race detector when
// the test has it, and starts children in their own process group.
package childproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds cmd/ringside of the module the test runs in into dir and
// returns the binary's path; with -race when the test runs under the race
// detector (`make test` does, so a race in a node is found too).
func Build(t testing.TB, dir string) string {
	t.Helper()
	return build(t, dir, raceEnabled)
}

// BuildPlain builds cmd/ringside without the race detector, for tests
// that measure the process (its memory, say): the detector multiplies it.
func BuildPlain(t testing.TB, dir string) string {
	t.Helper()
	return build(t, dir, false)
}

func build(t testing.TB, dir string, race bool) string {
	t.Helper()
	root := ModuleRoot(t)
	bin := filepath.Join(dir, "ringside")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/ringside")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ringside in %s: %v\n%s", root, err, out)
	}
	return bin
}

// ModuleRoot is the directory of the go.mod above the test's working
// directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for root := wd; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
}
