// Command crowd runs a flash crowd (package bench/crowd) against one or more
// loopback base URLs, prints a summary and writes the JSON report.
//
//	crowd -players 500 -join 10s -duration 30s \
//	    -base http://127.0.0.1:18081/live/ev/ \
//	    -origin-stats http://127.0.0.1:18080/_stats -label nginx -run 1 -out nginx-1.json
package main
