package encoder

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "stream-key-7d1f0b"

// TestPushKeepsKeyOffCommandLine runs a real ffmpeg push into a fake node
// that demands the key on every request (segments, playlists, DELETEs),
// and looks at ffmpeg while it runs: the key is in neither its command
// line nor its environment, and the preset pipe it came through is empty.
func TestPushKeepsKeyOffCommandLine(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (on Debian: apt-get install ffmpeg)")
	}
	for _, tc := range []struct {
		name             string
		fmp4, persistent bool
	}{
		{"ts-separate-connections", false, false},
		{"fmp4-persistent", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			push(t, tc.fmp4, tc.persistent)
		})
	}
}

// upload is one request as the node saw it.
type upload struct {
	method, path, auth, conn string
	body                     []byte
}

func push(t *testing.T, fmp4, persistent bool) {
	var pid atomic.Int64
	var looked sync.Once
	var mu sync.Mutex
	var uploads []upload
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		looked.Do(func() { lookAtFFmpeg(t, int(pid.Load()), testKey) })
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // cut off by ffmpeg's exit; the checks below see it missing
		}
		mu.Lock()
		uploads = append(uploads, upload{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.RemoteAddr, body})
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer node.Close()

	cfg := DefaultConfig()
	cfg.IngestBase, cfg.StreamKey = node.URL+"/ingest/ev", testKey
	cfg.Ladder = []Rung{{Width: 426, Height: 240, VideoKbps: 300}, {Width: 256, Height: 144, VideoKbps: 150}}
	cfg.SegmentSeconds, cfg.ListSize, cfg.Duration = 1, 3, 6*time.Second
	cfg.FMP4, cfg.Persistent = fmp4, persistent
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, cfg, func(p int) { pid.Store(int64(p)) }); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	files := map[string][]byte{}
	conns := map[string]bool{}
	deletes := 0
	for _, u := range uploads {
		if u.auth != "Bearer "+testKey {
			t.Errorf("%s %s arrived with Authorization %q", u.method, u.path, u.auth)
		}
		conns[u.conn] = true
		switch u.method {
		case http.MethodPut:
			files[u.path] = u.body
		case http.MethodDelete:
			deletes++
		}
	}
	if master := string(files["/ingest/ev/master.m3u8"]); !strings.Contains(master, "0/index.m3u8") || !strings.Contains(master, "1/index.m3u8") {
		t.Fatalf("master playlist %q", master)
	}
	for _, v := range []string{"0", "1"} {
		// ffmpeg exits without waiting for its last uploads to be
		// delivered; under load the final segment and the ENDLIST
		// playlist can be lost (the same with the key on the command
		// line). So: the last playlist that arrived lists segments that
		// all arrived whole, but perhaps its last.
		pl := string(files["/ingest/ev/"+v+"/index.m3u8"])
		var listed []string
		for _, line := range strings.Split(pl, "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				listed = append(listed, line)
			}
		}
		if len(listed) < 2 {
			t.Fatalf("rendition %s: last playlist %q", v, pl)
		}
		for _, name := range listed[:len(listed)-1] {
			seg := files["/ingest/ev/"+v+"/"+name]
			if len(seg) == 0 || !fmp4 && (len(seg)%188 != 0 || seg[0] != 0x47) {
				t.Errorf("rendition %s: listed segment %s arrived as %d bytes", v, name, len(seg))
			}
		}
		segs := 0
		for name := range files {
			if path.Dir(name) == "/ingest/ev/"+v && !strings.HasSuffix(name, ".m3u8") {
				segs++
			}
		}
		if segs < 5 {
			t.Errorf("rendition %s: %d files uploaded, want at least 5 of 6 s", v, segs)
		}
	}
	if deletes < 2 {
		t.Errorf("%d DELETEs, want old segments of both renditions deleted", deletes)
	}
	if persistent && len(conns)*3 > len(uploads) {
		t.Errorf("%d connections for %d requests: not persistent", len(conns), len(uploads))
	}
	t.Logf("%d requests (%d DELETEs) on %d connections", len(uploads), deletes, len(conns))
}

// lookAtFFmpeg checks a running ffmpeg that has parsed its options (it is
// uploading): the key is in no /proc entry another process can read.
func lookAtFFmpeg(t *testing.T, pid int, key string) {
	dir := "/proc/" + strconv.Itoa(pid)
	cmdline, err := os.ReadFile(dir + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte("-fpre\x00/dev/fd/3")) {
		t.Errorf("ffmpeg's command line %q: %v", cmdline, err)
	}
	environ, err := os.ReadFile(dir + "/environ")
	if err != nil {
		t.Error(err)
	}
	// The preset pipe: drained by ffmpeg, its write end closed.
	preset, err := os.ReadFile(dir + "/fd/3")
	if err != nil {
		t.Error(err)
	}
	for name, b := range map[string][]byte{"cmdline": cmdline, "environ": environ, "fd/3": preset} {
		if bytes.Contains(b, []byte(key)) {
			t.Errorf("the stream key is in ffmpeg's /proc/%d/%s", pid, name)
		}
	}
}
