package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fill writes zeros into dir/filler until the file system is full.
func fill(dir string) (int64, error) {
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := f.Write(buf)
		n += int64(m)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// diskFull fills n1's data directory (a 64 MB tmpfs holding its Raft data
// and its DVR store) while players watch the live and the pushed event
// through n1, then frees it.
func (s *suite) diskFull(t *testing.T) {
	// Its own event and encoder: a pushed event whose encoder never
	// restarted (see the ingest scenario's figures).
	pusher := s.startPusher(t, s.mesh.dir, "push2")
	defer pusher.stop()
	n1 := s.mesh.byID["n1"]
	ctx, cancel := context.WithCancel(context.Background())
	c := newCrowd(s.lab.hosts["client"])
	defer func() { cancel(); c.wait() }()
	for i := range 6 {
		c.add(ctx, "n1", s.liveURL("n1", i%2), true)
	}
	tPush := time.Now()
	warm, warmOK := waitFor(40*time.Second, func() bool {
		_, _, b := c.get(eventURL("push2", "n1", "index.dvr.m3u8"))
		return len(segmentsOf(b)) >= 4
	})
	if !warmOK {
		t.Fatalf("push2 did not reach 4 DVR segments within 40 s of its encoder's start")
	}
	push := c.add(ctx, "n1", eventURL("push2", "n1", "index.m3u8"), false)
	time.Sleep(3 * time.Second)
	if s.pusher != nil {
		s.pusher.stop() // the other encoder: the CPU is shared
	}
	logBefore := countInFile(n1.logPath, "no space left on device")
	_, _, body := c.get(eventURL("push2", "n1", "index.dvr.m3u8"))
	dvrBefore := len(segmentsOf(body))
	written, err := fill(s.tmpfs)
	if err != nil {
		t.Fatal(err)
	}
	tFull := time.Now()
	time.Sleep(2 * time.Second)
	wctx, wcancel := context.WithTimeout(context.Background(), 6*time.Second)
	body2 := map[string]any{"name": "disk-1", "cidrs": []string{"10.98.0.0/24"}}
	wSt, wBody, _, wErr := n1.adminDo(wctx, "PUT", "regions/disk-1", body2, map[string]string{"Idempotency-Key": "faults-disk-1"})
	clip := map[string]any{"name": "full", "from": time.Now().Add(-12 * time.Second).UTC().Format(time.RFC3339), "to": time.Now().Add(-4 * time.Second).UTC().Format(time.RFC3339)}
	cSt, cBody, _, cErr := n1.adminDo(wctx, "POST", "events/push2/clips", clip, map[string]string{"Idempotency-Key": "faults-clip-full"})
	wcancel()
	time.Sleep(4 * time.Second)
	_, _, body = c.get(eventURL("push2", "n1", "index.dvr.m3u8"))
	dvrFull := len(segmentsOf(body))
	tFree := time.Now()
	if err := os.Remove(filepath.Join(s.tmpfs, "filler")); err != nil {
		t.Fatal(err)
	}
	alive := !n1.dead()
	if !alive {
		t.Errorf("n1 exited when its disk filled:\n%s", readTail(n1.logPath))
	}
	// Recovery: the DVR window grows again, writes through n1 and a clip
	// are accepted.
	dvrBack, dvrOK := waitFor(20*time.Second, func() bool {
		_, _, b := c.get(eventURL("push2", "n1", "index.dvr.m3u8"))
		return len(segmentsOf(b)) > dvrFull
	})
	var w2 string
	writeBack, writeOK := waitFor(20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		st, b, _, err := n1.adminDo(ctx, "PUT", "regions/disk-2", map[string]any{"name": "disk-2", "cidrs": []string{"10.98.1.0/24"}},
			map[string]string{"Idempotency-Key": "faults-disk-2"})
		w2 = answer(st, b, err)
		return err == nil && st == 200
	})
	cctx, ccancel := context.WithTimeout(context.Background(), 6*time.Second)
	clip["name"] = "after"
	c2St, c2Body, _, c2Err := n1.adminDo(cctx, "POST", "events/push2/clips", clip, map[string]string{"Idempotency-Key": "faults-clip-after"})
	ccancel()
	time.Sleep(time.Second)
	cancel()
	c.wait()
	live := c.window(tFull, tFree, func(p *player) bool { return p.verify })
	pushW := c.window(tFull, tFree, func(p *player) bool { return p == push })
	if live.minSegs < 3 || live.mismatched > 0 {
		t.Errorf("live players on n1 did not keep playing while its disk was full: %+v", live)
	}
	if !writeOK {
		t.Errorf("writes through n1 did not recover within 20 s of freeing its disk: %s", w2)
	}
	enospc := countInFile(n1.logPath, "no space left on device") - logBefore
	msgs := logMessages(n1.logPath, "no space left on device")
	s.rep.add("diskfull", "| n1's data dir (Raft log and snapshots, DVR store): a tmpfs of 64 MB, filled with | %d MB, for %.0f s |", written>>20, tFree.Sub(tFull).Seconds())
	s.rep.add("diskfull", "| n1 still running | %v |", alive)
	s.rep.add("diskfull", "| live players on n1 (pull event, 6): segments, fewest per player, failed, longest gap | %d, %d, %d, %.1f s |", live.segments, live.minSegs, live.failed, live.maxGap.Seconds())
	s.rep.add("diskfull", "| push2 (its own encoder) has 4 DVR segments | %.1f s after the encoder started |", warm.Seconds()+tPush.Sub(tPush).Seconds())
	s.rep.add("diskfull", "| push event player on n1 while full: segments, failed, longest gap | %d, %d, %.1f s |", pushW.segments, pushW.failed, pushW.maxGap.Seconds())
	s.rep.add("diskfull", "| DVR playlist: before, while full | %d, %d segments |", dvrBefore, dvrFull)
	s.rep.add("diskfull", "| admin write through n1 while full (n1 %s) | %s |", role(s.mesh.leader() == "n1"), oneLine(answer(wSt, wBody, wErr)))
	s.rep.add("diskfull", "| clip through n1 while full | %s |", oneLine(answer(cSt, cBody, cErr)))
	s.rep.add("diskfull", "| log lines naming \"no space left on device\" | %d: %s |", enospc, oneLine(strings.Join(msgs, "; ")))
	s.rep.add("diskfull", "| after freeing: DVR grows again | %s |", took(dvrBack, dvrOK))
	s.rep.add("diskfull", "| after freeing: admin write through n1 accepted | %s |", took(writeBack, writeOK))
	s.rep.add("diskfull", "| after freeing: clip | %s |", oneLine(answer(c2St, c2Body, c2Err)))
}

func role(leader bool) string {
	if leader {
		return "the Raft leader"
	}
	return "a follower: the write is forwarded to the leader"
}

func took(d time.Duration, ok bool) string {
	if !ok {
		return fmt.Sprintf("not within %.0f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s after", d.Seconds())
}

func oneLine(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", "/") }

// logMessages is the distinct (component: msg) of the log lines of path
// that contain needle.
func logMessages(path, needle string) []string {
	b, _ := os.ReadFile(path)
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(strings.ToLower(line), needle) {
			continue
		}
		var l struct {
			Component string `json:"component"`
			Msg       string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && !seen[l.Component+l.Msg] {
			seen[l.Component+l.Msg] = true
			out = append(out, fmt.Sprintf("%s: %q", l.Component, l.Msg))
		}
	}
	return out
}

func countInFile(path, needle string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(strings.ToLower(string(b)), needle)
}
