package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  ringside node --config FILE     run a node from its YAML configuration
  ringside demo --http ADDR [--admin ADDR] [--low-latency] [--backup]
                                  one node with a demo event fed by a local ffmpeg
                                  (--low-latency: and an LL-HLS/LL-DASH event fed by a second;
                                  --backup: and a redundant event, a primary and a backup ffmpeg)
  ringside ctl COMMAND            the operator's CLI over the admin API (ringside ctl for help)
  ringside version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command until it finishes or ctx ends, and returns the
// process exit code: 0 ok, 1 failure, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "node":
		err = runNode(ctx, args[1:], stderr)
	case "demo":
		err = runDemo(ctx, args[1:], stdout, stderr)
	case "ctl":
		return runCtl(args[1:], stdout, stderr)
	case "ca":
		return runCA(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ringside", version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ringside: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "ringside:", err)
		return 1
	}
	return 0
}

var version = "dev"

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
