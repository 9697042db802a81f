// Command report turns the raw JSON that bench/run leaves in a results
// directory into the markdown tables of bench/RESULTS.md.
//
//	report -results bench/results -out bench/RESULTS.md
//
// It reads meta.json (machine, versions, knobs), crowd-SYSTEM-RUN.json
// (bench/crowd reports), wrk-SYSTEM-OBJECT.json (hot-object throughput),
// rss-SYSTEM.json (peak RSS) and notes.txt (skipped systems and failures),
// and, from the HTTPS rounds (bench/https.bash), https-meta.json,
// https-wrk-SYSTEM-TEST-ROUND.json, https-pprof-ringside.txt (`go tool
// pprof -top` of Ringside during an HTTPS segment round),
// https-perf-SYSTEM-TEST.txt (`perf report --sort dso`) and
// https-notes.txt.
package main
