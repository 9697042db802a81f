// Command report turns the raw JSON that bench/run leaves in a results
// directory into the markdown tables of bench/RESULTS.md.
//
//	report -results bench/results -out bench/RESULTS.md
//
// It reads meta.json (machine, versions, knobs), crowd-SYSTEM-RUN.json
// (bench/crowd reports), wrk-SYSTEM-OBJECT.json (hot-object throughput),
// rss-SYSTEM.json (peak RSS) and notes.txt (skipped systems and failures).
package main
