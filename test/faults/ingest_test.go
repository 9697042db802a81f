package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/encoder"
)

// pusher runs ffmpeg on the origin host pushing HLS (one 180p rung, 1 s
// segments) into n1's ingest, started again whenever it exits.
type pusher struct {
	mu     sync.Mutex
	run    context.CancelFunc // the current ffmpeg's
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runs   int
}

func (s *suite) startPusher(t *testing.T, dir, event string) *pusher {
	t.Helper()
	wrapper := filepath.Join(dir, "ffmpeg-on-origin")
	script := "#!/bin/sh\nexec ip netns exec " + s.lab.hosts["origin"].ns + " ffmpeg \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := encoder.DefaultConfig()
	cfg.FFmpeg, cfg.IngestBase, cfg.StreamKey = wrapper, fmt.Sprintf("http://%s:%s/ingest/%s", hostAddrs["n1"], httpPort, event), streamKey
	cfg.Ladder, cfg.SegmentSeconds = []encoder.Rung{{Width: 320, Height: 180, VideoKbps: 150}}, 1
	ctx, cancel := context.WithCancel(context.Background())
	p := &pusher{cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for ctx.Err() == nil {
			rctx, rcancel := context.WithCancel(ctx)
			p.mu.Lock()
			p.runs++
			p.run = rcancel
			p.mu.Unlock()
			_ = encoder.Run(rctx, cfg)
			rcancel()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *pusher) stop() { p.cancel(); p.wg.Wait() }

// restart stops the current ffmpeg; the loop starts a new one a second
// later (a new run: its playlists start again).
func (p *pusher) restart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		p.run()
	}
}

// get fetches url from the client host: status, X-Cache, body.
func (c *crowd) get(url string) (int, string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Cache"), string(b)
}

// segmentsOf lists a playlist's media URIs.
func segmentsOf(playlist string) []string {
	var out []string
	for _, l := range strings.Split(playlist, "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			out = append(out, l)
		}
	}
	return out
}

func pushURL(id, file string) string { return eventURL("push", id, file) }

// eventURL is a pushed event's first rendition's file through node id.
func eventURL(event, id, file string) string {
	return fmt.Sprintf("http://%s:%s/live/%s/0/%s", hostAddrs[id], httpPort, event, file)
}

// ingest kills n1 (the ingest node, a voter) with SIGKILL while ffmpeg
// pushes into it, and starts it again 4 s later.
func (s *suite) ingest(t *testing.T) {
	if s.pusher == nil {
		s.pusher = s.startPusher(t, s.mesh.dir, "push")
	}
	rejectedBefore := countInFile(s.mesh.byID["n1"].logPath, "upload rejected")
	ctx, cancel := context.WithCancel(context.Background())
	c := newCrowd(s.lab.hosts["client"])
	defer func() { cancel(); c.wait() }()
	var dvr []string
	if _, ok := waitFor(60*time.Second, func() bool {
		st, _, body := c.get(pushURL("n1", "index.dvr.m3u8"))
		dvr = segmentsOf(body)
		return st == 200 && len(dvr) >= 6
	}); !ok {
		t.Fatalf("the DVR playlist of the push event never listed 6 segments (%d)", len(dvr))
	}
	for i := range 6 {
		id := []string{"n2", "n4", "n5"}[i%3]
		c.add(ctx, id, pushURL(id, "index.m3u8"), false)
	}
	time.Sleep(4 * time.Second)
	_, _, body := c.get(pushURL("n1", "index.dvr.m3u8"))
	before := segmentsOf(body)
	n1 := s.mesh.byID["n1"]
	tKill := time.Now()
	n1.kill()
	time.Sleep(1500 * time.Millisecond)
	mst, mcache, mbody := c.get(pushURL("n2", "index.dvr.m3u8"))
	time.Sleep(2500 * time.Millisecond)
	tRestart := time.Now()
	n1.start(t, s.lab, s.mesh.bin)
	var after []string
	up, ok := waitFor(30*time.Second, func() bool {
		st, _, body := c.get(pushURL("n1", "index.dvr.m3u8"))
		after = segmentsOf(body)
		return st == 200 && len(after) > 0
	})
	if !ok {
		t.Fatalf("n1 did not serve its DVR playlist within 30 s of its restart")
	}
	// ffmpeg's HLS push does not get over its ingest node's restart by
	// itself (it keeps running; every upload fails): the encoder's
	// supervisor starts it again, as an operator's would.
	s.pusher.restart()
	if len(before) == 0 || !contains(after, before[0]) {
		t.Errorf("the DVR window lost its start across the restart: first before %q, %d listed after", first(before), len(after))
	}
	var resumed time.Duration
	_, resumedOK := waitFor(30*time.Second, func() bool {
		for _, p := range c.players {
			p.mu.Lock()
			for _, sm := range p.samples {
				if sm.ok && sm.at.After(tRestart) && !sm.join {
					resumed = sm.at.Sub(tRestart)
				}
			}
			p.mu.Unlock()
			if resumed > 0 {
				return true
			}
		}
		return false
	})
	conv := s.mesh.waitConverged("ingest restart", 30*time.Second)
	time.Sleep(2 * time.Second)
	_, _, body = c.get(pushURL("n1", "index.dvr.m3u8"))
	final := segmentsOf(body)
	cancel()
	c.wait()
	w := c.window(tKill, tRestart, nil)
	s.rep.add("ingest", "| ffmpeg (on the origin host) pushes into n1; n1 killed with SIGKILL, started again after | %.1f s |", tRestart.Sub(tKill).Seconds())
	s.rep.add("ingest", "| DVR playlist before the kill | %d segments, first %s |", len(before), first(before))
	s.rep.add("ingest", "| DVR playlist through n2 while n1 is down | %d, X-Cache %q, %d segments |", mst, mcache, len(segmentsOf(mbody)))
	s.rep.add("ingest", "| n1 serves its DVR playlist again | %.1f s after the restart: %d segments, first %s (kept: %v) |",
		up.Seconds(), len(after), first(after), len(before) > 0 && contains(after, before[0]))
	if resumedOK {
		s.rep.add("ingest", "| players (6, on n2/n4/n5) get a new segment again | %.1f s after the restart |", resumed.Seconds())
	} else {
		s.rep.add("ingest", "| players (6, on n2/n4/n5) get a new segment again | not within 30 s of the restart |")
	}
	s.rep.add("ingest", "| players while n1 was down: segments, failed, longest gap | %d, %d, %.1f s |", w.segments, w.failed, w.maxGap.Seconds())
	s.rep.add("ingest", "| uploads n1 rejected after the restart (log) | %d |", countInFile(n1.logPath, "upload rejected")-rejectedBefore)
	s.rep.add("ingest", "| mesh converged after the restart | %.1f s; DVR then lists %d segments (ffmpeg runs %d) |", conv.Seconds(), len(final), s.pusher.runs)
}

func contains(list []string, x string) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

func first(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return list[0]
}
