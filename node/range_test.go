package node

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		v                  string
		size               int
		start, end, status int
	}{
		{"bytes=0-", 100, 0, 100, rangeOne},
		{"bytes=10-19", 100, 10, 20, rangeOne},
		{"bytes=10-1000", 100, 10, 100, rangeOne}, // last past the end: the end
		{"bytes=10-99999999999999999999999", 100, 10, 100, rangeOne},
		{"bytes=-30", 100, 70, 100, rangeOne}, // the last 30 bytes
		{"bytes=-300", 100, 0, 100, rangeOne}, // more than there is: all of it
		{"BYTES=5-", 100, 5, 100, rangeOne},   // units are case-insensitive
		{"bytes=100-", 100, 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 100, 0, 0, rangeUnsatisfiable},
		{"bytes=0-1,5-6", 100, 0, 0, rangeWhole}, // several ranges: 200
		{"bytes=20-10", 100, 0, 0, rangeWhole},   // invalid: ignored
		{"bytes=x-", 100, 0, 0, rangeWhole},
		{"bytes=-", 100, 0, 0, rangeWhole},
		{"items=0-5", 100, 0, 0, rangeWhole},
		{"bytes=+5-", 100, 0, 0, rangeWhole},
	} {
		s, e, st := parseRange(tc.v, tc.size)
		if st != tc.status || (st == rangeOne && (s != tc.start || e != tc.end)) {
			t.Errorf("%q of %d: %d-%d status %d, want %d-%d status %d", tc.v, tc.size, s, e, st, tc.start, tc.end, tc.status)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-", "bytes=-5", "bytes=3-9", "bytes=1-2,4-5", "bytes=99-1"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, v string, size int) {
		if size < 0 || size > 1<<30 {
			return
		}
		s, e, st := parseRange(v, size)
		if st == rangeOne && (s < 0 || e > size || s >= e) {
			t.Fatalf("%q of %d: %d-%d", v, size, s, e)
		}
	})
}

// TestRangeRequests: what RFC 9110 allows is answered, over HTTP.
func TestRangeRequests(t *testing.T) {
	body := make([]byte, 1000)
	for i := range body {
		body[i] = byte(i)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer origin.Close()
	n := startNode(t, func(c *Config) { c.Events = []EventConfig{{ID: "fight", PullURL: origin.URL}} })
	url := "http://" + n.HTTPAddr() + "/live/fight/0/seg1.ts"
	do(t, "GET", url, "", nil) // cached
	for _, tc := range []struct {
		rng    string
		status int
		want   []byte
		cr     string
	}{
		{"bytes=-100", 206, body[900:], "bytes 900-999/1000"},
		{"bytes=990-5000", 206, body[990:], "bytes 990-999/1000"},
		{"bytes=0-9,20-29", 200, body, ""},
		{"bytes=1000-", 416, nil, "bytes */1000"},
	} {
		r := do(t, "GET", url, "", nil, "Range", tc.rng)
		if r.status != tc.status || r.header.Get("Content-Range") != tc.cr || (tc.want != nil && r.body != string(tc.want)) {
			t.Fatalf("Range %s: %d %q, %d bytes; want %d %q, %d bytes", tc.rng, r.status, r.header.Get("Content-Range"),
				len(r.body), tc.status, tc.cr, len(tc.want))
		}
	}
}
