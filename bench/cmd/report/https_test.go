package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pprofTop = `File: ringside
Type: cpu
Duration: 4s, Total samples = 3.20s (80.00%)
Showing nodes accounting for 3.20s, 100% of 3.20s total
      flat  flat%   sum%        cum   cum%
     1.28s 40.00% 40.00%      1.28s 40.00%  crypto/internal/fips140/aes/gcm.gcmAesEnc
     0.96s 30.00% 70.00%      0.96s 30.00%  internal/runtime/syscall/linux.Syscall6
     0.32s 10.00% 80.00%      0.32s 10.00%  runtime.memmove
     0.16s  5.00% 85.00%      0.16s  5.00%  crypto/tls.(*halfConn).explicitNonceLen
     0.16s  5.00% 90.00%      0.16s  5.00%  runtime.findRunnable
     0.32s 10.00%   100%      3.10s 96.88%  github.com/valyala/fasthttp.(*Server).serveConn
         0     0%   100%      3.00s 93.75%  crypto/tls.(*Conn).Write
         0     0%   100%      0.90s 28.13%  internal/poll.(*FD).Write
         0     0%   100%      0.02s  0.63%  crypto/tls.(*Conn).readRecord (inline)
`

const perfDSO = `# To display the perf.data header info, please use --header/--header-only options.
#
# Samples: 401  of event 'cpu-clock:pppH'
#
# Overhead  Shared Object
# ........  ....................
#
    43.14%  [kernel.kallsyms]
    36.16%  libcrypto.so.3
     0.30%  libpcre2-8.so.0.11.2
#
# (Tip: Compare performance results with: perf diff [<old file> <new file>])
#
`

func TestParsePprofTop(t *testing.T) {
	rows := parsePprofTop(pprofTop)
	if len(rows) != 9 {
		t.Fatalf("%d rows, want 9: %+v", len(rows), rows)
	}
	for _, tc := range []struct {
		fn        string
		flat, cum float64
	}{
		{"crypto/internal/fips140/aes/gcm.gcmAesEnc", 40, 40},
		{"crypto/tls.(*Conn).Write", 0, 93.75},
		{"crypto/tls.(*Conn).readRecord", 0, 0.63},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			i := -1
			for j, r := range rows {
				if r.Name == tc.fn {
					i = j
				}
			}
			if i < 0 || rows[i].FlatPct != tc.flat || rows[i].CumPct != tc.cum {
				t.Fatalf("row for %s: %+v", tc.fn, rows)
			}
		})
	}
	got := categorize(rows)
	want := []float64{40, 30, 10, 5, 5, 10}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("categories %v, want %v", got, want)
		}
	}
}

func TestParsePerfDSO(t *testing.T) {
	got := parsePerfDSO(perfDSO)
	want := []share{{"[kernel.kallsyms]", 43.14}, {"libcrypto.so.3", 36.16}, {"libpcre2-8.so.0.11.2", 0.30}}
	if len(got) != len(want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%+v, want %+v", got, want)
		}
	}
}

func TestMedianAndRatios(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 2, 3}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	round := func(n int, v float64) httpsRound { return httpsRound{Round: n, Wrk: wrkFigures{RPS: v}} }
	got := pairedRatios([]httpsRound{round(1, 10), round(2, 30), round(3, 5)}, []httpsRound{round(2, 10), round(1, 20)}, rps)
	if len(got) != 2 || got[0] != 0.5 || got[1] != 3 {
		t.Fatalf("paired ratios %v, want [0.5 3] (round 3 has no partner)", got)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAndRenderHTTPS(t *testing.T) {
	dir := t.TempDir()
	writeJSON(t, filepath.Join(dir, "https-meta.json"), httpsMeta{
		Date: "2025-01-01T00:00:00Z", NProc: 2, Systems: "ringside nginx nginx-ktls",
		Tests: "segment-http segment-https playlist-https-close", Rounds: 2, ULP: "mptcp",
		NginxOpenSSL: "OpenSSL 3.0.22 (running with OpenSSL 3.0.19)", GoSealMBs: 4000, OpenSSLSealMBs: 3000,
		Negotiated: map[string]string{"ringside": "TLSv1.3 TLS_AES_128_GCM_SHA256", "nginx": "TLSv1.3 TLS_AES_128_GCM_SHA256"},
		Knobs:      map[string]string{"WRK_THREADS": "2", "WRK_CONNS": "64", "WRK_DURATION_S": "5"},
	})
	add := func(sys, test string, round int, rps, cpu float64) {
		writeJSON(t, filepath.Join(dir, "https-wrk-"+sys+"-"+test+"-"+string(rune('0'+round))+".json"), httpsRound{
			System: sys, Test: test, Round: round, ServerCPUS: cpu,
			Wrk: wrkFigures{Requests: int64(rps * 5), RPS: rps, Bytes: int64(rps * 5 * 1048576)},
		})
	}
	for r := 1; r <= 2; r++ {
		add("ringside", "segment-http", r, 2000, 3)
		add("nginx", "segment-http", r, 2000, 4)
		add("ringside", "segment-https", r, 1000, 4)
		add("nginx", "segment-https", r, 800*float64(r), 4)
	}
	if err := os.WriteFile(filepath.Join(dir, "https-pprof-ringside.txt"), []byte(pprofTop), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"https-perf-nginx-ktls-segment-https.txt", "https-perf-ringside-playlist-https-close.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(perfDSO), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "https-notes.txt"), []byte("no kernel TLS here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := loadHTTPS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.perf["segment-https"]["nginx-ktls"]) != 3 || len(h.perf["playlist-https-close"]["ringside"]) != 3 {
		t.Fatalf("perf files by test and system: %+v", h.perf)
	}
	if h.rounds[0].System != "ringside" || h.rounds[0].Test != "segment-http" || h.rounds[len(h.rounds)-1].Test != "segment-https" {
		t.Fatalf("rounds out of order: %+v", h.rounds)
	}
	var b strings.Builder
	renderHTTPS(&b, h)
	md := b.String()
	for _, want := range []string{
		"| segment-https | nginx | 1048.6 | 1200 | 0.0 | 800 / 1600 | 0.0 | 750 | 0 |",
		"Ringside/nginx = **0.94** (rounds 0.62 to 1.25): Ringside served 6% fewer requests per second than nginx, and spent 1.20 times nginx's CPU per response.",
		"Ringside/nginx = **1.00** (rounds 1.00 to 1.00): Ringside served as many requests per second as nginx",
		"- ringside: over HTTPS it served 50% of its plain-HTTP requests per second; its CPU per segment went from 300 µs to 800 µs",
		"| AES-GCM sealing (crypto/internal/fips140/aes/gcm and aes) | 40.0% |",
		"`crypto/tls.(*Conn).Write` 93.8%",
		"| [kernel.kallsyms] | 43.1% |",
		"Go's AES-GCM runs at 1.33 times OpenSSL's speed here: the cipher itself costs Ringside no more than nginx",
		"Applied to Ringside's 800 µs of CPU per segment over HTTPS: about 320 µs of AES-GCM, 80 µs of copies and 240 µs of system calls, against 300 µs",
		"nginx runs on OpenSSL 3.0",
		"its kernel has no tls module",
		"- no kernel TLS here",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestNoHTTPSRounds(t *testing.T) {
	h, err := loadHTTPS(t.TempDir())
	if err != nil || h.meta != nil {
		t.Fatalf("empty directory: %+v, %v", h, err)
	}
	var b strings.Builder
	renderHTTPS(&b, h)
	if b.Len() != 0 {
		t.Fatalf("rendered %q without HTTPS rounds", b.String())
	}
}
