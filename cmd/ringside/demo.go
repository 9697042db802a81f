package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
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
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "ringside-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dataDir)
	cfg := demoConfig(*httpAddr, *adminAddr, *dnsAddr, dataDir, *lowLatency)
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
	encoders := demoEncoders(cfg, "http://"+n.HTTPAddr(), *ffmpeg, *fmp4)
	encErr := make(chan error, len(encoders))
	for _, ecfg := range encoders {
		ecfg.Logger = log.With("component", "encoder", "event", path.Base(ecfg.IngestBase))
		go func() { encErr <- encoder.Run(ctx, ecfg) }()
	}
	admin := n.AdminAddr()
	if admin == "" {
		admin = n.HTTPAddr()
	}
	printURLs(stdout, n.HTTPAddr(), admin, n.DNSAddr(), cfg.Admin.Token, os.Getenv("RINGSIDE_TOKEN") == "", *lowLatency)
	if n.HTTPSAddr() != "" {
		fmt.Fprintf(stdout, "  https:    https://%s/live/demo/master.m3u8\n            (certificate from the demo's throwaway CA: %s)\n",
			n.HTTPSAddr(), caFile)
		if *lowLatency {
			fmt.Fprintf(stdout, "            https://%[1]s/live/%[2]s/ll.m3u8   https://%[1]s/live/%[2]s/manifest.mpd\n", n.HTTPSAddr(), llEvent)
		}
		fmt.Fprintln(stdout)
	}
	return waitDemo(ctx, cancel, stdout, nodeErr, encErr, len(encoders))
}

// llEvent is the demo's low-latency event (--low-latency).
const llEvent = "demo-ll"

// demoEncoders is one ffmpeg per push event of cfg: HLS into "demo" and,
// with --low-latency, LL-DASH/CMAF into demo-ll with fragments of its part
// target. Both keep the cheap 480p+240p ladder; the low-latency one runs
// at 30 fps so that each 0.5 s part is 15 whole frames (about a sixth of
// a core, the HLS one at 15 fps about a ninth).
func demoEncoders(cfg node.Config, base, ffmpeg string, fmp4 bool) []encoder.Config {
	var encs []encoder.Config
	for _, ev := range cfg.Events {
		ecfg := encoder.DefaultConfig()
		ecfg.FFmpeg, ecfg.IngestBase, ecfg.StreamKey = ffmpeg, base+"/ingest/"+ev.ID, ev.StreamKey
		if ev.LowLatency.Enabled {
			ecfg.LowLatency, ecfg.FPS, ecfg.PartTarget = true, 30, time.Duration(ev.LowLatency.PartTarget)
		} else {
			ecfg.FMP4 = fmp4
		}
		encs = append(encs, ecfg)
	}
	return encs
}

// demoConfig is the embedded default: every role, a single-voter control
// plane in dataDir, one push event with a random stream key (and, with
// lowLatency, the low-latency push event llEvent with its own), and the
// admin token from $RINGSIDE_TOKEN or a random one.
func demoConfig(httpAddr, adminAddr, dnsAddr, dataDir string, lowLatency bool) node.Config {
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
	cfg.Events = []node.EventConfig{{ID: "demo", Title: "Ringside demo event", StreamKey: randomHex(16)}}
	if lowLatency {
		cfg.Events = append(cfg.Events, node.EventConfig{ID: llEvent, Title: "Ringside low-latency demo event",
			StreamKey:  randomHex(16),
			LowLatency: node.LowLatencyConfig{Enabled: true, PartTarget: node.Duration(500 * time.Millisecond)}})
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

func printURLs(w io.Writer, addr, adminAddr, dnsAddr, adminToken string, generated, lowLatency bool) {
	base, admin := baseURL(addr), baseURL(adminAddr)
	token := "$RINGSIDE_TOKEN"
	if generated {
		token = adminToken
	}
	fmt.Fprintf(w, `
Ringside demo: one node with every role (ingest, shield, edge, a single-voter
control plane, steering) and an ffmpeg encoder pushing a 2-rung ladder
(480p, 240p) into event "demo". The first segments arrive after about 3 s.

  play:     %[1]s/live/demo/master.m3u8
            ffplay %[1]s/live/demo/master.m3u8
            (or paste the URL into any HLS player, e.g. VLC, Safari, hls.js)
  variants: %[1]s/live/demo/0/index.m3u8   %[1]s/live/demo/1/index.m3u8
  playback: %[1]s/play/demo   (pathways and a session; %[1]s/r/live/demo/master.m3u8 redirects)
  steering: %[1]s/s/live/demo/master.m3u8   (HLS content steering, manifest at /steer/demo)
  metrics:  %[2]s/metrics
  health:   %[1]s/healthz
  admin:    %[2]s/admin/v1/  (token %[3]s)
            RINGSIDE_ADDR=%[2]s RINGSIDE_TOKEN=%[3]s ringside ctl status
%[4]s%[5]s
Ctrl-C stops the encoders and the node.
`, base, admin, token, dnsLine(dnsAddr), lowLatencyLines(base, lowLatency))
}

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
