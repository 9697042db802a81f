package control

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ringside-live/ringside/pkg/poll"
)

// testTLSStream is a tlsStream on 127.0.0.1:0 whose handshakes time out
// after timeout.
type testTLSStream struct {
	*tlsStream
	rejected atomic.Uint64
}

func newTestTLSStream(t *testing.T, cfg *TransportTLS, timeout time.Duration) *testTLSStream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testTLSStream{}
	s.tlsStream = newTLSStream(&tcpStream{ln: ln}, cfg, timeout, slog.New(slog.DiscardHandler), &s.rejected)
	t.Cleanup(func() { s.Close() })
	return s
}

// accept returns the next connection Accept hands over, failing the test
// if none comes within 10 s.
func (s *testTLSStream) accept(t *testing.T) net.Conn {
	t.Helper()
	got := make(chan acceptResult, 1)
	go func() {
		c, err := s.Accept()
		got <- acceptResult{c, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { r.conn.Close() })
		return r.conn
	case <-time.After(10 * time.Second):
		t.Fatal("Accept returned nothing within 10s")
		return nil
	}
}

func dialTLS(cfg *tls.Config) func(string) (net.Conn, error) {
	return func(addr string) (net.Conn, error) {
		return (&tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}).Dial("tcp", addr)
	}
}

// Only handshaken connections from control voters of the cluster CA reach
// Raft; everything else is counted and dropped.
func TestTLSStreamAdmitsOnlyControlPeers(t *testing.T) {
	ca := newTestCA(t)
	bare := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}
	}
	tls12 := ca.clientConfig(ca.issue(t, "n2", testRoleControl))
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	for _, tc := range []struct {
		name  string
		dial  func(addr string) (net.Conn, error)
		admit bool
	}{
		{"control voter", dialTLS(ca.clientConfig(ca.issue(t, "n2", testRoleControl))), true},
		{"control and edge roles", dialTLS(ca.clientConfig(ca.issue(t, "n2", testRoleEdge, testRoleControl))), true},
		{"plain tcp", func(addr string) (net.Conn, error) {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				_, err = c.Write([]byte{0, 0x85, 0xa1, 'T', 'e', 'r', 'm'}) // an AppendEntries, as Raft writes it
			}
			return c, err
		}, false},
		{"no client certificate", dialTLS(&tls.Config{InsecureSkipVerify: true}), false},
		{"self-signed control", dialTLS(bare((*testCA)(nil).issue(t, "n2", testRoleControl))), false},
		{"other CA control", dialTLS(bare(newTestCA(t).issue(t, "n2", testRoleControl))), false},
		{"edge role", dialTLS(bare(ca.issue(t, "e1", testRoleEdge))), false},
		{"TLS 1.2", dialTLS(tls12), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestTLSStream(t, ca.transportTLS(t, "n1", true, testRoleControl), 10*time.Second)
			c, err := tc.dial(s.Addr().String())
			if c != nil {
				defer c.Close()
			}
			if tc.admit {
				if err != nil {
					t.Fatal(err)
				}
				if got := s.accept(t); got.RemoteAddr().String() != c.LocalAddr().String() {
					t.Fatalf("accepted %v, dialed from %v", got.RemoteAddr(), c.LocalAddr())
				}
				if n := s.rejected.Load(); n != 0 {
					t.Fatalf("rejected %d", n)
				}
				return
			}
			poll.Until(t, "the connection to be rejected", 10*time.Second, func() bool { return s.rejected.Load() == 1 })
			// The next connection Raft gets is the next good one.
			good, err := dialTLS(ca.clientConfig(ca.issue(t, "n3", testRoleControl)))(s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer good.Close()
			if got := s.accept(t); got.RemoteAddr().String() != good.LocalAddr().String() {
				t.Fatalf("accepted %v, want the good peer %v", got.RemoteAddr(), good.LocalAddr())
			}
		})
	}
}

// A client that never completes its handshake is dropped after the
// handshake timeout and counted.
func TestTLSStreamDropsSilentClients(t *testing.T) {
	s := newTestTLSStream(t, newTestCA(t).transportTLS(t, "n1", true, testRoleControl), 100*time.Millisecond)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	poll.Until(t, "the silent client to be rejected", 10*time.Second, func() bool { return s.rejected.Load() == 1 })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read from the dropped connection: %v, want EOF", err)
	}
}

// Clients that never finish their handshake hold their own goroutines,
// not the accept loop; Close aborts them at once.
func TestTLSStreamSlowClientsDoNotBlockAccept(t *testing.T) {
	ca := newTestCA(t)
	s := newTestTLSStream(t, ca.transportTLS(t, "n1", true, testRoleControl), time.Hour)
	for range 10 {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	good, err := dialTLS(ca.clientConfig(ca.issue(t, "n2", testRoleControl)))(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if got := s.accept(t); got.RemoteAddr().String() != good.LocalAddr().String() {
		t.Fatalf("accepted %v, want %v", got.RemoteAddr(), good.LocalAddr())
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the stalled handshakes")
	}
	if _, err := s.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if n := s.rejected.Load(); n != 0 {
		t.Fatalf("handshakes aborted by Close counted as rejected: %d", n)
	}
}

// A voter dials only servers that are control voters of the cluster CA.
func TestTLSStreamDialChecksServer(t *testing.T) {
	ca := newTestCA(t)
	client := newTestTLSStream(t, ca.transportTLS(t, "n1", true, testRoleControl), time.Second)
	for _, tc := range []struct {
		name   string
		server *TransportTLS
		ok     bool
	}{
		{"control voter", ca.transportTLS(t, "n2", true, testRoleControl), true},
		{"edge role", ca.transportTLS(t, "e1", true, testRoleEdge), false},
		{"other CA", newTestCA(t).transportTLS(t, "n2", false, testRoleControl), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := newTestTLSStream(t, tc.server, time.Second)
			c, err := client.Dial(raft.ServerAddress(server.Addr().String()), 5*time.Second)
			if c != nil {
				c.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("Dial: %v, want success %v", err, tc.ok)
			}
			if tc.ok && c.(*tls.Conn).ConnectionState().Version != tls.VersionTLS13 {
				t.Fatal("not TLS 1.3")
			}
		})
	}
}

func TestTransportTLSValidate(t *testing.T) {
	ca := newTestCA(t)
	for _, tc := range []struct {
		name string
		edit func(*TransportTLS)
		want []string
	}{
		{"good", func(*TransportTLS) {}, nil},
		{"empty", func(c *TransportTLS) { *c = TransportTLS{} }, []string{"TLS.Server is required", "TLS.Client is required"}},
		{"no server", func(c *TransportTLS) { c.Server = nil }, []string{"TLS.Server is required"}},
		{"no client", func(c *TransportTLS) { c.Client = nil }, []string{"TLS.Client is required"}},
		{"no certificates", func(c *TransportTLS) { c.Server.Certificates, c.Client.Certificates = nil, nil },
			[]string{"Server has no certificate", "Client has no certificate"}},
		{"client certificate optional", func(c *TransportTLS) { c.Server.ClientAuth = tls.VerifyClientCertIfGiven },
			[]string{"Server.ClientAuth"}},
		{"any client certificate, unchecked", func(c *TransportTLS) {
			c.Server.ClientAuth, c.Server.VerifyConnection = tls.RequireAnyClientCert, nil
		}, []string{"Server.ClientAuth"}},
		{"any client certificate, checked", func(c *TransportTLS) { c.Server.ClientAuth = tls.RequireAnyClientCert }, nil},
		{"unverified server", func(c *TransportTLS) { c.Client.VerifyConnection = nil }, []string{"Client.InsecureSkipVerify"}},
		{"TLS 1.2", func(c *TransportTLS) { c.Server.MaxVersion, c.Client.MaxVersion = tls.VersionTLS12, tls.VersionTLS12 },
			[]string{"Server.MaxVersion", "Client.MaxVersion"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "n1")
			cfg.TLS = ca.transportTLS(t, "n1", true, testRoleControl)
			tc.edit(cfg.TLS)
			err := cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
