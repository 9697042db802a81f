// Command ringside runs a Ringside node, the single-machine demo, and the
// operator's CLI.
//
//	ringside node --config FILE
//	ringside demo --http ADDR [--admin ADDR] [--dns ADDR] [--https ADDR] [--low-latency]
//	ringside ctl COMMAND
package main
