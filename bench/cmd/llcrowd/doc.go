// Command llcrowd runs a crowd of low-latency HLS players (package
// bench/llcrowd) against loopback targets and writes the JSON report.
package main
