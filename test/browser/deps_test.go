//go:build unix

package browser

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// chromiumPath is Debian's Chromium; nothing else is ever launched.
const chromiumPath = "/usr/bin/chromium"

// playerFiles are the players' builds the page server hands out: the
// path page/harness.js loads and the file in node_modules.
var playerFiles = []struct{ path, file string }{
	{"/players/hls.js", "hls.js/dist/hls.min.js"},
	{"/players/dash.js", "dashjs/dist/modern/umd/dash.all.min.js"},
	{"/players/shaka.js", "shaka-player/dist/shaka-player.compiled.js"},
}

// requireDeps fails the test (it never skips: CI installs all of this
// through .ci/run) when Chromium, node, ffmpeg or the npm packages are
// missing, naming the script that installs them.
func requireDeps(t *testing.T) {
	t.Helper()
	var missing []string
	if fi, err := os.Stat(chromiumPath); err != nil || fi.Mode()&0o111 == 0 {
		missing = append(missing, chromiumPath+" (Debian package chromium)")
	}
	for _, d := range []struct{ bin, pkg string }{{"node", "nodejs"}, {"ffmpeg", "ffmpeg"}} {
		if _, err := exec.LookPath(d.bin); err != nil {
			missing = append(missing, d.bin+" (Debian package "+d.pkg+")")
		}
	}
	files := []string{"playwright-core/package.json"}
	for _, p := range playerFiles {
		files = append(files, p.file)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join("node_modules", f)); err != nil {
			missing = append(missing, "test/browser/node_modules/"+f+" (npm ci --prefix test/browser)")
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the browser test needs what scripts/ensure-test-deps installs; run it from the repository root "+
			"(as root it installs Debian's chromium and nodejs and runs npm ci in test/browser). Missing:\n  %s",
			strings.Join(missing, "\n  "))
	}
}
