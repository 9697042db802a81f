package node

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// failingListener fails its first n accepts with err, then accepts.
type failingListener struct {
	net.Listener
	n   int
	err error
}

func (f *failingListener) Accept() (net.Conn, error) {
	if f.n > 0 {
		f.n--
		return nil, f.err
	}
	return f.Listener.Accept()
}

// TestAcceptBacksOff: running out of descriptors does not end the
// listener (fasthttp's Serve returns on any accept error, and the node
// exited with it): it backs off and accepts again.
func TestAcceptBacksOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	tl := newTrackingListener(&failingListener{Listener: ln, n: 3, err: emfile}, connLimits{}, slog.New(slog.DiscardHandler))
	defer tl.Close()
	accepted := make(chan struct{})
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			<-accepted // held open until the listener has taken it
		}
	}()
	c, err := tl.Accept()
	close(accepted)
	if err != nil {
		t.Fatalf("accept after EMFILE: %v", err)
	}
	c.Close()
	if tl.acceptErrors.Load() != 3 {
		t.Fatalf("%d accept errors counted, want 3", tl.acceptErrors.Load())
	}
	tl.Close()
	if _, err := tl.Accept(); err == nil {
		t.Fatal("accept on a closed listener")
	}
}

// TestConnectionsPerAddress: one client address gets its share of
// connections; more are closed at once, and others are not affected.
func TestConnectionsPerAddress(t *testing.T) {
	n := startNode(t, func(c *Config) { c.HTTP.MaxConnsPerIP = 5 })
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 12 {
		c, err := net.Dial("tcp", n.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	l := n.running().lis.http
	poll.Until(t, "7 of 12 refused", 5*time.Second, func() bool { return l.refused.Load() == 7 && l.open() == 5 })
	// A request on an accepted connection works; on a refused one the
	// connection is closed.
	served, closed := 0, 0
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		b := make([]byte, 12)
		if _, err := io.ReadFull(c, b); err == nil && string(b) == "HTTP/1.1 200" {
			served++
		} else {
			closed++
		}
	}
	if served != 5 || closed != 7 {
		t.Fatalf("%d served, %d closed; want 5 and 7", served, closed)
	}
}

// TestSendTimeout: a client that asks for a large object and never reads
// loses its connection after http.send_timeout, freeing what it held.
func TestSendTimeout(t *testing.T) {
	body := make([]byte, 48<<20)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer origin.Close()
	n := startNode(t, func(c *Config) {
		c.Events = []EventConfig{{ID: "fight", PullURL: origin.URL}}
		// Long enough that the warm-up download below, read by a client
		// under the race detector on a loaded machine, never stalls
		// that long (it did at 0.5 s).
		c.HTTP.SendTimeout = Duration(2 * time.Second)
		c.Cache.MaxObjectBytes = 64 << 20
	})
	url := "http://" + n.HTTPAddr() + "/live/fight/0/big.ts"
	if r := do(t, "GET", url, "", nil); r.status != 200 || len(r.body) != len(body) { // cached
		t.Fatalf("warm-up: %d, %d bytes", r.status, len(r.body))
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	l := n.running().lis.http
	poll.Until(t, "the warm-up connection closed", 5*time.Second, func() bool { return l.open() == 0 })
	raddr, _ := net.ResolveTCPAddr("tcp", n.HTTPAddr())
	c, err := net.DialTCP("tcp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET /live/fight/0/big.ts HTTP/1.1\r\nHost: x\r\n\r\n")
	poll.Until(t, "the stalled reader connected", 5*time.Second, func() bool { return l.open() == 1 })
	poll.Until(t, "the stalled reader's connection closed by the node", 20*time.Second, func() bool { return l.open() == 0 })
}
