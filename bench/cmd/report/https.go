package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// httpsMeta is what bench/https.bash records about its rounds.
type httpsMeta struct {
	Date         string `json:"date"`
	NProc        int    `json:"nproc"`
	CPUModel     string `json:"cpu_model"`
	Kernel       string `json:"kernel"`
	LoadAvg      string `json:"loadavg_at_start"`
	IdlePct      int    `json:"idle_pct_at_start"`
	Ringside     string `json:"ringside"`
	Go           string `json:"go"`
	Nginx        string `json:"nginx"`
	Wrk          string `json:"wrk"`
	OpenSSL      string `json:"openssl"`
	NginxOpenSSL string `json:"nginx_openssl"`
	Certificate  string `json:"certificate"`
	// ULP is /proc/sys/net/ipv4/tcp_available_ulp: "tls" in it means
	// the kernel can encrypt records (kTLS).
	ULP         string `json:"tcp_available_ulp"`
	KTLSKernel  bool   `json:"ktls_kernel"`
	KTLSOpenSSL bool   `json:"ktls_openssl"`
	// KTLSTxSockets is how many sockets the kernel encrypted for during
	// the rounds (TlsTxSw): nonzero only when nginx-ktls really used kTLS.
	KTLSTxSockets int `json:"ktls_tx_sockets"`
	// One core's AES-128-GCM sealing of 16 KB records, MB/s.
	GoSealMBs      float64           `json:"aes_gcm_go_mb_s"`
	OpenSSLSealMBs float64           `json:"aes_gcm_openssl_mb_s"`
	Segment        string            `json:"segment"`
	Systems        string            `json:"systems"`
	Tests          string            `json:"tests"`
	Rounds         int               `json:"rounds"`
	Negotiated     map[string]string `json:"negotiated"`
	Knobs          map[string]string `json:"knobs"`
}

// httpsRound is one wrk run of one test against one server.
type httpsRound struct {
	System string `json:"system"`
	Test   string `json:"test"`
	Round  int    `json:"round"`
	URL    string `json:"url"`
	// ServerCPUS is the user+system CPU time of the server's processes
	// while wrk ran.
	ServerCPUS float64    `json:"server_cpu_s"`
	Wrk        wrkFigures `json:"wrk"`
}

// cpuPerResponseUS is the server's CPU time per response, microseconds.
func (r httpsRound) cpuPerResponseUS() float64 {
	if r.Wrk.Requests == 0 {
		return 0
	}
	return r.ServerCPUS / float64(r.Wrk.Requests) * 1e6
}

// profileRow is one line of `go tool pprof -top`.
type profileRow struct {
	FlatPct, CumPct float64
	Name            string
}

// share is one line of `perf report --sort dso`.
type share struct {
	Name string
	Pct  float64
}

// httpsResults is everything the HTTPS rounds left in a results directory.
type httpsResults struct {
	meta    *httpsMeta // nil when there were no HTTPS rounds
	rounds  []httpsRound
	profile []profileRow // Ringside during a segment-https round
	// The profile's length, CPU time sampled, and cores that makes, from
	// pprof's "Duration: 4s, Total samples = 3.2s (80.00%)".
	profileDuration, profileSamples string
	profileCores                    float64
	perf                            map[string]map[string][]share // test -> system -> shared objects
	notes                           []string
}

func loadHTTPS(dir string) (httpsResults, error) {
	var res httpsResults
	var m httpsMeta
	err := readJSON(filepath.Join(dir, "https-meta.json"), &m)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.meta = &m
	errs := loadAll(dir, "https-wrk-*.json", &res.rounds)
	res.notes = readLines(filepath.Join(dir, "https-notes.txt"))
	if b, err := os.ReadFile(filepath.Join(dir, "https-pprof-ringside.txt")); err == nil {
		res.profile = parsePprofTop(string(b))
		if m := pprofSpan.FindStringSubmatch(string(b)); m != nil {
			res.profileDuration, res.profileSamples = m[1], m[2]
			pct, _ := strconv.ParseFloat(m[3], 64)
			res.profileCores = pct / 100
		}
	}
	// https-perf-SYSTEM-TEST.txt; names of both may hold dashes.
	res.perf = map[string]map[string][]share{}
	paths, _ := filepath.Glob(filepath.Join(dir, "https-perf-*.txt"))
	for _, p := range paths {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "https-perf-"), ".txt")
		for _, t := range strings.Fields(m.Tests) {
			sys, ok := strings.CutSuffix(name, "-"+t)
			if !ok || !slices.Contains(strings.Fields(m.Systems), sys) {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if res.perf[t] == nil {
				res.perf[t] = map[string][]share{}
			}
			res.perf[t][sys] = parsePerfDSO(string(b))
			break
		}
	}
	systems, tests := systemOrder(m.Systems), systemOrder(m.Tests)
	slices.SortStableFunc(res.rounds, func(a, b httpsRound) int {
		if c := cmpSystems(tests, a.Test, b.Test, 0); c != 0 {
			return c
		}
		return cmpSystems(systems, a.System, b.System, a.Round-b.Round)
	})
	return res, errors.Join(errs...)
}

// pprofSpan is pprof's header line on the profile's length and samples.
var pprofSpan = regexp.MustCompile(`Duration: (\S+), Total samples = (\S+) \(([\d.]+)%\)`)

// pprofLine is a row of `go tool pprof -top`: flat flat% sum% cum cum% name.
var pprofLine = regexp.MustCompile(`^\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+([\d.]+)%\s+(.+?)\s*$`)

func parsePprofTop(text string) []profileRow {
	var rows []profileRow
	for line := range strings.Lines(text) {
		m := pprofLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		flat, err1 := strconv.ParseFloat(m[1], 64)
		cum, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		rows = append(rows, profileRow{FlatPct: flat, CumPct: cum, Name: strings.TrimSuffix(m[3], " (inline)")})
	}
	return rows
}

// perfLine is a row of `perf report --sort dso --stdio`: overhead, object.
var perfLine = regexp.MustCompile(`^\s*([\d.]+)%\s+(\S.*?)\s*$`)

func parsePerfDSO(text string) []share {
	var out []share
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		m := perfLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pct, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		out = append(out, share{Name: m[2], Pct: pct})
	}
	return out
}

// profileCategory groups a Go CPU profile's flat time; the first category
// whose match accepts a function takes its samples.
type profileCategory struct {
	label string
	match func(fn string) bool
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

var profileCategories = []profileCategory{
	{"AES-GCM sealing (crypto/internal/fips140/aes/gcm and aes)", func(fn string) bool {
		return hasAnyPrefix(fn, "crypto/internal/fips140/aes", "crypto/aes.", "crypto/cipher.")
	}},
	{"system calls: kernel time of socket writes and reads, loopback TCP included", func(fn string) bool {
		return hasAnyPrefix(fn, "internal/runtime/syscall", "runtime/internal/syscall", "syscall.")
	}},
	{"runtime.memmove: copies (plaintext into each TLS record, response into buffers)", func(fn string) bool {
		return fn == "runtime.memmove"
	}},
	{"rest of crypto/tls and crypto (record framing, handshakes)", func(fn string) bool {
		return strings.HasPrefix(fn, "crypto/")
	}},
	{"Go runtime (scheduler, netpoller, GC)", func(fn string) bool {
		return hasAnyPrefix(fn, "runtime.", "internal/runtime/")
	}},
}

// categorize sums a profile's flat percentages by category; the last
// element is what no category took (fasthttp, Ringside, the rest).
func categorize(rows []profileRow) []float64 {
	sums := make([]float64, len(profileCategories)+1)
	for _, r := range rows {
		i := slices.IndexFunc(profileCategories, func(c profileCategory) bool { return c.match(r.Name) })
		if i < 0 {
			i = len(profileCategories)
		}
		sums[i] += r.FlatPct
	}
	return sums
}

// cumPct is the cumulative percentage of the first function named fn.
func cumPct(rows []profileRow, fn string) (float64, bool) {
	for _, r := range rows {
		if r.Name == fn {
			return r.CumPct, true
		}
	}
	return 0, false
}

// median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// roundsOf is one test on one server, in round order.
func (h httpsResults) roundsOf(test, system string) []httpsRound {
	var out []httpsRound
	for _, r := range h.rounds {
		if r.Test == test && r.System == system {
			out = append(out, r)
		}
	}
	return out
}

// pairedRatios divides a's figure by b's, round by round (the rounds run
// back to back, so each pair shares the machine's state of the moment).
func pairedRatios(a, b []httpsRound, f func(httpsRound) float64) []float64 {
	byRound := map[int]httpsRound{}
	for _, r := range b {
		byRound[r.Round] = r
	}
	var out []float64
	for _, r := range a {
		o, ok := byRound[r.Round]
		if !ok || f(o) == 0 {
			continue
		}
		out = append(out, f(r)/f(o))
	}
	return out
}

func rps(r httpsRound) float64 { return r.Wrk.RPS }

func cpuPerResponse(r httpsRound) float64 { return r.cpuPerResponseUS() }
