package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	adminapi "github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/encoder"
	"github.com/ringside-live/ringside/encoder/encodertest"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
	"github.com/ringside-live/ringside/pkg/segment"
)

const (
	primaryKey = "primary-feed-stream-key"
	backupKey  = "backup-feed-stream-key"
)

// runEncoder starts a real ffmpeg push that stop ends (a dead encoder).
func runEncoder(t *testing.T, cfg encoder.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- encoder.Run(ctx, cfg) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done // killed on purpose: its error is the kill
		})
	}
	t.Cleanup(stop)
	return stop
}

// outputWatcher plays the output like a player on one node: it reloads
// the media playlist and records what each media sequence number is, so
// the test can check that the timeline never goes back, never renumbers
// and never leaves a hole in media time longer than one segment.
type outputWatcher struct {
	t    *testing.T
	base string // .../live/fight/0/

	mu       sync.Mutex
	byMSN    map[uint64]segment.MediaSegment
	dsn      map[uint64]uint64 // each msn's discontinuity sequence number
	maxSeq   uint64
	errs     []string
	stalls   []time.Duration // time between the live edge moving, per move
	lastMove time.Time
	fetched  int
}

func watchOutput(t *testing.T, base string) (*outputWatcher, func()) {
	w := &outputWatcher{t: t, base: base, byMSN: map[uint64]segment.MediaSegment{}, dsn: map[uint64]uint64{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			w.poll()
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	return w, func() { cancel(); wg.Wait() }
}

// reached reports whether the player has seen msn n-1 (the live edge is
// at n or beyond).
func (w *outputWatcher) reached(n uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxSeq >= n
}

// edge is the player's live edge: one past the newest msn seen.
func (w *outputWatcher) edge() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxSeq
}

func (w *outputWatcher) fail(format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf(format, args...))
}

func (w *outputWatcher) poll() {
	pl, err := fetchPlaylist(w.base + "index.m3u8")
	if err != nil || pl == nil {
		return // before the first segment, or while no node publishes: counted by stalls
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if pl.MediaSequence+uint64(len(pl.Segments)) < w.maxSeq {
		w.fail("the output went back: sequence %d+%d after %d", pl.MediaSequence, len(pl.Segments), w.maxSeq)
	}
	// RFC 8216 6.2.2: the first segment's discontinuity sequence number
	// is EXT-X-DISCONTINUITY-SEQUENCE, each EXT-X-DISCONTINUITY after it
	// adds one; a segment keeps its number when the tag has slid out of
	// the window (as it does while a player's reloads fail for a while).
	dsn := pl.DiscontinuitySequence
	for i, s := range pl.Segments {
		msn := pl.MediaSequence + uint64(i)
		if i > 0 && s.Discontinuity {
			dsn++
		}
		if prev, ok := w.byMSN[msn]; ok {
			if prev.URI != s.URI || !prev.ProgramDateTime.Equal(s.ProgramDateTime) {
				w.fail("msn %d was %s at %v, now %s at %v", msn, prev.URI, prev.ProgramDateTime, s.URI, s.ProgramDateTime)
			}
			if w.dsn[msn] != dsn {
				w.fail("msn %d had discontinuity sequence %d, now %d", msn, w.dsn[msn], dsn)
			}
			continue
		}
		w.byMSN[msn], w.dsn[msn] = s, dsn
		if st := status(w.base + s.URI); st != 200 {
			w.fail("segment %d (%s): status %d", msn, s.URI, st)
		}
		w.fetched++
		if msn+1 > w.maxSeq {
			now := time.Now()
			if !w.lastMove.IsZero() {
				wait := now.Sub(w.lastMove)
				w.stalls = append(w.stalls, wait)
				if wait > 2*time.Second {
					w.t.Logf("the live edge waited %v for msn %d (%s)", wait.Round(time.Millisecond), msn, s.URI)
				}
			}
			w.maxSeq, w.lastMove = msn+1, now
		}
	}
}

// check verifies the recorded timeline: consecutive numbers, media time
// continuous (no hole or overlap over one segment), a discontinuity
// wherever the feed changed.
func (w *outputWatcher) check(segment time.Duration) (switches int, longest time.Duration) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.errs {
		w.t.Error(e)
	}
	var first uint64 = 1 << 62
	for msn := range w.byMSN {
		first = min(first, msn)
	}
	for msn := first + 1; msn < w.maxSeq; msn++ {
		prev, ok1 := w.byMSN[msn-1]
		cur, ok2 := w.byMSN[msn]
		if !ok1 || !ok2 {
			w.t.Errorf("msn %d was never seen (the player missed a segment)", msn)
			continue
		}
		end := prev.ProgramDateTime.Add(time.Duration(prev.Duration * float64(time.Second)))
		gap := cur.ProgramDateTime.Sub(end)
		if gap > segment || gap < -segment/2 {
			w.t.Errorf("msn %d starts %v after the previous one ends (more than one segment)", msn, gap)
		}
		switches += int(w.dsn[msn] - w.dsn[msn-1])
	}
	for _, s := range w.stalls {
		longest = max(longest, s)
	}
	return switches, longest
}

// TestRedundantFeedsFailover: two real ffmpeg encoders push the primary and
// the backup feed of one event into two ingest nodes of a 3-node mesh
// (all control voters); a player on the third node follows the output.
// The primary encoder dies: the output continues from the backup at the
// next segment, numbered on, with a discontinuity, and the switch is in
// the control plane's history. Then the backup's ingest node dies: the
// output goes back to the (restarted) primary.
func TestRedundantFeedsFailover(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/ensure-ffmpeg)")
	}
	c := nodetest.Start(t, nodetest.Options{N: 3, Voters: 3,
		Events: []node.EventConfig{{ID: "fight", Feeds: &node.FeedsConfig{
			Primary: node.FeedSourceConfig{StreamKey: primaryKey},
			Backup:  node.FeedSourceConfig{StreamKey: backupKey}}}},
		Configure: func(i int, cfg *node.Config) {
			if i < 2 {
				cfg.Node.Roles = append(cfg.Node.Roles, node.RoleIngest)
			}
		},
	})
	c.WaitControl(2)
	enc := func(i int, key string) encoder.Config {
		cfg := encodertest.Config(c.URL(i)+"/ingest/fight", key)
		cfg.ListSize = 6
		return cfg
	}
	stopPrimary := runEncoder(t, enc(0, primaryKey))
	runEncoder(t, enc(1, backupKey))
	w, stopWatch := watchOutput(t, c.URL(2)+"/live/fight/0/")
	defer stopWatch()
	defer func() { // what each node served, should the output not go live
		if !t.Failed() || w.reached(4) {
			return
		}
		for i := range 3 {
			b, st := getBytes(t, c.URL(i)+"/live/fight/0/index.m3u8?diag")
			t.Logf("node %d output playlist: %d\n%.600s", i, st, b)
		}
		feeds := call(t, "GET", c.URL(2)+"/admin/v1/events/fight/feeds", nodetest.AdminToken, "")
		t.Logf("feeds: %d %s", feeds.status, feeds.raw)
	}()
	c.WaitFor("the output is live", 30*time.Second, func() bool { return w.reached(4) })
	feeds := call(t, "GET", c.URL(2)+"/admin/v1/events/fight/feeds", nodetest.AdminToken, "")
	if feeds.status != 200 || feeds.body["active"] != "primary" {
		t.Fatalf("feeds: %d %s", feeds.status, feeds.raw)
	}
	// An ffmpeg client reads the output through the failover.
	ffplay := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", c.URL(2)+"/live/fight/0/index.m3u8",
		"-t", "14", "-c", "copy", "-f", "null", "-")
	var ffout strings.Builder
	ffplay.Stdout, ffplay.Stderr = &ffout, &ffout
	if err := ffplay.Start(); err != nil {
		t.Fatal(err)
	}

	// The primary encoder dies.
	before := w.edge()
	stopPrimary()
	c.WaitFor("the output switched to the backup", 20*time.Second, func() bool {
		r := call(t, "GET", c.URL(0)+"/admin/v1/events/fight/feeds", nodetest.AdminToken, "")
		return r.body["active"] == "backup"
	})
	c.WaitFor("the output moves on from the backup", 20*time.Second, func() bool { return w.reached(before + 4) })
	hist := call(t, "GET", c.URL(1)+"/admin/v1/config/history", nodetest.AdminToken, "")
	if !strings.Contains(hist.raw, "set_active_feed") || !strings.Contains(hist.raw, "no output segment") {
		t.Errorf("the switch is not in the history: %.600s", hist.raw)
	}
	if err := ffplay.Wait(); err != nil {
		t.Errorf("ffmpeg reading the output through the failover: %v\n%s", err, ffout.String())
	}

	// The primary comes back (manual switch back: the output stays on
	// the backup); then the backup's ingest node dies.
	runEncoder(t, enc(0, primaryKey))
	c.WaitFor("the primary is received again", 20*time.Second, func() bool {
		fs := feedsOf(t, c.URL(2))
		return fs.Active == "backup" && fs.Feeds[0].Node == "n0" && fs.Feeds[0].Healthy
	})
	before = w.edge()
	c.Kill(1)
	c.WaitFor("the output switched back to the primary", 30*time.Second, func() bool {
		r := call(t, "GET", c.URL(0)+"/admin/v1/events/fight/feeds", nodetest.AdminToken, "")
		return r.body["active"] == "primary"
	})
	c.WaitFor("the output moves on from the primary", 30*time.Second, func() bool { return w.reached(before + 4) })
	stopWatch()
	switches, longest := w.check(time.Second)
	if switches < 2 {
		t.Errorf("%d discontinuities in the output, want one per switch (2)", switches)
	}
	t.Logf("output: %d segments, %d switches, longest wait for the live edge %v", w.fetched, switches, longest)
}

func feedsOf(t *testing.T, base string) adminapi.FeedsResponse {
	t.Helper()
	r := call(t, "GET", base+"/admin/v1/events/fight/feeds", nodetest.AdminToken, "")
	var fs adminapi.FeedsResponse
	if err := json.Unmarshal([]byte(r.raw), &fs); err != nil || len(fs.Feeds) != 2 {
		t.Fatalf("feeds: %d %s", r.status, r.raw)
	}
	return fs
}

// TestPartitionedIngestStopsPublishing: the ingest node of the active feed
// is cut off (gossip and node-to-node HTTP) from the control voter and the
// rest of the mesh: it cannot commit to the timeline, so it stops
// publishing, and the other side switches to the backup; players on the
// majority side keep one timeline.
func TestPartitionedIngestStopsPublishing(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/ensure-ffmpeg)")
	}
	c := nodetest.Start(t, nodetest.Options{N: 3, Voters: 1,
		Events: []node.EventConfig{{ID: "fight", Feeds: &node.FeedsConfig{
			Primary: node.FeedSourceConfig{StreamKey: primaryKey},
			Backup:  node.FeedSourceConfig{StreamKey: backupKey}}}},
		Configure: func(i int, cfg *node.Config) {
			if i > 0 {
				cfg.Node.Roles = append(cfg.Node.Roles, node.RoleIngest)
			}
		},
	})
	c.WaitControl(0)
	enc := func(i int, key string) encoder.Config {
		cfg := encodertest.Config(c.URL(i)+"/ingest/fight", key)
		cfg.ListSize = 6
		return cfg
	}
	runEncoder(t, enc(1, primaryKey))
	runEncoder(t, enc(2, backupKey))
	w, stopWatch := watchOutput(t, c.URL(0)+"/live/fight/0/")
	defer stopWatch()
	c.WaitFor("the output is live", 30*time.Second, func() bool { return w.reached(3) })
	publishing := func(i int, feed string) bool {
		return strings.Contains(body(t, c.URL(i)+"/metrics"), `ringside_feed_publishing{event="fight",feed="`+feed+`"} 1`)
	}
	if !publishing(1, "primary") {
		t.Fatal("node 1 does not publish the primary")
	}
	c.Partition([]int{0, 2}, []int{1})
	c.WaitFor("the cut-off node stops publishing", 20*time.Second, func() bool { return !publishing(1, "primary") })
	c.WaitFor("the majority switches to the backup", 20*time.Second, func() bool {
		return feedsOf(t, c.URL(0)).Active == "backup" && publishing(2, "backup")
	})
	before := w.edge()
	c.WaitFor("the output moves on", 20*time.Second, func() bool { return w.reached(before + 3) })
	c.Heal()
	c.WaitFor("the healed node follows the switch", 20*time.Second, func() bool {
		return feedsOf(t, c.URL(1)).Active == "backup"
	})
	if publishing(1, "primary") {
		t.Error("the healed node publishes the primary again")
	}
	stopWatch()
	switches, longest := w.check(time.Second)
	t.Logf("output: %d segments, %d switches, longest wait for the live edge %v", w.fetched, switches, longest)
}
