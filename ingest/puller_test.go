package ingest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/poll"
)

// hlsOrigin is a live HLS origin the test moves on by hand: n segments
// published, the last three listed; down makes it answer 503.
type hlsOrigin struct {
	mu     sync.Mutex
	n      int
	down   bool
	name   string
	t0     time.Time
	offset int64
}

func (h *hlsOrigin) advance() { h.mu.Lock(); h.n++; h.mu.Unlock() }

func (h *hlsOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	switch p := strings.TrimPrefix(r.URL.Path, "/feed/"); {
	case p == "master.m3u8":
		fmt.Fprint(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n0/index.m3u8\n")
	case p == "0/index.m3u8":
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", max(0, h.n-3))
		for i := max(0, h.n-3); i < h.n; i++ {
			fmt.Fprintf(w, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:2.000000,\nseg%d.ts\n",
				h.t0.Add(time.Duration(i)*2*time.Second).Format("2006-01-02T15:04:05.000Z"), i)
		}
	case strings.HasPrefix(p, "0/seg"):
		var i int
		fmt.Sscanf(p, "0/seg%d.ts", &i)
		w.Write(tsSegment(h.offset+int64(i)*180000, fmt.Sprintf("%s-%d", h.name, i)))
	default:
		http.NotFound(w, r)
	}
}

// TestPulledFeeds: both feeds pulled from two HLS origins; the output
// follows the primary, and when the primary's origin fails it continues
// from the backup's.
func TestPulledFeeds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	prim, back := &hlsOrigin{name: "prim", t0: t0}, &hlsOrigin{name: "back", t0: t0, offset: 7777}
	ps, bs := httptest.NewServer(prim), httptest.NewServer(back)
	defer ps.Close()
	defer bs.Close()
	tl := control.NewLocalTimeline(c.now)
	if err := tl.PutEvent(control.Event{ID: "ev", Feeds: &control.Feeds{
		Primary: control.Feed{PullURL: ps.URL + "/feed/"}, Backup: control.Feed{PullURL: bs.URL + "/feed/"}}}); err != nil {
		t.Fatal(err)
	}
	o, err := New(DefaultConfig(), Deps{Now: c.now, Timeline: tl, PullClient: ps.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	apply := func() {
		ev, _ := tl.Event("ev")
		o.SetEvents([]EventConfig{{ID: "ev", Active: ev.Feeds.ActiveFeed(), Feeds: []FeedConfig{
			{Name: control.FeedPrimary, PullURL: ps.URL + "/feed/"}, {Name: control.FeedBackup, PullURL: bs.URL + "/feed/"}}}})
	}
	apply()
	r := &feedRig{t: t, o: o, tl: tl, clock: c, t0: t0, since: map[string]int{}}
	for i := range 3 {
		prim.advance()
		back.advance()
		r.output(uint64(i))
		c.add(2 * time.Second)
	}
	if b := r.segmentBody("0/2.ts"); !strings.Contains(b, "prim-2") {
		t.Fatalf("output segment 2: %q", b)
	}
	prim.mu.Lock()
	prim.down = true
	prim.mu.Unlock()
	for i := 3; i < 7; i++ {
		c.add(2 * time.Second)
		back.advance()
		if i >= 4 {
			r.output(uint64(i))
		}
	}
	poll.Until(t, "the switch to the backup", 10*time.Second, func() bool {
		ev, _ := tl.Event("ev")
		return ev.Feeds.ActiveFeed() == control.FeedBackup
	})
	if b := r.segmentBody("0/3.ts"); !strings.Contains(b, "back-3") {
		t.Fatalf("output segment 3 after the failure: %q", b)
	}
	if obj, err := o.Get("ev", "master.m3u8"); err != nil {
		t.Fatalf("master: %v", err)
	} else if b, _ := obj.Complete(); !strings.Contains(string(b), "0/index.m3u8") {
		t.Fatalf("master: %s", b)
	}
}
