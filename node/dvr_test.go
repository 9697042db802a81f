package node_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/encoder/encodertest"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
	"github.com/ringside-live/ringside/pkg/segment"
)

func getBytes(t *testing.T, url string) ([]byte, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

// TestDVRThroughTheMesh: a real ffmpeg pushes into the ingest node of a
// 3-node mesh whose nodes keep DVR stores; the DVR playlist (EVENT, a
// program date time on every segment) is served through an edge with
// byte-exact segments; a clip becomes a VOD playlist ffmpeg plays start to
// end; and after the ingest node dies, the shield owners' mirror still
// serves the DVR window.
func TestDVRThroughTheMesh(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/ensure-ffmpeg)")
	}
	const key = "dvr-test-stream-key"
	c := nodetest.Start(t, nodetest.Options{N: 3,
		Events: []node.EventConfig{{ID: "fight", StreamKey: key, DVRWindow: node.Duration(10 * time.Minute)}},
		Configure: func(i int, cfg *node.Config) {
			cfg.Ingest.DVR.Dir = t.TempDir()
			if i == 0 {
				cfg.Node.Roles = append(cfg.Node.Roles, node.RoleIngest)
			}
		},
	})
	ecfg := encodertest.Config(c.URL(0)+"/ingest/fight", key)
	ecfg.ListSize = 3
	stop := runEncoder(t, ecfg)
	edge := c.URL(2) + "/live/fight/0/"
	var pl *segment.MediaPlaylist
	c.WaitFor("the DVR window holds 8 segments", 40*time.Second, func() bool {
		b, st := getBytes(t, edge+"index.dvr.m3u8")
		if st != 200 {
			return false
		}
		p, err := segment.ParseMedia(b)
		if err != nil {
			t.Fatalf("DVR playlist: %v\n%s", err, b)
		}
		pl = p
		return len(p.Segments) >= 8 && bytes.Contains(b, []byte("#EXT-X-PLAYLIST-TYPE:EVENT"))
	})
	stop()
	if b, st := getBytes(t, edge+"index.dvr.m3u8?_HLS_skip=YES&cachebuster=1"); st != 200 ||
		!bytes.Contains(b, []byte("#EXT-X-SKIP:SKIPPED-SEGMENTS=")) {
		t.Errorf("DVR delta update through the edge: %d\n%.400s", st, b)
	}
	want := map[string][]byte{}
	for i, s := range pl.Segments {
		if s.ProgramDateTime.IsZero() {
			t.Errorf("DVR segment %d has no program date time", i)
		}
		viaEdge, st := getBytes(t, edge+s.URI)
		fromIngest, st0 := getBytes(t, c.URL(0)+"/live/fight/0/"+s.URI)
		if st != 200 || st0 != 200 || !bytes.Equal(viaEdge, fromIngest) || len(viaEdge) == 0 {
			t.Fatalf("segment %s: edge %d (%d bytes), ingest %d (%d bytes)", s.URI, st, len(viaEdge), st0, len(fromIngest))
		}
		want[s.URI] = viaEdge
	}

	// A clip of segments 2..5 (by their program date times).
	from := pl.Segments[2].ProgramDateTime.Add(10 * time.Millisecond)
	to := pl.Segments[5].ProgramDateTime.Add(500 * time.Millisecond)
	req := fmt.Sprintf(`{"name":"knockout","from":%q,"to":%q}`, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	if r := call(t, "POST", c.URL(1)+"/admin/v1/events/fight/clips", nodetest.AdminToken, req); r.status != 201 {
		t.Fatalf("clip: %d %s", r.status, r.raw)
	}
	if r := call(t, "GET", c.URL(2)+"/admin/v1/events/fight/clips", nodetest.AdminToken, ""); !strings.Contains(r.raw, `"knockout"`) {
		t.Fatalf("clips: %d %s", r.status, r.raw)
	}
	clipURL := edge + "index.clip-knockout.m3u8"
	b, st := getBytes(t, clipURL)
	clip, err := segment.ParseMedia(b)
	if st != 200 || err != nil || clip.PlaylistType != "VOD" || !clip.EndList || len(clip.Segments) != 4 {
		t.Fatalf("clip playlist: %d %v\n%s", st, err, b)
	}
	var joined []byte
	for _, s := range clip.Segments {
		joined = append(joined, want[s.URI]...)
	}
	out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", clipURL, "-c", "copy", "-f", "mpegts", "-").Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("ffmpeg playing the clip: %v (%d bytes)", err, len(out))
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", clipURL).Output()
	var pr struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err != nil || json.Unmarshal(probe, &pr) != nil || !strings.HasPrefix(pr.Format.Duration, "4.") && !strings.HasPrefix(pr.Format.Duration, "3.9") {
		t.Errorf("ffprobe of the clip: %v %s (want 4 s: 4 one-second segments)", err, probe)
	}
	t.Logf("clip: %d segments, %d bytes served, ffmpeg remuxed %d bytes, duration %s", len(clip.Segments), len(joined), len(out), pr.Format.Duration)

	// The ingest node dies: the mirror serves the DVR window.
	c.Kill(0)
	c.WaitFor("the DVR window served without the ingest node", 20*time.Second, func() bool {
		b, st := getBytes(t, c.URL(1)+"/live/fight/0/index.dvr.m3u8?after-kill")
		if st != 200 {
			return false
		}
		p, err := segment.ParseMedia(b)
		return err == nil && len(p.Segments) >= len(pl.Segments)
	})
	for _, s := range pl.Segments {
		for _, i := range []int{1, 2} {
			got, st := getBytes(t, c.URL(i)+"/live/fight/0/"+s.URI)
			if st != 200 || !bytes.Equal(got, want[s.URI]) {
				t.Errorf("after the ingest node died, node %d segment %s: %d (%d bytes)", i, s.URI, st, len(got))
			}
		}
	}
	// The master's DVR and start-over forms too (the mirror keeps the
	// master), leading to media DVR playlists the mirror serves; the live
	// master itself is not served from the mirror.
	for _, form := range []string{"dvr", "startover"} {
		for _, i := range []int{1, 2} {
			b, st := getBytes(t, c.URL(i)+"/live/fight/master."+form+".m3u8")
			mp, err := segment.ParseMaster(b)
			if st != 200 || err != nil || len(mp.Variants) != 2 {
				t.Errorf("after the ingest node died, node %d master.%s.m3u8: %d %v\n%s", i, form, st, err, b)
				continue
			}
			for _, v := range mp.Variants {
				if !strings.HasSuffix(v.URI, "."+form+".m3u8") {
					t.Errorf("node %d master.%s.m3u8 names %s", i, form, v.URI)
					continue
				}
				vb, vst := getBytes(t, c.URL(i)+"/live/fight/"+v.URI)
				if p, err := segment.ParseMedia(vb); vst != 200 || err != nil || len(p.Segments) == 0 {
					t.Errorf("node %d %s: %d %v", i, v.URI, vst, err)
				}
			}
		}
	}
	if b, st := getBytes(t, c.URL(1)+"/live/fight/master.m3u8?after-kill"); st == 200 {
		t.Errorf("the mirror served the live master as a kept file:\n%s", b)
	}
	// The clip too: its pin went to the mirrors with it, and the owners
	// of the rendition's DVR forms (which mirror all of it) serve its
	// playlist to whichever node is asked.
	for _, i := range []int{1, 2} {
		b, st := getBytes(t, c.URL(i)+"/live/fight/0/index.clip-knockout.m3u8?after-kill")
		got, err := segment.ParseMedia(b)
		if st != 200 || err != nil || got.PlaylistType != "VOD" || !got.EndList || len(got.Segments) != len(clip.Segments) {
			t.Errorf("after the ingest node died, node %d clip playlist: %d %v\n%s", i, st, err, b)
			continue
		}
		for j, s := range got.Segments {
			if s.URI != clip.Segments[j].URI {
				t.Errorf("node %d clip segment %d is %s, was %s", i, j, s.URI, clip.Segments[j].URI)
			}
		}
		mb, mst := getBytes(t, c.URL(i)+"/live/fight/master.clip-knockout.m3u8?after-kill")
		if mp, err := segment.ParseMaster(mb); mst != 200 || err != nil || len(mp.Variants) != 2 ||
			!strings.HasSuffix(mp.Variants[0].URI, ".clip-knockout.m3u8") {
			t.Errorf("after the ingest node died, node %d master.clip-knockout.m3u8: %d %v\n%s", i, mst, err, mb)
		}
	}
}
