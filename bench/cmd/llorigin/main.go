package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ringside-live/ringside/bench/llorigin"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "llorigin:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := llorigin.DefaultConfig()
	addr := flag.String("addr", "127.0.0.1:18120", "listen address (loopback only)")
	flag.IntVar(&cfg.Renditions, "renditions", cfg.Renditions, "number of renditions r0..rN-1")
	flag.DurationVar(&cfg.PartDuration, "part", cfg.PartDuration, "part duration (PART-TARGET)")
	flag.IntVar(&cfg.PartsPerSegment, "parts-per-segment", cfg.PartsPerSegment, "parts in one segment")
	flag.IntVar(&cfg.Window, "window", cfg.Window, "complete segments listed in a media playlist")
	flag.IntVar(&cfg.PartSegments, "part-segments", cfg.PartSegments, "newest complete segments whose parts stay listed")
	flag.IntVar(&cfg.Retain, "retain", cfg.Retain, "segments behind the window still served")
	sizes := flag.String("part-sizes", joinInts(cfg.PartSizes), "part size in bytes per rendition, comma separated; the last repeats")
	flag.DurationVar(&cfg.HoldLimit, "hold-limit", 0, "longest hold of a blocking reload or hinted part (0: three target durations)")
	flag.DurationVar(&cfg.TTFB, "ttfb", 0, "delay before part and segment headers")
	flag.DurationVar(&cfg.PlaylistTTFB, "playlist-ttfb", 0, "delay before playlist headers")
	logRequests := flag.Bool("log-requests", false, "log every request (time, URI, X-Ringside-Hop) to stderr")
	flag.Parse()
	var err error
	if cfg.PartSizes, err = parseInts(*sizes); err != nil {
		return err
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	sim, err := llorigin.New(cfg, nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = sim.Run(ctx) }()
	var h http.Handler = sim
	if *logRequests {
		h = logged(sim)
	}
	return serve(ctx, *addr, h)
}

func serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	fmt.Printf("llorigin listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// logged writes one line per request to stderr when it arrives: for a
// look at what a cache in front sends (its hop header names a Ringside
// node).
func logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "%s %s %s hop=%q\n", time.Now().UTC().Format("15:04:05.000000"), r.Method,
			r.URL.RequestURI(), r.Header.Get("X-Ringside-Hop"))
		h.ServeHTTP(w, r)
	})
}

func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %s: only loopback addresses are allowed", addr)
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad integer %q: %w", f, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
