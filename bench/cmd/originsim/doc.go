// Command originsim serves a simulated live HLS packager (package
// bench/originsim) on a loopback address until interrupted.
//
//	originsim -addr 127.0.0.1:18080 -segment-ms 2000 -window 6 \
//	    -segment-sizes 131072,262144,1048576 -ttfb 50ms -bandwidth 5000000
package main
