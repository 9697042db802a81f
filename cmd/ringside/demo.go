package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/encoder"
	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/node"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpAddr := fs.String("http", "127.0.0.1:8080", "address for the node's HTTP listener")
	adminAddr := fs.String("admin", "", "serve the admin API on this address (default: on --http)")
	dnsAddr := fs.String("dns", "", "also steer: authoritative DNS for ringside.test on this address")
	httpsAddr := fs.String("https", "", "also serve HTTPS on this address, with a throwaway CA made for the demo")
	ffmpeg := fs.String("ffmpeg", "ffmpeg", "ffmpeg binary")
	fmp4 := fs.Bool("fmp4", false, "push fMP4 (CMAF) segments instead of MPEG-TS")
	lowLatency := fs.Bool("low-latency", false, "also the low-latency event "+llEvent+
		": a second ffmpeg pushes LL-DASH/CMAF, played as LL-HLS (ll.m3u8) and LL-DASH (manifest.mpd)")
	backup := fs.Bool("backup", false, "also the redundant event "+backupEvent+
		": two more ffmpegs push its primary and its backup feed; kill the primary's and the output carries on from the backup")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "ringside-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dataDir)
	cfg := demoConfig(*httpAddr, *adminAddr, *dnsAddr, dataDir, *lowLatency, *backup)
	caFile, err := demoPKI(&cfg, dataDir, *httpsAddr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, *logLevel, "text")
	n, err := node.New(cfg, node.Deps{Logger: log})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nodeErr := make(chan error, 1)
	go func() { nodeErr <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-nodeErr:
		return err
	}
	out := &lockedWriter{w: stdout} // the encoders' restarts print too
	encoders := demoEncoders(cfg, "http://"+n.HTTPAddr(), *ffmpeg, *fmp4)
	encErr := make(chan error, len(encoders))
	pids := make(chan feedPID, len(encoders))
	for _, e := range encoders {
		e.cfg.Logger = log.With("component", "encoder", "event", e.event)
		if e.feed == "" {
			go func() { encErr <- encoder.Run(ctx, e.cfg) }()
			continue
		}
		e.cfg.Logger = e.cfg.Logger.With("feed", e.feed)
		go func() { encErr <- superviseFeed(ctx, e, pids, out) }()
	}
	admin := n.AdminAddr()
	if admin == "" {
		admin = n.HTTPAddr()
	}
	var redundant string
	if *backup {
		feedPIDs, err := firstPIDs(ctx, pids, encErr)
		if err != nil {
			cancel()
			for range len(encoders) - 1 {
				<-encErr
			}
			<-nodeErr
			return err
		}
		redundant = backupLines(baseURL(n.HTTPAddr()), baseURL(admin), shownToken(cfg.Admin.Token, os.Getenv("RINGSIDE_TOKEN") == ""), feedPIDs)
	}
	printURLs(out, n.HTTPAddr(), admin, n.DNSAddr(), cfg.Admin.Token, os.Getenv("RINGSIDE_TOKEN") == "", *lowLatency, redundant)
	if n.HTTPSAddr() != "" {
		fmt.Fprintf(out, "  https:    https://%s/live/demo/master.m3u8\n            (certificate from the demo's throwaway CA: %s)\n",
			n.HTTPSAddr(), caFile)
		if *lowLatency {
			fmt.Fprintf(out, "            https://%[1]s/live/%[2]s/ll.m3u8   https://%[1]s/live/%[2]s/manifest.mpd\n", n.HTTPSAddr(), llEvent)
		}
		fmt.Fprintln(out)
	}
	return waitDemo(ctx, cancel, out, nodeErr, encErr, len(encoders))
}

// llEvent is the demo's low-latency event (--low-latency).
const llEvent = "demo-ll"

// backupEvent is the demo's redundant event (--backup).
const backupEvent = "demo-backup"

// demoDVRWindow is how far behind live the demo's push events can be
// rewound (about 120 MB of the 480p+240p event in the data dir).
const demoDVRWindow = 10 * time.Minute

// demoEncoder is one ffmpeg of the demo: it pushes into event, and for a
// redundant event is one of its feeds (feed is "" otherwise).
type demoEncoder struct {
	cfg         encoder.Config
	event, feed string
}

// demoEncoders is one ffmpeg per push event of cfg: HLS into "demo" and,
// with --low-latency, LL-DASH/CMAF into demo-ll with fragments of its part
// target; with --backup, two into backupEvent, its primary and its backup
// feed, each with the feed's key. The first two keep the cheap 480p+240p
// ladder; the low-latency one runs at 30 fps so that each 0.5 s part is 15
// whole frames (about a sixth of a core, the HLS one at 15 fps about a
// ninth). The feeds have the cheapest ladder that still has two
// renditions, 240p+144p, so that --backup costs two small ffmpegs.
func demoEncoders(cfg node.Config, base, ffmpeg string, fmp4 bool) []demoEncoder {
	var encs []demoEncoder
	for _, ev := range cfg.Events {
		ecfg := encoder.DefaultConfig()
		ecfg.FFmpeg, ecfg.IngestBase, ecfg.StreamKey = ffmpeg, base+"/ingest/"+ev.ID, ev.StreamKey
		switch {
		case ev.Feeds != nil:
			ecfg.Ladder = []encoder.Rung{{Width: 426, Height: 240, VideoKbps: 300}, {Width: 256, Height: 144, VideoKbps: 150}}
			for _, f := range []struct {
				name string
				src  node.FeedSourceConfig
			}{{"primary", ev.Feeds.Primary}, {"backup", ev.Feeds.Backup}} {
				fcfg := ecfg
				fcfg.StreamKey = f.src.StreamKey
				encs = append(encs, demoEncoder{cfg: fcfg, event: ev.ID, feed: f.name})
			}
			continue
		case ev.LowLatency.Enabled:
			ecfg.LowLatency, ecfg.FPS, ecfg.PartTarget = true, 30, time.Duration(ev.LowLatency.PartTarget)
		default:
			ecfg.FMP4 = fmp4
		}
		encs = append(encs, demoEncoder{cfg: ecfg, event: ev.ID})
	}
	return encs
}

// demoConfig is the embedded default: every role, a single-voter control
// plane in dataDir, one push event with a random stream key (and, with
// lowLatency, the low-latency push event llEvent with its own; with
// backup, the redundant event backupEvent with a key per feed), a DVR
// store in dataDir keeping the HLS events for demoDVRWindow, and the
// admin token from $RINGSIDE_TOKEN or a random one.
func demoConfig(httpAddr, adminAddr, dnsAddr, dataDir string, lowLatency, backup bool) node.Config {
	cfg := node.DefaultConfig()
	cfg.Node.ID = "demo"
	cfg.Node.Roles = []string{node.RoleIngest, node.RoleShield, node.RoleEdge, node.RoleControl, node.RoleSteer}
	cfg.Control.DataDir, cfg.Control.RaftBind = dataDir, "127.0.0.1:0"
	cfg.Control.Bootstrap = []node.PeerConfig{{ID: "demo"}}
	cfg.HTTP.Listen, cfg.Admin.Listen = httpAddr, adminAddr
	cfg.Steering.DNSListen, cfg.Steering.DefaultEvent = dnsAddr, "demo"
	// A demo shows steering at work: a drained CDN's sessions leave it
	// within 10 s (a production mesh keeps the 60-s default).
	cfg.Steering.TTL = node.Duration(10 * time.Second)
	cfg.Ingest.DVR.Dir, cfg.Ingest.DVR.MaxBytes = filepath.Join(dataDir, "dvr"), 1<<30
	cfg.Events = []node.EventConfig{{ID: "demo", Title: "Ringside demo event", StreamKey: randomHex(16),
		DVRWindow: node.Duration(demoDVRWindow)}}
	if lowLatency {
		cfg.Events = append(cfg.Events, node.EventConfig{ID: llEvent, Title: "Ringside low-latency demo event",
			StreamKey:  randomHex(16),
			LowLatency: node.LowLatencyConfig{Enabled: true, PartTarget: node.Duration(500 * time.Millisecond)}})
	}
	if backup {
		// Both feeds go into this one node: the stream key selects the
		// feed. Switch back is manual, so a drill's switches are the
		// operator's (and a killed primary's) alone.
		cfg.Events = append(cfg.Events, node.EventConfig{ID: backupEvent, Title: "Ringside redundant demo event",
			DVRWindow: node.Duration(demoDVRWindow),
			Feeds: &node.FeedsConfig{Primary: node.FeedSourceConfig{StreamKey: randomHex(16)},
				Backup: node.FeedSourceConfig{StreamKey: randomHex(16)}, SwitchBack: "manual"}})
	}
	cfg.Admin.Token = os.Getenv("RINGSIDE_TOKEN")
	if cfg.Admin.Token == "" {
		cfg.Admin.Token = randomHex(16)
	}
	return cfg
}

// demoPKI makes a throwaway cluster CA in dataDir and gives the demo node
// its identity from it (Raft on mutual TLS) and, with httpsAddr, the
// players' HTTPS certificate for 127.0.0.1 and localhost. It returns the
// CA file, for players to trust.
func demoPKI(cfg *node.Config, dataDir, httpsAddr string) (string, error) {
	ca, err := identity.NewCA(0)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	caFile, _, err := ca.WriteFiles(filepath.Join(dataDir, "pki"), false)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	nc, err := ca.Issue(cfg.Node.ID, cfg.Node.Roles, 0, nil)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	cert, key, err := nc.WriteFiles(filepath.Join(dataDir, "pki"))
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	cfg.Identity = node.IdentitySection{Cert: cert, Key: key, CA: caFile}
	if httpsAddr != "" {
		cfg.HTTP.TLSListen, cfg.HTTP.TLS = httpsAddr, []node.KeyPairConfig{{Cert: cert, Key: key}}
	}
	return caFile, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// waitDemo runs until Ctrl-C (then stops the encoders first, so they
// finish their playlists, and the node) or until an encoder or the node
// fails. encErr is where the encoders (of which there are encoders)
// report their end; it has room for all of them.
func waitDemo(ctx context.Context, cancel context.CancelFunc, stdout io.Writer, nodeErr, encErr chan error, encoders int) error {
	select {
	case <-ctx.Done():
	case err := <-encErr:
		if err == nil {
			err = errors.New("demo: an encoder stopped")
		}
		cancel()
		<-nodeErr
		return err
	case err := <-nodeErr:
		cancel()
		for range encoders {
			<-encErr
		}
		return err
	}
	fmt.Fprintln(stdout, "stopping: encoders, then node")
	deadline := time.After(10 * time.Second)
	for range encoders {
		select {
		case <-encErr:
		case <-deadline:
		}
	}
	return <-nodeErr
}

func printURLs(w io.Writer, addr, adminAddr, dnsAddr, adminToken string, generated, lowLatency bool, redundant string) {
	base, admin := baseURL(addr), baseURL(adminAddr)
	token := shownToken(adminToken, generated)
	fmt.Fprintf(w, `
Ringside demo: one node with every role (ingest, shield, edge, a single-voter
control plane, steering) and an ffmpeg encoder pushing a 2-rung ladder
(480p, 240p) into event "demo". The first segments arrive after about 3 s.

  play:     %[1]s/live/demo/master.m3u8
            ffplay %[1]s/live/demo/master.m3u8
            (or paste the URL into any HLS player, e.g. VLC, Safari, hls.js)
  variants: %[1]s/live/demo/0/index.m3u8   %[1]s/live/demo/1/index.m3u8
  dvr:      %[1]s/live/demo/master.dvr.m3u8   (rewind up to %[6]s)
  start:    %[1]s/live/demo/master.startover.m3u8   (start-over: from the first segment kept)
  watch:    %[1]s/watch/demo   (a player page: hls.js with content steering and CMCD)
  console:  %[2]s/console/   (the ops console; sign in with the admin token)
  playback: %[1]s/play/demo   (pathways and a session; %[1]s/r/live/demo/master.m3u8 redirects)
  steering: %[1]s/s/live/demo/master.m3u8   (HLS content steering, manifest at /steer/demo)
  metrics:  %[2]s/metrics
  health:   %[1]s/healthz
  admin:    %[2]s/admin/v1/  (token %[3]s)
            RINGSIDE_ADDR=%[2]s RINGSIDE_TOKEN=%[3]s ringside ctl status
%[4]s%[5]s%[7]s
Ctrl-C stops the encoders and the node.
`, base, admin, token, dnsLine(dnsAddr), lowLatencyLines(base, lowLatency), minutes(demoDVRWindow), redundant)
}

// shownToken is the admin token as the demo prints it: the variable it
// came from, or the one it made up.
func shownToken(token string, generated bool) string {
	if generated {
		return token
	}
	return "$RINGSIDE_TOKEN"
}

func minutes(d time.Duration) string { return fmt.Sprintf("%.0f minutes", d.Minutes()) }

// lowLatencyLines are the URLs of the low-latency event, if there is one.
func lowLatencyLines(base string, lowLatency bool) string {
	if !lowLatency {
		return ""
	}
	return fmt.Sprintf(`
Low latency: event %[2]q, a second ffmpeg pushing LL-DASH/CMAF (0.5 s parts,
2 s segments) that the node packages as LL-HLS:

  ll-hls:   %[1]s/live/%[2]s/ll.m3u8
            (hls.js with lowLatencyMode: true, Safari)
  ll-dash:  %[1]s/live/%[2]s/manifest.mpd
            (dash.js or Shaka Player in low-latency mode)
`, base, llEvent)
}

func dnsLine(addr string) string {
	if addr == "" {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("  dns:      dig @%s -p %s live.ringside.test A   (authoritative for ringside.test)\n", host, port)
}

func baseURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// feedPID is the ffmpeg process of a feed's encoder.
type feedPID struct {
	feed string
	pid  int
}

// feedRestartDelay is how long a killed feed encoder stays down before
// the demo starts it again: long enough for the output to have moved to
// the other feed.
const feedRestartDelay = 5 * time.Second

// superviseFeed runs the encoder of one feed of a redundant event until
// ctx ends. Its ffmpeg dying is the drill the demo is for: the demo says
// so, starts it again after feedRestartDelay (switch back is manual, so
// the output stays where it went) and prints the new PID. An encoder that
// never started an ffmpeg (none installed, a bad configuration) ends the
// demo. The first PID goes to pids.
func superviseFeed(ctx context.Context, e demoEncoder, pids chan<- feedPID, out io.Writer) error {
	for run := 0; ; run++ {
		var pid atomic.Int64
		cfg := e.cfg
		cfg.Logger = slog.New(pidHook{Handler: e.cfg.Logger.Handler(), pid: func(p int) {
			pid.Store(int64(p))
			if run == 0 {
				pids <- feedPID{e.feed, p}
			} else {
				fmt.Fprintf(out, "%s: the %s feed's ffmpeg started again: pid %d (kill -9 %[3]d)\n", e.event, e.feed, p)
			}
		}})
		err := encoder.Run(ctx, cfg)
		if ctx.Err() != nil {
			return nil
		}
		if pid.Load() == 0 {
			if err == nil {
				err = fmt.Errorf("demo: the %s feed's encoder stopped", e.feed)
			}
			return err
		}
		e.cfg.Logger.Warn("encoder stopped; starting it again", "pid", pid.Load(), "after", feedRestartDelay, "err", err)
		fmt.Fprintf(out, "%s: the %s feed's ffmpeg (pid %d) stopped; if it was the active feed, the output moved to the other one "+
			"(ringside ctl events feeds %[1]s). It starts again in %v.\n", e.event, e.feed, pid.Load(), feedRestartDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(feedRestartDelay):
		}
	}
}

// firstPIDs waits for the first ffmpeg of both feeds (they start at once)
// and returns their PIDs by feed. An encoder ending first is an error.
func firstPIDs(ctx context.Context, pids <-chan feedPID, encErr <-chan error) (map[string]int, error) {
	got := map[string]int{}
	timeout := time.After(30 * time.Second)
	for len(got) < 2 {
		select {
		case p := <-pids:
			got[p.feed] = p.pid
		case err := <-encErr:
			if err == nil {
				err = errors.New("demo: an encoder stopped")
			}
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			return nil, errors.New("demo: the feeds' encoders did not start within 30 s")
		}
	}
	return got, nil
}

// pidHook passes every record on to Handler and gives pid the PID of each
// ffmpeg the encoder starts, which encoder.Run tells only in its
// "encoder started" record.
type pidHook struct {
	slog.Handler
	pid func(int)
}

// Enabled is always true: the "encoder started" record must reach Handle
// whatever the log level.
func (h pidHook) Enabled(context.Context, slog.Level) bool { return true }

func (h pidHook) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "encoder started" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "pid" && a.Value.Kind() == slog.KindInt64 {
				h.pid(int(a.Value.Int64()))
				return false
			}
			return true
		})
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h pidHook) WithAttrs(as []slog.Attr) slog.Handler {
	return pidHook{h.Handler.WithAttrs(as), h.pid}
}
func (h pidHook) WithGroup(name string) slog.Handler {
	return pidHook{h.Handler.WithGroup(name), h.pid}
}

// backupLines are the redundant event's URLs and the drill: kill the
// primary's ffmpeg, or switch by hand, and watch the feeds.
func backupLines(base, admin, token string, pids map[string]int) string {
	ctl := fmt.Sprintf("RINGSIDE_ADDR=%s RINGSIDE_TOKEN=%s ringside ctl events", admin, token)
	return fmt.Sprintf(`
Redundant event %[2]q: two more ffmpegs (240p+144p, 2 s segments) push its
primary and its backup feed into this node, each with its feed's stream key.
The node numbers one output timeline, taking each segment from the active
feed; players see a single stream.

  play:     %[1]s/live/%[2]s/master.m3u8
  dvr:      %[1]s/live/%[2]s/master.dvr.m3u8
  start:    %[1]s/live/%[2]s/master.startover.m3u8
  feeds:    %[3]s feeds %[2]s   (active feed, last switch and why, health)
            %[4]s/admin/v1/events/%[2]s/feeds
  failover: kill the primary's ffmpeg (pid %[5]d; the backup's is %[6]d):
            kill -9 %[5]d
            the output moves to the backup within 3 s (1.5 target durations
            without a segment) at a segment boundary; the demo starts the
            killed ffmpeg again 5 s later. Switch back is manual:
            %[3]s feed %[2]s primary --reason "drill over"
  switch:   or switch by hand, with both feeds up:
            %[3]s feed %[2]s backup --reason "drill"
`, base, backupEvent, ctl, admin, pids["primary"], pids["backup"])
}

// lockedWriter serializes writes: the feeds' supervisors print too.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
