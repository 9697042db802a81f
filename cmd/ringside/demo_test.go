package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"

	"github.com/ringside-live/ringside/encoder"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

// TestDemoLowLatencyConfig checks what --low-latency adds: the event
// demo-ll (low latency, 0.5 s parts, its own key) beside demo, and a
// second encoder pushing LL-DASH into it with fragments of that part
// target, whose key stays off ffmpeg's command line.
func TestDemoLowLatencyConfig(t *testing.T) {
	t.Setenv("RINGSIDE_TOKEN", "demo-admin-token")
	dir := t.TempDir()
	if cfg := demoConfig("127.0.0.1:0", "", "", dir, false, false); len(cfg.Events) != 1 || len(demoEncoders(cfg, "http://h", "ffmpeg", false)) != 1 {
		t.Fatalf("without --low-latency: %d events", len(cfg.Events))
	}
	cfg := demoConfig("127.0.0.1:0", "", "", dir, true, false)
	if _, err := demoPKI(&cfg, dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the demo's configuration: %v", err)
	}
	if len(cfg.Events) != 2 || cfg.Events[1].ID != llEvent || !cfg.Events[1].LowLatency.Enabled ||
		time.Duration(cfg.Events[1].LowLatency.PartTarget) != 500*time.Millisecond {
		t.Fatalf("events %+v", cfg.Events)
	}
	if cfg.Events[0].StreamKey == cfg.Events[1].StreamKey || cfg.Events[1].StreamKey == "" {
		t.Error("the low-latency event shares the demo's stream key")
	}
	encs := demoEncoders(cfg, "http://127.0.0.1:8080", "ffmpeg", true)
	if len(encs) != 2 {
		t.Fatalf("%d encoders", len(encs))
	}
	hls, ll := encs[0].cfg, encs[1].cfg
	if hls.LowLatency || !hls.FMP4 || hls.IngestBase != "http://127.0.0.1:8080/ingest/demo" {
		t.Errorf("the HLS encoder: %+v", hls)
	}
	if !ll.LowLatency || ll.PartTarget != 500*time.Millisecond || ll.FPS != 30 || ll.StreamKey != cfg.Events[1].StreamKey ||
		!slices.Equal(ll.Ladder, encoder.DefaultConfig().Ladder) {
		t.Errorf("the low-latency encoder: %+v", ll)
	}
	if err := ll.Validate(); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(encoder.Args(ll), " ")
	if !strings.HasSuffix(args, " http://127.0.0.1:8080/ingest/demo-ll/manifest.mpd") || !strings.Contains(args, "-ldash 1") ||
		strings.Contains(args, ll.StreamKey) {
		t.Errorf("the low-latency encoder's arguments: %s", args)
	}
}

// TestDemoBackupConfig checks what --backup adds: the redundant event
// backupEvent, with a DVR window, feeds with a key each (none of its own)
// and manual switch back, and two encoders on the cheap ladder pushing
// into the same ingest URL, each with its feed's key.
func TestDemoBackupConfig(t *testing.T) {
	t.Setenv("RINGSIDE_TOKEN", "demo-admin-token")
	dir := t.TempDir()
	cfg := demoConfig("127.0.0.1:0", "", "", dir, false, true)
	if _, err := demoPKI(&cfg, dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the demo's configuration: %v", err)
	}
	if cfg.Ingest.DVR.Dir == "" || cfg.Events[0].DVRWindow == 0 {
		t.Errorf("DVR: dir %q, demo's window %v", cfg.Ingest.DVR.Dir, cfg.Events[0].DVRWindow)
	}
	ev := cfg.Events[len(cfg.Events)-1]
	if ev.ID != backupEvent || ev.Feeds == nil || ev.StreamKey != "" || ev.DVRWindow == 0 || ev.Feeds.SwitchBack != "manual" ||
		ev.Feeds.Primary.StreamKey == "" || ev.Feeds.Primary.StreamKey == ev.Feeds.Backup.StreamKey {
		t.Fatalf("the redundant event: %+v (feeds %+v)", ev, ev.Feeds)
	}
	encs := demoEncoders(cfg, "http://127.0.0.1:8080", "ffmpeg", false)
	if len(encs) != 3 {
		t.Fatalf("%d encoders", len(encs))
	}
	for i, feed := range []string{"primary", "backup"} {
		e := encs[1+i]
		want := ev.Feeds.Primary.StreamKey
		if feed == "backup" {
			want = ev.Feeds.Backup.StreamKey
		}
		if e.event != backupEvent || e.feed != feed || e.cfg.StreamKey != want || e.cfg.Ladder[0].Height != 240 ||
			e.cfg.IngestBase != "http://127.0.0.1:8080/ingest/"+backupEvent {
			t.Errorf("the %s feed's encoder: %+v", feed, e)
		}
		if err := e.cfg.Validate(); err != nil {
			t.Error(err)
		}
	}
}

// backupPrinted is what --backup prints: the redundant event's play, DVR
// and start-over URLs, the feeds command and the primary's PID.
var backupPrinted = regexp.MustCompile(`admin: +(http://\S+)/admin/v1/[\s\S]*Redundant event "demo-backup"[\s\S]*` +
	`play: +(http://\S+/live/demo-backup/master\.m3u8)\n +dvr: +(http://\S+/master\.dvr\.m3u8)\n +start: +(http://\S+/master\.startover\.m3u8)\n` +
	` +feeds: +RINGSIDE_ADDR=\S+ RINGSIDE_TOKEN=\S+ ringside ctl (events feeds demo-backup) [\s\S]*pid (\d+); the backup's is (\d+)[\s\S]*` +
	`kill -9 (\d+)\n[\s\S]*ringside ctl (events feed demo-backup backup) --reason "drill"\n`)

// TestDemoBackup runs `ringside demo --backup`: the printed URLs of the
// redundant event play (ffmpeg reads the master through a forced switch
// and a killed primary), the printed ctl commands show and switch the
// feeds, `kill -9` on the printed PID moves the output to the backup and
// the demo starts the primary again; the DVR and start-over playlists
// are served, with program date-times and a start at 0.
func TestDemoBackup(t *testing.T) {
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (scripts/ensure-ffmpeg)", bin)
		}
	}
	t.Setenv("RINGSIDE_TOKEN", "demo-admin-token")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb syncbuf.Buffer
	go func() {
		done <- run(ctx, []string{"demo", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--backup", "--log-level", "warn"}, &out, &errb)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exit %d: %s", code, errb.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("demo did not stop within 20 s of Ctrl-C")
		}
	}()
	var m []string
	eventually(t, 20*time.Second, func() bool { m = backupPrinted.FindStringSubmatch(out.String()); return m != nil },
		func() string {
			return "the redundant event's URLs and PIDs in the output:\n" + out.String() + "\n" + errb.String()
		})
	adminAddr, master, dvrURL, startURL := m[1], m[2], m[3], m[4]
	feedsCmd, switchCmd := strings.Fields(m[5]), strings.Fields(m[9])
	primary, _ := strconv.Atoi(m[6])
	if m[8] != m[6] || m[6] == m[7] {
		t.Fatalf("kill -9 %s for the primary (pid %s, backup %s)", m[8], m[6], m[7])
	}
	base := strings.TrimSuffix(master, "master.m3u8")
	waitHTTP(t, master, 30*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Count(b, "#EXT-X-STREAM-INF") == 2
	}, &errb)
	waitHTTP(t, base+"0/index.m3u8", 30*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Count(b, "#EXTINF") >= 3
	}, &errb)
	ctl := func(args ...string) string {
		t.Helper()
		var o, e syncbuf.Buffer
		if code := runCtl(append([]string{"--addr", adminAddr}, args...), &o, &e); code != 0 {
			t.Fatalf("ringside ctl %s: exit %d: %s%s", strings.Join(args, " "), code, o.String(), e.String())
		}
		return o.String()
	}
	feeds := func() admin.FeedsResponse {
		t.Helper()
		var fs admin.FeedsResponse
		if err := json.Unmarshal([]byte(ctl(append([]string{"-o", "json"}, feedsCmd...)...)), &fs); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	if o := ctl(feedsCmd...); !strings.Contains(o, "primary") || !strings.Contains(o, "backup") {
		t.Fatalf("%v: %s", feedsCmd, o)
	}
	eventually(t, 20*time.Second, func() bool {
		fs := feeds()
		return fs.Active == "primary" && len(fs.Feeds) == 2 && fs.Feeds[0].Healthy && fs.Feeds[1].Healthy
	}, func() string { return "both feeds healthy, the primary active: " + ctl(feedsCmd...) })

	// A player (ffmpeg as a client) reads the printed master throughout.
	pctx, pcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer pcancel()
	player := exec.CommandContext(pctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", master, "-t", "24", "-c", "copy", "-f", "null", "-")
	var playerOut syncbuf.Buffer
	player.Stdout, player.Stderr = &playerOut, &playerOut
	if err := player.Start(); err != nil {
		t.Fatal(err)
	}

	// The printed forced switch, then back by hand.
	ctl(append(switchCmd, "--reason", "drill")...)
	if fs := feeds(); fs.Active != "backup" || fs.LastSwitch == nil || !strings.Contains(fs.LastSwitch.Reason, "drill") {
		t.Fatalf("after the forced switch: %s", ctl(feedsCmd...))
	}
	msn := mediaSequence(t, base+"0/index.m3u8")
	eventually(t, 20*time.Second, func() bool { return mediaSequence(t, base+"0/index.m3u8") >= msn+2 },
		func() string { return "the output moves on from the backup" })
	ctl("events", "feed", backupEvent, "primary", "--reason", "drill over")

	// The printed kill: the output moves to the backup by itself, and the
	// demo starts the primary's ffmpeg again.
	if err := syscall.Kill(primary, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", primary, err)
	}
	eventually(t, 20*time.Second, func() bool { return feeds().Active == "backup" },
		func() string { return "the output switched to the backup after kill -9: " + ctl(feedsCmd...) })
	eventually(t, 20*time.Second, func() bool { return strings.Contains(out.String(), "primary feed's ffmpeg started again: pid") },
		func() string { return "the demo restarting the primary:\n" + out.String() })
	if err := player.Wait(); err != nil {
		t.Errorf("ffmpeg reading %s through a forced switch and a killed primary: %v\n%s", master, err, playerOut.String())
	}

	// DVR: the master and each rendition rewind, the start-over plays.
	waitHTTP(t, dvrURL, 5*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Count(b, ".dvr.m3u8") == 2
	}, &errb)
	waitHTTP(t, base+"0/index.dvr.m3u8", 5*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, "#EXT-X-PLAYLIST-TYPE:EVENT") && strings.Contains(b, "#EXT-X-PROGRAM-DATE-TIME") &&
			strings.Count(b, "#EXTINF") >= 8
	}, &errb)
	waitHTTP(t, base+"0/index.startover.m3u8", 5*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, "#EXT-X-START:TIME-OFFSET=0")
	}, &errb)
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if probe, err := exec.CommandContext(sctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", startURL).
		Output(); err != nil || !strings.Contains(string(probe), "h264") {
		t.Errorf("ffprobe %s: %v\n%s", startURL, err, probe)
	}
	// The demo event's DVR too.
	waitHTTP(t, strings.Replace(dvrURL, "/live/demo-backup/", "/live/demo/", 1), 5*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, ".dvr.m3u8")
	}, &errb)
}

// mediaSequence is the EXT-X-MEDIA-SEQUENCE of the media playlist at url
// (-1 when it cannot be read).
func mediaSequence(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		return -1
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}
