package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ringside-live/ringside/bench/llcrowd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "llcrowd:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := llcrowd.DefaultConfig()
	flag.IntVar(&cfg.Players, "players", cfg.Players, "number of players")
	flag.DurationVar(&cfg.JoinWindow, "join", cfg.JoinWindow, "window over which players join")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the whole run")
	flag.Int64Var(&cfg.MaxRequests, "max-requests", cfg.MaxRequests, "request budget of the whole run")
	bases := flag.String("base", strings.Join(cfg.Bases, ","), "comma-separated event root URLs, each ending in /")
	rends := flag.String("renditions", strings.Join(cfg.Renditions, ","), "comma-separated renditions players pick from")
	flag.BoolVar(&cfg.Hint, "hint", cfg.Hint, "fetch the hinted part beside each blocking reload")
	flag.BoolVar(&cfg.Skip, "skip", cfg.Skip, "ask for delta updates (_HLS_skip=YES)")
	flag.IntVar(&cfg.VerifyEvery, "verify-every", cfg.VerifyEvery, "check every Nth part byte for byte (1: all; the others by header and length)")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	flag.StringVar(&cfg.StatsURL, "origin-stats", "", "LL origin simulator stats URL (reset at start, read at end)")
	noReset := flag.Bool("no-reset", false, "do not reset the origin stats at the start")
	metrics := flag.String("metrics", "", "comma-separated /metrics URLs of Ringside nodes to sample for parked requests")
	flag.DurationVar(&cfg.MetricsEvery, "metrics-every", cfg.MetricsEvery, "metrics sampling interval")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed for join times and renditions")
	label := flag.String("label", "", "name of the system under test, for the report")
	runNo := flag.Int("run", 0, "run number, for the report")
	out := flag.String("out", "", "write the JSON report to this file (- for stdout)")
	cycles := flag.String("cycles", "", "write every player's cycles as CSV to this file")
	flag.Parse()

	cfg.Bases = splitList(*bases)
	cfg.Renditions = splitList(*rends)
	cfg.MetricsURLs = splitList(*metrics)
	cfg.ResetStats = !*noReset
	for _, u := range append(append([]string{cfg.StatsURL}, cfg.Bases...), cfg.MetricsURLs...) {
		if err := loopbackOnly(u); err != nil {
			return err
		}
	}
	if *cycles != "" {
		f, err := os.Create(*cycles)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		defer w.Flush()
		cfg.CyclesCSV = w
	}
	c, err := llcrowd.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := c.Run(ctx)
	if err != nil {
		return err
	}
	r.Label, r.Run = *label, *runNo
	fmt.Fprint(os.Stderr, r.Summary())
	return writeReport(*out, r)
}

func writeReport(path string, r llcrowd.Report) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// loopbackOnly refuses load aimed anywhere but this machine.
func loopbackOnly(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: only loopback targets are allowed", raw)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
