//go:build unix

package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/syncbuf"
	"github.com/ringside-live/ringside/test/childproc"
)

// backupEvent is the redundant event of `ringside demo --backup`: two
// ffmpegs (240p+144p, 2 s segments) push its primary and backup feed into
// the demo's node.
const backupEvent = "demo-backup"

// backupPrinted finds what `ringside demo --backup` prints: the admin API,
// the redundant event's master and the primary's PID in its kill line.
var backupPrinted = regexp.MustCompile(`admin: +(http://\S+/admin/v1/)[\s\S]*Redundant event "demo-backup"[\s\S]*` +
	`play: +(http://\S+)/live/demo-backup/master\.m3u8[\s\S]*kill -9 (\d+)\n`)

// TestFeedSwitchPlayback plays the redundant event of `ringside demo
// --backup` in hls.js (headless Chromium) while the output is switched
// under it: a forced switch to the backup (admin POST), a forced switch
// back, then the primary's ffmpeg killed (kill -9 on the PID the demo
// prints), after which the node fails over to the backup on its own. The
// player must never stall for longer than one segment (the playlist's
// target duration), measured from the video element's own clock
// (currentTime sampled every 50 ms) and its waiting events; the stall,
// the buffer ahead and the media time played around each switch are
// logged (t.Logf, and the FEEDSWITCH JSON line).
func TestFeedSwitchPlayback(t *testing.T) {
	requireDeps(t)
	bin := childproc.Build(t, t.TempDir())
	d, primaryPID := startBackupDemo(t, bin)
	page := startPage(t)
	master := d.base + "/live/" + backupEvent + "/master.m3u8"
	target := d.waitFeeds(t)

	drv := startFeedsDriver(t, map[string]any{"player": "hls.js", "page": page, "manifest": master,
		"startTimeout": 20, "maxSeconds": 90})
	auth := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}}
	force := func(feed string) {
		body := fmt.Sprintf(`{"active":%q,"reason":"browser test"}`, feed)
		if st, b, err := do(d.client, "POST", d.admin+"events/"+backupEvent+"/feeds", auth, []byte(body)); err != nil || st != 200 {
			t.Fatalf("switch to %s: %d %s %v", feed, st, b, err)
		}
	}
	// Four segments between actions: hls.js plays about three target
	// durations behind the live edge, so each switch reaches the playhead
	// before the next action.
	gap := 4 * target.Seconds()
	var actions []feedAction
	act := func(name string, do func()) {
		drv.waitPlayed(t, drv.played()+gap, name)
		actions = append(actions, feedAction{Name: name, At: time.Now()})
		do()
	}
	drv.waitPlayed(t, 3*target.Seconds(), "warm-up")
	act("forced switch to backup", func() { force("backup") })
	act("forced switch to primary", func() { force("primary") })
	act("primary encoder killed", func() {
		if err := syscall.Kill(primaryPID, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", primaryPID, err)
		}
		ok := eventually(15*time.Second, func() bool { return d.activeFeed() == "backup" })
		actions[len(actions)-1].SwitchedAfter = time.Since(actions[len(actions)-1].At).Seconds()
		if !ok {
			t.Errorf("the output did not fail over to the backup within 15 s of kill -9 (active: %s)", d.activeFeed())
		}
	})
	drv.waitPlayed(t, drv.played()+6*target.Seconds(), "after the failover")
	r := drv.stop(t)

	p := r.Report
	if p == nil || !p.Started || r.DriverError != "" {
		t.Fatalf("hls.js never played %s (%s %s); console:\n%s", master, r.TimedOut, r.DriverError, strings.Join(r.Console, "\n"))
	}
	for _, e := range p.Errors {
		if e.Fatal {
			t.Errorf("hls.js: %s", e)
		} else {
			t.Logf("hls.js (non-fatal): %s", e)
		}
	}
	longest, worst := r.longestFreeze()
	for i := range actions {
		a := &actions[i]
		end := time.UnixMilli(r.Samples[len(r.Samples)-1].T)
		if i+1 < len(actions) {
			end = actions[i+1].At
		}
		r.around(a, end)
		t.Logf("%s: the output on the new feed after %.2f s; buffer ahead %.2f s before, at least %.2f s until the next action "+
			"(%.1f s later); %.2f s of media played in those %.1f s; longest freeze %.2f s",
			a.Name, a.SwitchedAfter, a.BufferBefore, a.MinBufferAfter, a.Window, a.Played, a.Window, a.Freeze)
	}
	waits := r.waitingSeconds()
	t.Logf("hls.js %s on %s: %.1f s played; longest freeze %.2f s (at %s), %d waiting events (%.2f s in all); harness stalls %v; "+
		"segment (target duration) %v", p.PlayerVersion, master, p.SecondsPlayed, longest, worst.Format("15:04:05.000"), len(r.MediaEvents.waiting()),
		waits, p.Stalls, target)
	rec, _ := json.Marshal(map[string]any{"Player": p.PlayerVersion, "Target": target.Seconds(), "LongestFreeze": longest,
		"WaitingSeconds": waits, "Played": p.SecondsPlayed, "Actions": actions})
	t.Logf("FEEDSWITCH %s", rec)
	if longest > target.Seconds() {
		t.Errorf("hls.js stalled %.2f s, more than one segment (%v)", longest, target)
	}
	if waits > target.Seconds() {
		t.Errorf("hls.js waited %.2f s in all, more than one segment (%v)", waits, target)
	}
}

// feedAction is one thing the test did to the stream, and what the
// player did around it.
type feedAction struct {
	Name string
	At   time.Time
	// SwitchedAfter: seconds until the admin API named the new feed
	// (0: at once, a forced switch).
	SwitchedAfter float64
	// Window is the seconds from this action to the next (or the end),
	// which covers the switch reaching the playhead. BufferBefore is the
	// buffer ahead of the playhead just before; MinBufferAfter the least
	// in the window; Played the media time played in it; Freeze the
	// longest stretch without currentTime moving, from 1 s before to the
	// window's end.
	Window, BufferBefore, MinBufferAfter, Played, Freeze float64
}

// startBackupDemo runs `ringside demo --backup` like startDemo runs the
// low-latency one (own process group, interrupted then killed at the end,
// a data race in its log fails the test) and returns it with the PID of
// the primary feed's ffmpeg, as printed.
func startBackupDemo(t *testing.T, bin string) (*demo, int) {
	t.Helper()
	dir := t.TempDir()
	d := &demo{outPath: filepath.Join(dir, "demo.out"), logPath: filepath.Join(dir, "demo.log"), exited: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second}}
	outf, err := os.Create(d.outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close()
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(bin, "demo", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--backup")
	d.cmd.Env = append(os.Environ(), "RINGSIDE_TOKEN="+adminToken)
	d.cmd.Stdout, d.cmd.Stderr = outf, logf
	d.cmd.SysProcAttr = childproc.Attr()
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("ringside demo: %v", err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() { d.stop(t) })
	var pid int
	ok := eventually(20*time.Second, func() bool {
		b, _ := os.ReadFile(d.outPath)
		if m := backupPrinted.FindSubmatch(b); m != nil {
			d.admin, d.base = string(m[1]), string(m[2])
			pid, _ = strconv.Atoi(string(m[3]))
			return true
		}
		return closed(d.exited)
	})
	if !ok || pid == 0 {
		out, _ := os.ReadFile(d.outPath)
		t.Fatalf("ringside demo --backup printed no play URL, admin URL and PID within 20 s (exited: %v); its output:\n%s\nits log:\n%s",
			closed(d.exited), out, d.logTail(30))
	}
	return d, pid
}

// activeFeed is the redundant event's active feed per the admin API.
func (d *demo) activeFeed() string {
	st, b, err := do(d.client, "GET", d.admin+"events/"+backupEvent+"/feeds", http.Header{"Authorization": {"Bearer " + adminToken}}, nil)
	if err != nil || st != 200 {
		return fmt.Sprintf("(%d %v)", st, err)
	}
	var fs struct{ Active string }
	json.Unmarshal(b, &fs)
	return fs.Active
}

// waitFeeds waits until the admin API shows both feeds received and
// healthy with the primary active, and the output's media playlists list
// four segments each (hls.js starts three target durations behind the
// live edge); it returns the target duration.
func (d *demo) waitFeeds(t *testing.T) time.Duration {
	t.Helper()
	var last string
	var target time.Duration
	ok := eventually(40*time.Second, func() bool {
		if closed(d.exited) {
			return true
		}
		st, b, err := do(d.client, "GET", d.admin+"events/"+backupEvent+"/feeds", http.Header{"Authorization": {"Bearer " + adminToken}}, nil)
		var fs struct {
			Active string
			Feeds  []struct{ Healthy bool }
		}
		if err != nil || st != 200 || json.Unmarshal(b, &fs) != nil || fs.Active != "primary" || len(fs.Feeds) != 2 ||
			!fs.Feeds[0].Healthy || !fs.Feeds[1].Healthy {
			last = fmt.Sprintf("feeds: %d %s %v", st, b, err)
			return false
		}
		for _, v := range []string{"0", "1"} {
			pl, err := get(d.client, d.base+"/live/"+backupEvent+"/"+v+"/index.m3u8")
			if err != nil || strings.Count(pl, "#EXTINF") < 4 {
				last = fmt.Sprintf("rendition %s: %v\n%s", v, err, pl)
				return false
			}
			if _, td, ok := strings.Cut(pl, "#EXT-X-TARGETDURATION:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(td, "\n", 2)[0]))
				target = time.Duration(n) * time.Second
			}
		}
		return target > 0
	})
	if !ok || closed(d.exited) {
		t.Fatalf("the redundant event was not live within 40 s (exited: %v); last: %s", closed(d.exited), last)
	}
	return target
}

// feedsDriver is a running feeds.mjs.
type feedsDriver struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	progress chan feedProgress
	result   chan feedsResult
	last     feedProgress
	stderr   syncbuf.Buffer // written by exec's copier, read on failure
	lineErr  atomic.Value   // string: the last stdout line that did not decode
	exited   chan struct{}  // closed when the driver's stdout ends
}

// failure says what the test knows about a driver that gave no result.
func (d *feedsDriver) failure() string {
	s := "stderr:\n" + d.stderr.String()
	if e, _ := d.lineErr.Load().(string); e != "" {
		s += "\nundecodable output: " + e
	}
	return s
}

type feedProgress struct {
	Played, CurrentTime, BufferedAhead float64
	T                                  int64 // Unix ms
}

// feedsResult is feeds.mjs's final line.
type feedsResult struct {
	Report      *report       `json:"report"`
	Samples     []videoSample `json:"samples"`
	MediaEvents mediaEvents   `json:"mediaEvents"`
	Requests    []request     `json:"requests"`
	Console     []string      `json:"console"`
	TimedOut    string        `json:"timedOut"`
	DriverError string        `json:"driverError"`
}

// videoSample is the video element at T (Unix ms).
type videoSample struct {
	T             int64   `json:"t"`
	CurrentTime   float64 `json:"currentTime"`
	BufferedAhead float64 `json:"bufferedAhead"`
	Paused        bool    `json:"paused"`
	ReadyState    int     `json:"readyState"`
}

type mediaEvents []struct {
	T    int64  `json:"t"`
	Type string `json:"type"`
}

func (es mediaEvents) waiting() mediaEvents {
	var w mediaEvents
	for _, e := range es {
		if e.Type == "waiting" {
			w = append(w, e)
		}
	}
	return w
}

// startFeedsDriver starts feeds.mjs on spec; node and its Chromium form a
// process group, killed when the test ends.
func startFeedsDriver(t *testing.T, spec map[string]any) *feedsDriver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	d := &feedsDriver{cmd: exec.CommandContext(ctx, "node", "feeds.mjs"), progress: make(chan feedProgress, 1000), result: make(chan feedsResult, 1),
		exited: make(chan struct{})}
	d.cmd.Stderr = &d.stderr
	d.cmd.SysProcAttr = childproc.Attr()
	d.cmd.Cancel = func() error { return syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL) }
	d.cmd.WaitDelay = 5 * time.Second
	stdin, err := d.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.stdin = stdin
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("node feeds.mjs: %v", err)
	}
	t.Cleanup(func() { d.stdin.Close(); d.cmd.Wait() })
	b, _ := json.Marshal(spec)
	fmt.Fprintf(stdin, "%s\n", b)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var line struct {
				Progress *feedProgress
				Result   *feedsResult
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				// A line the test cannot read is the driver's fault
				// and must not be lost in silence: say so at stop.
				d.lineErr.Store(fmt.Sprintf("%v in a %d-byte line starting %.200q", err, len(sc.Bytes()), sc.Bytes()))
				continue
			}
			if line.Progress != nil {
				select {
				case d.progress <- *line.Progress:
				default:
				}
			}
			if line.Result != nil {
				d.result <- *line.Result
			}
		}
		close(d.progress)
		close(d.exited)
	}()
	return d
}

// played is the media time played by the last progress report.
func (d *feedsDriver) played() float64 { return d.last.Played }

// waitPlayed waits (at most 30 s) until the player has played seconds of
// media; the driver ending first fails the test.
func (d *feedsDriver) waitPlayed(t *testing.T, seconds float64, what string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for d.last.Played < seconds {
		select {
		case p, ok := <-d.progress:
			if !ok {
				r := d.stop(t)
				t.Fatalf("%s: the driver ended before %.1f s played (%s %s); %s\nconsole:\n%s", what, seconds,
					r.TimedOut, r.DriverError, d.failure(), strings.Join(r.Console, "\n"))
			}
			d.last = p
		case <-timeout:
			t.Fatalf("%s: %.1f s not played within 30 s (played %.1f s)", what, seconds, d.last.Played)
		}
	}
}

// stop ends playback and returns the driver's result.
func (d *feedsDriver) stop(t *testing.T) feedsResult {
	t.Helper()
	io.WriteString(d.stdin, "stop\n")
	go func() {
		for range d.progress {
		}
	}()
	timeout := time.After(90 * time.Second) // a loaded machine: the report is written after playback stops
	for {
		select {
		case r := <-d.result:
			return r
		case <-d.exited:
			select {
			case r := <-d.result:
				return r
			default:
			}
			t.Fatalf("feeds.mjs ended without a result; %s", d.failure())
		case <-timeout:
			t.Fatalf("feeds.mjs gave no result within 90 s of stop; %s", d.failure())
		}
	}
}

// longestFreeze is the longest stretch after the first frame in which the
// video's currentTime did not move while it was not paused, and when it
// began.
func (r feedsResult) longestFreeze() (float64, time.Time) {
	return r.freezeIn(0, 1<<62)
}

func (r feedsResult) freezeIn(from, to int64) (float64, time.Time) {
	var longest float64
	var at time.Time
	var since int64
	started := false
	for i, s := range r.Samples {
		if !started {
			started = i > 0 && s.CurrentTime != r.Samples[i-1].CurrentTime
			continue
		}
		if s.T < from || s.T > to {
			since = 0
			continue
		}
		moving := s.Paused || s.CurrentTime != r.Samples[i-1].CurrentTime
		switch {
		case !moving && since == 0:
			since = r.Samples[i-1].T
		case moving && since != 0:
			since = 0
		}
		if since != 0 {
			if f := float64(s.T-since) / 1000; f > longest {
				longest, at = f, time.UnixMilli(since)
			}
		}
	}
	return longest, at
}

// around fills in a's player figures from the samples up to end.
func (r feedsResult) around(a *feedAction, end time.Time) {
	t0, t1 := a.At.UnixMilli(), end.UnixMilli()
	a.Window = end.Sub(a.At).Seconds()
	a.MinBufferAfter = -1
	var first, last *videoSample
	for i := range r.Samples {
		s := &r.Samples[i]
		if s.T <= t0 {
			a.BufferBefore = s.BufferedAhead
			first = s
			continue
		}
		if s.T > t1 {
			break
		}
		if a.MinBufferAfter < 0 || s.BufferedAhead < a.MinBufferAfter {
			a.MinBufferAfter = s.BufferedAhead
		}
		last = s
	}
	if first != nil && last != nil {
		a.Played = last.CurrentTime - first.CurrentTime
	}
	a.Freeze, _ = r.freezeIn(t0-1000, t1)
}

// waitingSeconds adds up the stretches from each waiting event to the
// next playing event.
func (r feedsResult) waitingSeconds() float64 {
	var total float64
	var since int64
	played := false // a waiting event before the first frame is the start-up
	for _, e := range r.MediaEvents {
		if !played {
			played = e.Type == "playing"
			continue
		}
		switch {
		case e.Type == "waiting" && since == 0:
			since = e.T
		case e.Type == "playing" && since != 0:
			total += float64(e.T-since) / 1000
			since = 0
		}
	}
	return total
}
