//go:build unix

package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/test/childproc"
)

// demo is one `ringside demo --low-latency` process: a node with every
// role and the two real ffmpegs it starts, pushing the live HLS event
// "demo" and the low-latency LL-DASH/CMAF event llEvent.
type demo struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	outPath string        // stdout: the URLs it prints
	logPath string        // stderr: the node's and the encoder's log
	base    string        // the node's HTTP listener: http://host:port
	tlsBase string        // its HTTPS listener: https://host:port
	admin   string        // the admin API: http://host:port/admin/v1/
	caFile  string        // the demo's throwaway CA, which issued the HTTPS certificate
	// client trusts the demo's CA and nothing else; spki is the base64
	// SHA-256 of the HTTPS certificate's public key, what Chromium is told
	// to accept (see trust_test.go).
	client *http.Client
	spki   string
}

// adminToken is the demo's admin token (its RINGSIDE_TOKEN).
const adminToken = "browser-test-admin-token"

// printed finds what the demo prints: the plain play URL, the admin API,
// the HTTPS play URL and the CA behind its certificate.
var printed = regexp.MustCompile(`play: +(http://[^\s/]+)/live/demo/master\.m3u8[\s\S]*admin: +(http://\S+/admin/v1/)` +
	`[\s\S]*https: +(https://[^\s/]+)/live/demo/master\.m3u8\s+\(certificate from the demo's throwaway CA: (\S+)\)`)

// startDemo runs `ringside demo` on 127.0.0.1 ports of its choosing, waits
// for it to print where it plays and learns to trust its HTTPS listener.
// The process group (the demo and its ffmpeg) is interrupted, then killed,
// when the test ends; a data race in its log fails the test, and on
// failure the log's tail is printed.
func startDemo(t *testing.T, bin string) *demo {
	t.Helper()
	dir := t.TempDir()
	d := &demo{outPath: filepath.Join(dir, "demo.out"), logPath: filepath.Join(dir, "demo.log"), exited: make(chan struct{})}
	outf, err := os.Create(d.outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close() // the child keeps its own descriptors
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(bin, "demo", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--dns", "127.0.0.1:0", "--low-latency")
	d.cmd.Env = append(os.Environ(), "RINGSIDE_TOKEN="+adminToken)
	d.cmd.Stdout, d.cmd.Stderr = outf, logf
	d.cmd.SysProcAttr = childproc.Attr()
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("ringside demo: %v", err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() { d.stop(t) })
	ok := eventually(20*time.Second, func() bool {
		b, _ := os.ReadFile(d.outPath)
		if m := printed.FindSubmatch(b); m != nil {
			d.base, d.admin, d.tlsBase, d.caFile = string(m[1]), string(m[2]), string(m[3]), string(m[4])
			return true
		}
		return closed(d.exited)
	})
	if !ok || d.base == "" {
		out, _ := os.ReadFile(d.outPath)
		t.Fatalf("ringside demo printed no play URLs, admin URL and CA within 20 s (exited: %v); its output:\n%s\nits log:\n%s",
			closed(d.exited), out, d.logTail(30))
	}
	d.client, d.spki = trustDemo(t, d.caFile, d.tlsBase)
	return d
}

// stop interrupts the process group (the demo stops its encoder, then the
// node) and kills it if it is still there 15 s later.
func (d *demo) stop(t *testing.T) {
	if !closed(d.exited) {
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-d.exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.exited
			t.Errorf("ringside demo did not stop within 15 s of SIGINT")
		}
	}
	if b, _ := os.ReadFile(d.logPath); bytes.Contains(b, []byte("WARNING: DATA RACE")) {
		t.Errorf("ringside demo: data race in its log %s:\n%s", d.logPath, b)
	} else if t.Failed() {
		t.Logf("--- ringside demo log tail (%s) ---\n%s", d.logPath, d.logTail(40))
	}
}

func (d *demo) logTail(n int) string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitLive waits until the master playlist on the HTTPS listener lists
// both renditions and each media playlist lists at least minSegments
// segments, so a player that starts three target durations behind the
// live edge has them all.
func (d *demo) waitLive(t *testing.T, minSegments int) {
	t.Helper()
	var last string
	ok := eventually(40*time.Second, func() bool {
		if closed(d.exited) {
			return true // reported below
		}
		master, err := get(d.client, d.tlsBase+"/live/demo/master.m3u8")
		if err != nil {
			last = err.Error()
			return false
		}
		var variants []string
		for _, l := range strings.Split(master, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				variants = append(variants, l)
			}
		}
		if len(variants) != 2 {
			last = "master playlist with " + fmt.Sprint(len(variants)) + " variants:\n" + master
			return false
		}
		for _, v := range variants {
			media, err := get(d.client, d.tlsBase+"/live/demo/"+v)
			if err != nil {
				last = err.Error()
				return false
			}
			if n := strings.Count(media, "#EXTINF"); n < minSegments {
				last = fmt.Sprintf("%s lists %d segments:\n%s", v, n, media)
				return false
			}
		}
		return true
	})
	if !ok || closed(d.exited) {
		t.Fatalf("the demo's stream at %s was not live within 40 s (exited: %v); last: %s",
			d.tlsBase, closed(d.exited), last)
	}
}

// get fetches url and returns its body; a status other than 200 is an
// error.
func get(client *http.Client, url string) (string, error) {
	code, body, err := do(client, http.MethodGet, url, nil, nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d: %s", url, code, body)
	}
	return string(body), nil
}

// do makes one request with a 5 s deadline and returns the status and up
// to 1 MiB of the body.
func do(client *http.Client, method, url string, header http.Header, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// eventually polls cond every 200 ms until it holds or d has passed.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
