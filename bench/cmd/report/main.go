package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ringside-live/ringside/bench/crowd"
)

// meta is what bench/run records about the machine and the run.
type meta struct {
	Date     string            `json:"date"`
	NProc    int               `json:"nproc"`
	CPUModel string            `json:"cpu_model"`
	Memory   string            `json:"memory"`
	Kernel   string            `json:"kernel"`
	LoadAvg  string            `json:"loadavg_at_start"`
	IdlePct  int               `json:"idle_pct_at_start"`
	Go       string            `json:"go"`
	Nginx    string            `json:"nginx"`
	Varnish  string            `json:"varnish"`
	Wrk      string            `json:"wrk"`
	Systems  string            `json:"systems"`
	Knobs    map[string]string `json:"knobs"`
}

// wrkResult is one hot-object measurement.
type wrkResult struct {
	System string     `json:"system"`
	Object string     `json:"object"`
	URL    string     `json:"url"`
	Wrk    wrkFigures `json:"wrk"`
}

// wrkFigures is wrk's summary as bench/wrk/json.lua prints it.
type wrkFigures struct {
	Requests      int64   `json:"requests"`
	DurationS     float64 `json:"duration_s"`
	Bytes         int64   `json:"bytes"`
	RPS           float64 `json:"rps"`
	MBPerS        float64 `json:"mb_per_s"`
	P50MS         float64 `json:"latency_p50_ms"`
	P99MS         float64 `json:"latency_p99_ms"`
	MaxMS         float64 `json:"latency_max_ms"`
	ErrorsConnect int64   `json:"errors_connect"`
	ErrorsRead    int64   `json:"errors_read"`
	ErrorsWrite   int64   `json:"errors_write"`
	ErrorsStatus  int64   `json:"errors_status"`
	ErrorsTimeout int64   `json:"errors_timeout"`
}

// errors is every kind of error wrk counted.
func (f wrkFigures) errors() int64 {
	return f.ErrorsConnect + f.ErrorsRead + f.ErrorsWrite + f.ErrorsStatus + f.ErrorsTimeout
}

// rssResult is the peak RSS of one system's processes.
type rssResult struct {
	System    string `json:"system"`
	Processes int    `json:"processes"`
	VmHWMKB   int64  `json:"vmhwm_kb"`
}

// results is everything in a results directory.
type results struct {
	meta   meta
	crowds []crowd.Report
	wrks   []wrkResult
	rss    []rssResult
	notes  []string
	https  httpsResults
	ll     llResults
	// sections are markdown sections the rounds write themselves
	// (hot.md from bench/hot.bash, growth.md from bench/growth.bash) and
	// findings-http.md, the reading of them written by hand,
	// placed after the hot-object and memory tables.
	sections []string
}

func main() {
	dir := flag.String("results", "bench/results", "directory bench/run wrote its JSON to")
	out := flag.String("out", "", "markdown file to write (default stdout)")
	flag.Parse()
	res, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	md := render(res)
	if *out == "" {
		fmt.Print(md)
		return
	}
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func load(dir string) (results, error) {
	var res results
	var errs []error
	var err error
	if err := readJSON(filepath.Join(dir, "meta.json"), &res.meta); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	errs = append(errs, loadAll(dir, "crowd-*.json", &res.crowds)...)
	errs = append(errs, loadAll(dir, "wrk-*.json", &res.wrks)...)
	errs = append(errs, loadAll(dir, "rss-*.json", &res.rss)...)
	res.https, err = loadHTTPS(dir)
	errs = append(errs, err)
	res.ll, err = loadLL(dir)
	for _, name := range []string{"hot.md", "growth.md", "findings-http.md"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > 0 {
			res.sections = append(res.sections, string(b))
		}
	}
	errs = append(errs, err)
	res.notes = readLines(filepath.Join(dir, "notes.txt"))
	order := systemOrder(res.meta.Systems)
	slices.SortStableFunc(res.crowds, func(a, b crowd.Report) int {
		return cmpSystems(order, a.Label, b.Label, a.Run-b.Run)
	})
	slices.SortStableFunc(res.wrks, func(a, b wrkResult) int {
		return cmpSystems(order, a.System, b.System, strings.Compare(b.Object, a.Object))
	})
	slices.SortStableFunc(res.rss, func(a, b rssResult) int { return cmpSystems(order, a.System, b.System, 0) })
	return res, errors.Join(errs...)
}

// loadAll decodes every file matching pattern in dir into *dst.
func loadAll[T any](dir, pattern string, dst *[]T) []error {
	paths, _ := filepath.Glob(filepath.Join(dir, pattern))
	slices.Sort(paths)
	var errs []error
	for _, p := range paths {
		var v T
		if err := readJSON(p, &v); err != nil {
			errs = append(errs, err)
			continue
		}
		*dst = append(*dst, v)
	}
	return errs
}

// readLines is the non-blank lines of a text file, none if it is missing.
func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// systemOrder ranks systems in the order bench/run ran them.
func systemOrder(systems string) map[string]int {
	order := map[string]int{}
	for i, s := range strings.Fields(systems) {
		order[s] = i + 1
	}
	return order
}

func cmpSystems(order map[string]int, a, b string, tie int) int {
	ra, rb := order[a], order[b]
	if ra == 0 {
		ra = len(order) + 1
	}
	if rb == 0 {
		rb = len(order) + 1
	}
	if ra != rb {
		return ra - rb
	}
	if c := strings.Compare(a, b); c != 0 {
		return c
	}
	return tie
}
