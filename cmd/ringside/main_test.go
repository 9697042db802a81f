package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ringside-live/ringside/node/nodetest"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "usage"},
		{[]string{"fly"}, 2, `unknown command "fly"`},
		{[]string{"node"}, 1, "--config FILE is required"},
		{[]string{"node", "--config", "/nonexistent.yaml"}, 1, "no such file"},
		{[]string{"node", "--nope"}, 1, "flag provided but not defined"},
	}
	for _, tt := range tests {
		var out, errb syncbuf.Buffer
		if code := run(context.Background(), tt.args, &out, &errb); code != tt.code || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("run %v = %d, stderr %q; want %d with %q", tt.args, code, errb.String(), tt.code, tt.msg)
		}
	}
	var out syncbuf.Buffer
	if run(context.Background(), []string{"version"}, &out, io.Discard) != 0 || !strings.Contains(out.String(), "ringside") {
		t.Error("version")
	}
}

// eventually polls cond until it holds, failing the test with what() after
// limit.
func eventually(t *testing.T, limit time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitHTTP(t *testing.T, url string, limit time.Duration, want func(*http.Response, string) bool, logs ...*syncbuf.Buffer) {
	t.Helper()
	eventually(t, limit, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return want(resp, string(b))
	}, func() string {
		msg := url
		for _, b := range logs {
			msg += "\n" + b.String()
		}
		return msg
	})
}

func TestNodeCommand(t *testing.T) {
	addr := nodetest.FreeAddr(t)
	cfg := filepath.Join(t.TempDir(), "node.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("node: {id: cli}\nhttp: {listen: %q}\nlog: {level: warn}\n", addr)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb syncbuf.Buffer
	go func() { done <- run(ctx, []string{"node", "--config", cfg}, io.Discard, &errb) }()
	waitHTTP(t, "http://"+addr+"/healthz", 10*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, `"cli"`)
	})
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestDemoCommand is what `make run` does: one node and two real ffmpegs
// (--low-latency); the printed master playlist URL plays, and the
// low-latency event's MPD and LL-HLS playlists are live.
func TestDemoCommand(t *testing.T) {
	t.Setenv("RINGSIDE_TOKEN", "demo-admin-token")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb syncbuf.Buffer
	go func() {
		done <- run(ctx, []string{"demo", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0",
			"--dns", "127.0.0.1:0", "--low-latency", "--log-level", "warn"}, &out, &errb)
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
	// The demo prints where it listens.
	printed := regexp.MustCompile(`play: +http://(\S+)/live/demo/master.m3u8[\s\S]*admin: +http://(\S+)/admin/v1/[\s\S]*dig @(\S+) -p (\d+) live` +
		`[\s\S]*ll-hls: +(http://\S+/live/demo-ll/ll.m3u8)[\s\S]*ll-dash: +(http://\S+/live/demo-ll/manifest.mpd)` +
		`[\s\S]*https: +(https://\S+/live/demo/master.m3u8)\s+\(certificate from the demo's throwaway CA: (\S+)\)` +
		`\s+(https://\S+/live/demo-ll/ll.m3u8) +(https://\S+/live/demo-ll/manifest.mpd)\n`)
	var m []string
	eventually(t, 20*time.Second, func() bool { m = printed.FindStringSubmatch(out.String()); return m != nil },
		func() string { return "demo URLs in its output:\n" + out.String() + "\n" + errb.String() })
	addr, admin, dnsAddr := m[1], m[2], net.JoinHostPort(m[3], m[4])
	llMPD, httpsMaster, caFile, httpsLLMPD := m[6], m[7], m[8], m[10]
	if want := "http://" + addr + "/live/demo-ll/"; m[5] != want+"ll.m3u8" || llMPD != want+"manifest.mpd" {
		t.Errorf("low-latency URLs %s %s, want them on %s", m[5], llMPD, want)
	}
	// As soon as the node answers at all, its configuration is there: the
	// first `ctl status` that works is followed by an `events list` that
	// names the demo event, with no retry.
	var so, se syncbuf.Buffer
	eventually(t, 10*time.Second, func() bool {
		so, se = syncbuf.Buffer{}, syncbuf.Buffer{}
		return runCtl([]string{"--addr", admin, "status"}, &so, &se) == 0
	}, func() string { return "ctl status against the demo: " + so.String() + se.String() })
	var lo, le syncbuf.Buffer
	if code := runCtl([]string{"--addr", admin, "events", "list"}, &lo, &le); code != 0 || !strings.Contains(lo.String(), "demo") {
		t.Fatalf("events list right after status answered: exit %d, %q %q", code, lo.String(), le.String())
	}
	master := "http://" + addr + "/live/demo/master.m3u8"
	waitHTTP(t, master, 30*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Count(b, "#EXT-X-STREAM-INF") == 2
	}, &errb)
	waitHTTP(t, "http://"+addr+"/live/demo/1/index.m3u8", 10*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, ".ts")
	}, &errb)
	// An HLS player (ffprobe is ffplay's demuxer) opens the printed URL.
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	probe, err := exec.CommandContext(pctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", master).Output()
	pcancel()
	if err != nil || !strings.Contains(string(probe), "h264") || !strings.Contains(string(probe), "aac") {
		t.Fatalf("ffprobe %s: %v\n%s", master, err, probe)
	}
	// The same over HTTPS, trusting the printed CA.
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("the printed CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := tlsClient.Get(httpsMaster)
	if err != nil {
		t.Fatalf("%s: %v", httpsMaster, err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(hb), "#EXT-X-STREAM-INF") != 2 {
		t.Fatalf("%s: %d %q", httpsMaster, resp.StatusCode, hb)
	}
	// The low-latency event: the second ffmpeg's LL-DASH push is live, its
	// segments announced before they are complete, over HTTPS too.
	lowLatencyLive(t, llMPD, tlsClient, httpsLLMPD, &errb)
	// and the node packages it as LL-HLS: the printed master names the
	// renditions, whose playlists have parts.
	waitHTTP(t, m[5], 10*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Count(b, "#EXT-X-STREAM-INF") == 2 && strings.Contains(b, "TYPE=AUDIO")
	}, &errb)
	waitHTTP(t, strings.TrimSuffix(m[5], "ll.m3u8")+"ll-0.m3u8", 10*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, "#EXT-X-PART:") && strings.Contains(b, "#EXT-X-PRELOAD-HINT:")
	}, &errb)
	// It steers: authoritative for ringside.test, live.ringside.test is its
	// edge, /play/demo answers the playback JSON.
	q := new(dns.Msg)
	q.SetQuestion("live.ringside.test.", dns.TypeA)
	in, err := dns.Exchange(q, dnsAddr)
	if err != nil || len(in.Answer) != 1 || !in.Authoritative || in.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("live.ringside.test A: %v %v", in, err)
	}
	waitHTTP(t, "http://"+addr+"/play/demo", 5*time.Second, func(r *http.Response, b string) bool {
		return r.StatusCode == 200 && strings.Contains(b, `"manifest": "http://`+addr+`/live/demo/master.m3u8"`)
	}, &errb)
	// The admin API on --admin, with $RINGSIDE_TOKEN, over the Raft-held config.
	var o, e syncbuf.Buffer
	eventually(t, 10*time.Second, func() bool {
		o, e = syncbuf.Buffer{}, syncbuf.Buffer{}
		return runCtl([]string{"--addr", admin, "events", "list"}, &o, &e) == 0 && strings.Contains(o.String(), "demo")
	}, func() string { return "ctl against the demo: " + o.String() + e.String() })
}

// lowLatencyLive waits for the demo's low-latency MPD to be live with the
// video and audio adaptation sets, fetches its first segments, and gets
// the same MPD over HTTPS.
func lowLatencyLive(t *testing.T, mpd string, tlsClient *http.Client, httpsMPD string, errb *syncbuf.Buffer) {
	t.Helper()
	var body string
	waitHTTP(t, mpd, 30*time.Second, func(r *http.Response, b string) bool {
		body = b
		return r.StatusCode == 200 && strings.Contains(b, `type="dynamic"`) && strings.Contains(b, `availabilityTimeComplete="false"`) &&
			strings.Contains(b, `contentType="video"`) && strings.Contains(b, `contentType="audio"`)
	}, errb)
	base := strings.TrimSuffix(mpd, "manifest.mpd")
	for _, f := range []string{"init-stream0.m4s", "init-stream2.m4s", "chunk-stream0-00001.m4s", "chunk-stream2-00001.m4s"} {
		waitHTTP(t, base+f, 10*time.Second, func(r *http.Response, b string) bool {
			return r.StatusCode == 200 && len(b) > 0
		}, errb)
	}
	resp, err := tlsClient.Get(httpsMPD)
	if err != nil {
		t.Fatalf("%s: %v", httpsMPD, err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(hb), "chunk-stream$RepresentationID$") {
		t.Fatalf("%s: %d %q (over HTTP: %q)", httpsMPD, resp.StatusCode, hb, body)
	}
}
