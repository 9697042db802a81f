package node

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
)

// countingOrigin serves a media playlist (segments 10, 11 and 12) and
// segments, and counts requests by path and query.
type countingOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

const llPlaylist = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n" +
	"#EXTINF:2.0,\nseg10.ts\n#EXTINF:2.0,\nseg11.ts\n#EXTINF:2.0,\nseg12.ts\n"

func newCountingOrigin(t *testing.T) *countingOrigin {
	o := &countingOrigin{seen: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen[r.URL.RequestURI()]++
		o.mu.Unlock()
		if r.URL.Path == "/0/index.m3u8" {
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.Write([]byte(llPlaylist))
			return
		}
		w.Write(make([]byte, 8<<10))
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *countingOrigin) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.seen {
		n += c
	}
	return n
}

// TestDirectivesCannotBustTheCache: _HLS_msn, _HLS_part and _HLS_skip are
// part of the key only on media playlists of low-latency events, only near
// the live edge and in one spelling; anything else is the one object or a
// 400, never another upstream fetch per value.
func TestDirectivesCannotBustTheCache(t *testing.T) {
	o := newCountingOrigin(t)
	n := steerNode(t, o.URL)
	apply(t, n, control.CmdPutEvent, control.Event{ID: "ll", State: control.StateLive, PullURL: o.URL,
		LowLatency: control.LowLatency{Enabled: true, PartTarget: control.Duration(500 * time.Millisecond)}})
	base := "http://" + n.HTTPAddr() + "/live/"

	// A segment and a plain event's playlist: 80 values, one fetch each.
	for i := range 80 {
		for _, u := range []string{"fight/0/seg1.ts", "fight/0/index.m3u8", "ll/0/seg11.ts"} {
			if r := do(t, "GET", fmt.Sprintf("%s%s?_HLS_msn=%d&_HLS_part=%d&_HLS_skip=YES", base, u, i, i), "", nil); r.status != 200 {
				t.Fatalf("%s with directives: %d %s", u, r.status, r.body)
			}
		}
	}
	if got := o.total(); got != 3 {
		t.Fatalf("240 requests with directives where they do not apply made %d upstream fetches, want 3", got)
	}

	// The low-latency media playlist: the live edge is 12.
	pl := base + "ll/0/index.m3u8"
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"_HLS_msn=15", 400},             // more than two beyond the edge
		{"_HLS_part=1", 400},             // a part without an msn
		{"_HLS_msn=013", 400},            // not canonical
		{"_HLS_msn=-1", 400},             // negative
		{"_HLS_msn=13&_HLS_msn=14", 400}, // twice
		{"_HLS_skip=NO", 400},            // not YES or v2
		{"_HLS_msn=13&_HLS_part=1000", 400},
		{"_HLS_msn=5", 200}, // long published: the playlist itself
		{"_HLS_msn=12&_HLS_part=3", 200},
	} {
		if r := do(t, "GET", pl+"?"+tc.query, "", nil); r.status != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.query, r.status, r.body, tc.status)
		}
	}
	if got := o.total(); got != 4 {
		t.Fatalf("requests the playlist already answers went upstream: %d fetches: %v", got, o.seen)
	}
	// Near the edge: one key per value, however it is spelled.
	for _, q := range []string{"_HLS_msn=13&_HLS_part=1", "_HLS_part=1&_HLS_msn=13", "token=abc&_HLS_msn=13&_HLS_part=1&CMCD=x"} {
		if r := do(t, "GET", pl+"?"+q, "", nil); r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
	}
	o.mu.Lock()
	got := o.seen["/0/index.m3u8?_HLS_msn=13&_HLS_part=1"]
	o.mu.Unlock()
	if got != 1 || o.total() != 5 {
		t.Fatalf("three spellings of one directive: %d fetches of it, %d in all: %v", got, o.total(), o.seen)
	}
}
