package node

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// TestInflightBudget: clients that ask for large objects and never read
// them pin only up to http.max_inflight_bytes of bodies the cache does not
// hold; past that they get 503. When they go, nothing stays counted, and
// a player of a cached object is served throughout.
func TestInflightBudget(t *testing.T) {
	const size = 8 << 20 // more than loopback's socket buffers take
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "small.ts") {
			w.Write(make([]byte, 1000))
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(size)) // what a segment origin sends
		w.Write(make([]byte, size))
	}))
	defer origin.Close()
	n := startNode(t, func(c *Config) {
		c.Events = []EventConfig{{ID: "fight", PullURL: origin.URL}}
		c.Cache.MaxBytes, c.Cache.MaxObjectBytes = 10<<20, 10<<20 // one large object fits
		c.HTTP.MaxInflightBytes = 20 << 20
	})
	r := n.running()
	small := "http://" + n.HTTPAddr() + "/live/fight/0/small.ts"
	if got := do(t, "GET", small, "", nil); got.status != 200 {
		t.Fatalf("small: %d", got.status)
	}
	var conns []net.Conn
	statuses := map[string]int{}
	for i := range 8 {
		raddr, _ := net.ResolveTCPAddr("tcp", n.HTTPAddr())
		c, err := net.DialTCP("tcp", nil, raddr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadBuffer(4 << 10)
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /live/fight/0/big%d.ts HTTP/1.1\r\nHost: x\r\n\r\n", i)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReaderSize(c, 16).ReadString('\n') // the status line only; then it stalls
		if err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
		statuses[strings.TrimSpace(line)]++
		// New responses stop at the budget; an object the cache evicts
		// while a response sends it still counts, so the bound is the
		// budget plus what the cache held (and the one being added).
		if used := r.inflight.Used(); used > 20<<20+10<<20+size {
			t.Fatalf("after reader %d, %d bytes held by responses alone", i, used)
		}
		if got := do(t, "GET", small, "", nil); got.status != 200 {
			t.Fatalf("a player of a cached object during the flood: %d", got.status)
		}
	}
	if statuses["HTTP/1.1 503 Service Unavailable"] == 0 || statuses["HTTP/1.1 200 OK"] < 2 {
		t.Fatalf("statuses of 8 stalled readers: %v", statuses)
	}
	for _, c := range conns {
		c.Close()
	}
	poll.Until(t, "nothing held once the readers are gone", 20*time.Second, func() bool { return r.inflight.Used() == 0 })
}
