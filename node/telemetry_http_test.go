package node

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/telemetry"
)

// TestTelemetryEdgeBeaconAdmin: on one node with every role, /live
// requests with CMCD (query and headers) are recorded and reach the
// merged view; CMCD does not change what is cached (one origin fetch);
// the beacon takes CDN players' CMCD with its size and rate limits; the
// telemetry view, the SSE stream, the console and the player page answer.
func TestTelemetryEdgeBeaconAdmin(t *testing.T) {
	var fetches int
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Write([]byte("segment"))
	}))
	defer origin.Close()
	n := steerNode(t, origin.URL, func(c *Config) {
		c.Admin.Token, c.Admin.ReadOnlyToken = "adm", "ro"
		c.Telemetry.BeaconRate = 1 // burst of 10
		c.Telemetry.BeaconMaxBytes = 512
	})
	apply(t, n, control.CmdPutCDN, control.CDN{ID: "cdn-a", Hostname: "a.example.net", BaseURL: "http://127.0.0.1:1", Weight: 1, State: control.CDNActive})
	base := "http://" + n.HTTPAddr()
	do := func(method, path, body string, hdr ...string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i, q := range []string{"?CMCD=" + "bl%3D0%2Cbr%3D800%2Cot%3Dv%2Csid%3D%22s1%22%2Csu", "?CMCD=" + "br%3D800%2Cot%3Dv%2Csid%3D%22s2%22", ""} {
		hdr := []string{}
		if q == "" {
			hdr = []string{"CMCD-Session", `sid="s3"`, "CMCD-Object", "br=800,ot=v", "CMCD-Status", "bs"}
		}
		if st, _ := do("GET", "/live/fight/0/a.ts"+q, "", hdr...); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	if fetches != 1 {
		t.Fatalf("%d origin fetches for one segment asked with three CMCDs: CMCD entered the key", fetches)
	}
	view := func() map[string]any {
		st, b := do("GET", "/admin/v1/telemetry?event=fight", "", "Authorization", "Bearer ro")
		var v map[string]any
		if st != 200 || json.Unmarshal([]byte(b), &v) != nil {
			t.Fatalf("view: %d %s", st, b)
		}
		return v
	}
	poll.Until(t, "3 viewers in the view", 5*time.Second, func() bool {
		return view()["total"].(map[string]any)["viewers"].(float64) == 3
	})
	// Beacons.
	if st, b := do("POST", "/t/fight", `sid="b1",ot=v,br=900,cdn="cdn-a",rc=503`+"\n"+`sid="b1",ot=v,br=900,cdn="cdn-a"`); st != 204 {
		t.Fatalf("beacon: %d %s", st, b)
	}
	if st, _ := do("POST", "/t/fight", `sid="b1",cdn="nope"`); st != 422 {
		t.Fatalf("beacon for an unknown CDN: %d", st)
	}
	if st, _ := do("POST", "/t/fight", strings.Repeat("x", 600)); st != 413 {
		t.Fatalf("oversized beacon: %d", st)
	}
	if st, _ := do("POST", "/t/nope", `sid="b1"`); st != 404 {
		t.Fatalf("beacon for an unknown event: %d", st)
	}
	if st, _ := do("GET", "/t/fight", ""); st != 405 {
		t.Fatalf("GET beacon: %d", st)
	}
	limited := false
	for range 30 {
		if st, _ := do("POST", "/t/fight", `sid="b2",cdn="cdn-a"`); st == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("beacons were not rate limited")
	}
	poll.Until(t, "the beacon's pathway in the view", 5*time.Second, func() bool {
		for _, r := range view()["by_pathway"].([]any) {
			if r.(map[string]any)["pathway"] == "cdn-a" {
				return true
			}
		}
		return false
	})
	// The stream: two events, a second apart.
	req, _ := http.NewRequest("GET", base+"/admin/v1/telemetry/stream?event=fight", nil)
	req.Header.Set("Authorization", "Bearer ro")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %v %v", err, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	events := 0
	for events < 2 && sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line[6:]), &v); err != nil || v["event"] != "fight" {
				t.Fatalf("stream event: %v %s", err, line)
			}
			events++
		}
	}
	resp.Body.Close()
	if events != 2 {
		t.Fatalf("%d stream events", events)
	}
	if st, _ := do("GET", "/admin/v1/telemetry", ""); st != 401 {
		t.Fatalf("telemetry without a token: %d", st)
	}
	// The console and the player page.
	if st, b := do("GET", "/console/", ""); st != 200 || !strings.Contains(b, "console.js") {
		t.Fatalf("console: %d %s", st, b)
	}
	if st, b := do("GET", "/console/console.js", ""); st != 200 || !strings.Contains(b, "telemetry/stream") {
		t.Fatalf("console.js: %d", st)
	}
	if st, _ := do("GET", "/console/nope.js", ""); st != 404 {
		t.Fatalf("missing console file: %d", st)
	}
	if st, b := do("GET", "/watch/fight", ""); st != 200 || !strings.Contains(b, `data-event="fight"`) || strings.Contains(b, "://") {
		t.Fatalf("watch page (must load nothing from elsewhere): %d %s", st, b)
	}
	if st, b := do("GET", "/watch/_/hls.min.js", ""); st != 200 || len(b) < 100000 {
		t.Fatalf("hls.js: %d %d bytes", st, len(b))
	}
	if st, _ := do("GET", "/watch/nope", ""); st != 404 {
		t.Fatalf("watch an unknown event: %d", st)
	}
	// Every metric the Grafana dashboard queries exists.
	do("GET", "/play/fight", "") // a steering decision
	_, metrics := do("GET", "/metrics", "")
	dash, err := os.ReadFile("../deploy/grafana/ringside.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`ringside_[a-z_]+`).FindAllString(string(dash), -1) {
		if name == "ringside_" || strings.HasPrefix(name, "ringside_qoe") { // the dashboard's uid
			continue
		}
		if !strings.Contains(metrics, "\n"+name) && !strings.Contains(metrics, "# TYPE "+strings.TrimSuffix(name, "_bucket")) {
			t.Errorf("the dashboard queries %s, which /metrics does not have", name)
		}
	}
}

// TestWatchHlsjsPinned: the vendored hls.js is the build test/browser's
// lockfile pins (the version and, when node_modules is installed, the
// very file), and the checksum in watchui/VERSION is the file's.
func TestWatchHlsjsPinned(t *testing.T) {
	b, err := watchFiles.ReadFile("watchui/hls.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	ver, _ := watchFiles.ReadFile("watchui/VERSION")
	if !strings.Contains(string(ver), "sha256 "+hex.EncodeToString(sum[:])) {
		t.Fatalf("watchui/VERSION does not name the vendored file's sha256 %x", sum)
	}
	lock, err := os.ReadFile("../test/browser/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]struct{ Version, Integrity string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	p := l.Packages["node_modules/hls.js"]
	if !strings.Contains(string(ver), "hls.js "+p.Version+" ") || !strings.Contains(string(ver), p.Integrity) {
		t.Fatalf("vendored hls.js (%s) is not the pinned %s %s", ver, p.Version, p.Integrity)
	}
	if !strings.Contains(string(b), `"`+p.Version+`"`) {
		t.Fatalf("hls.min.js does not carry version %s", p.Version)
	}
	if dist, err := os.ReadFile("../test/browser/node_modules/hls.js/dist/hls.min.js"); err == nil && string(dist) != string(b) {
		t.Fatal("watchui/hls.min.js differs from the installed pinned build")
	}
}

// TestTelemetryCMCDStrippedKey: CMCD never reaches a key, also for the
// LL-HLS directives that are part of one.
func TestTelemetryCMCDStrippedKey(t *testing.T) {
	q := []byte("_HLS_msn=5&CMCD=nor%3D%22x%3F_HLS_msn%3D9%22&_HLS_part=1")
	if got := string(telemetry.StripQuery(q)); got != "_HLS_msn=5&_HLS_part=1" {
		t.Fatalf("stripped %q", got)
	}
}

// BenchmarkServeCachedSegmentCMCD: a cached hit whose request carries
// hls.js's CMCD query: parsed and recorded, still without allocating.
func BenchmarkServeCachedSegmentCMCD(b *testing.B) {
	q := "?CMCD=bl%3D21300%2Cbr%3D3200%2Cbs%2Ccid%3D%22faec5fc2%22%2Cd%3D4004%2Cdl%3D18500%2Cmtp%3D48100%2Cnor%3D%22..%252F300kbps%252Ftrack.m4v%22%2Cot%3Dv%2Csf%3Dh%2Csid%3D%226e2fb550-c457-11e9-bb97-0800200c9a66%22%2Cst%3Dv%2Ctb%3D6000"
	benchServe(b, "/live/ev/0/index7.ts"+q, bytes.Repeat([]byte{0x47}, 1<<20), false)
}
