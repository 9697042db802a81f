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
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "ringside-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dataDir)
	cfg := demoConfig(*httpAddr, *adminAddr, *dnsAddr, dataDir)
	caFile, err := demoPKI(&cfg, dataDir, *httpsAddr)
	if err != nil {
		return err
	}
	streamKey := cfg.Events[0].StreamKey
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
	base := "http://" + n.HTTPAddr()
	ecfg := encoder.DefaultConfig()
	ecfg.FFmpeg, ecfg.FMP4, ecfg.Logger = *ffmpeg, *fmp4, log
	ecfg.IngestBase, ecfg.StreamKey = base+"/ingest/demo", streamKey
	encErr := make(chan error, 1)
	go func() { encErr <- encoder.Run(ctx, ecfg) }()
	admin := n.AdminAddr()
	if admin == "" {
		admin = n.HTTPAddr()
	}
	printURLs(stdout, n.HTTPAddr(), admin, n.DNSAddr(), cfg.Admin.Token, os.Getenv("RINGSIDE_TOKEN") == "")
	if n.HTTPSAddr() != "" {
		fmt.Fprintf(stdout, "  https:    https://%s/live/demo/master.m3u8\n            (certificate from the demo's throwaway CA: %s)\n\n",
			n.HTTPSAddr(), caFile)
	}
	return waitDemo(ctx, cancel, stdout, nodeErr, encErr)
}

// demoConfig is the embedded default: every role, a single-voter control
// plane in dataDir, one push event with a random stream key, and the admin
// token from $RINGSIDE_TOKEN or a random one.
func demoConfig(httpAddr, adminAddr, dnsAddr, dataDir string) node.Config {
	cfg := node.DefaultConfig()
	cfg.Node.ID = "demo"
	cfg.Node.Roles = []string{node.RoleIngest, node.RoleShield, node.RoleEdge, node.RoleControl, node.RoleSteer}
	cfg.Control.DataDir, cfg.Control.RaftBind = dataDir, "127.0.0.1:0"
	cfg.Control.Bootstrap = []node.PeerConfig{{ID: "demo"}}
	cfg.HTTP.Listen, cfg.Admin.Listen = httpAddr, adminAddr
	cfg.Steering.DNSListen, cfg.Steering.DefaultEvent = dnsAddr, "demo"
	cfg.Events = []node.EventConfig{{ID: "demo", Title: "Ringside demo event", StreamKey: randomHex(16)}}
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

// waitDemo runs until Ctrl-C (then stops the encoder first, so it finishes
// its playlists, and the node) or until the encoder or the node fails.
func waitDemo(ctx context.Context, cancel context.CancelFunc, stdout io.Writer, nodeErr, encErr chan error) error {
	select {
	case <-ctx.Done():
	case err := <-encErr:
		if err == nil {
			err = errors.New("demo: the encoder stopped")
		}
		cancel()
		<-nodeErr
		return err
	case err := <-nodeErr:
		cancel()
		<-encErr
		return err
	}
	fmt.Fprintln(stdout, "stopping: encoder, then node")
	select {
	case <-encErr:
	case <-time.After(10 * time.Second):
	}
	return <-nodeErr
}

func printURLs(w io.Writer, addr, adminAddr, dnsAddr, adminToken string, generated bool) {
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
%[4]s
Ctrl-C stops the encoder and the node.
`, base, admin, token, dnsLine(dnsAddr))
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
