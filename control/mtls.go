package control

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// TransportTLS puts the Raft transport on mutual TLS: a voter accepts Raft
// connections with Server and dials other voters with Client. Both are
// cloned and raised to TLS 1.3 at least.
type TransportTLS struct {
	// Server accepts Raft connections. It must require and verify client
	// certificates (ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs:
	// the cluster CA) and admit only control voters (VerifyConnection): the
	// Store cannot tell a voter's certificate from an edge's.
	Server *tls.Config
	// Client dials other voters: it presents this voter's certificate and
	// must check that the server is a control voter. ServerName is used as
	// set; when it is empty crypto/tls checks the dialed host (an IP
	// address) against the certificate's IP SANs, so certificates without
	// them need InsecureSkipVerify plus a VerifyConnection that verifies
	// the chain and the role itself.
	Client *tls.Config
}

func (t *TransportTLS) validate() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("control: config: TLS."+format, args...))
	}
	if t.Server == nil {
		bad("Server is required")
	} else {
		s := t.Server
		if len(s.Certificates) == 0 && s.GetCertificate == nil && s.GetConfigForClient == nil {
			bad("Server has no certificate")
		}
		verifies := s.VerifyPeerCertificate != nil || s.VerifyConnection != nil
		if s.GetConfigForClient == nil && s.ClientAuth != tls.RequireAndVerifyClientCert &&
			(s.ClientAuth != tls.RequireAnyClientCert || !verifies) {
			bad("Server.ClientAuth must be tls.RequireAndVerifyClientCert: only control voters may connect")
		}
		if s.MaxVersion != 0 && s.MaxVersion < tls.VersionTLS13 {
			bad("Server.MaxVersion is below TLS 1.3")
		}
	}
	if t.Client == nil {
		bad("Client is required")
	} else {
		c := t.Client
		if len(c.Certificates) == 0 && c.GetClientCertificate == nil {
			bad("Client has no certificate to present")
		}
		if c.InsecureSkipVerify && c.VerifyConnection == nil && c.VerifyPeerCertificate == nil {
			bad("Client.InsecureSkipVerify without VerifyConnection would accept any server")
		}
		if c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 {
			bad("Client.MaxVersion is below TLS 1.3")
		}
	}
	return errs
}

const (
	// handshakeTimeout bounds one inbound TLS handshake: a client that
	// stalls is dropped after it.
	handshakeTimeout = 5 * time.Second
	// maxHandshakes bounds the inbound connections between accept and
	// Raft: handshakes in progress plus completed ones Raft has not taken.
	// When they are all taken, accepting waits (the kernel queues).
	maxHandshakes = 64
)

// tlsStream is the mutual-TLS network under the Raft transport. Its accept
// loop hands each new connection to a goroutine of its own for the
// handshake, so a slow or hostile client holds one slot for at most the
// handshake timeout and never blocks the others; only handshaken
// connections reach Accept. A failed handshake is counted in rejected and
// logged at debug.
type tlsStream struct {
	tcp            *tcpStream
	server, client *tls.Config
	timeout        time.Duration
	log            *slog.Logger
	rejected       *atomic.Uint64

	accepted chan acceptResult // unbuffered: slots bound what waits
	slots    chan struct{}     // one per connection between accept and Raft
	ctx      context.Context   // ends at Close: stops the loop, aborts handshakes
	stop     context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
	closeErr error
}

type acceptResult struct {
	conn net.Conn
	err  error
}

// newTLSStream starts accepting on tcp, each handshake within timeout;
// Close stops it.
func newTLSStream(tcp *tcpStream, cfg *TransportTLS, timeout time.Duration, log *slog.Logger,
	rejected *atomic.Uint64) *tlsStream {
	ctx, stop := context.WithCancel(context.Background())
	s := &tlsStream{
		tcp: tcp, server: atLeastTLS13(cfg.Server), client: atLeastTLS13(cfg.Client),
		timeout: timeout, log: log, rejected: rejected,
		accepted: make(chan acceptResult), slots: make(chan struct{}, maxHandshakes),
		ctx: ctx, stop: stop,
	}
	s.wg.Go(s.acceptLoop)
	return s
}

func atLeastTLS13(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS13)
	return c
}

func (s *tlsStream) acceptLoop() {
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		c, err := s.tcp.Accept()
		if err != nil {
			<-s.slots
			// Raft logs it and backs off before its next Accept.
			if !s.deliver(acceptResult{err: err}) {
				return
			}
			continue
		}
		s.wg.Go(func() {
			defer func() { <-s.slots }()
			s.admit(c)
		})
	}
}

// admit hands raw to Raft once its handshake succeeds.
func (s *tlsStream) admit(raw net.Conn) {
	c, err := s.handshake(raw)
	if err != nil {
		raw.Close()
		if s.ctx.Err() == nil {
			s.rejected.Add(1)
			s.log.Debug("raft connection rejected", "remote", raw.RemoteAddr().String(), "err", err)
		}
		return
	}
	if !s.deliver(acceptResult{conn: c}) {
		c.Close()
	}
}

func (s *tlsStream) handshake(raw net.Conn) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	c := tls.Server(raw, s.server)
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("control: raft tls handshake: %w", err)
	}
	// A GetConfigForClient config replaces ours, MinVersion included.
	if v := c.ConnectionState().Version; v < tls.VersionTLS13 {
		return nil, fmt.Errorf("control: raft tls handshake: %s, want TLS 1.3", tls.VersionName(v))
	}
	return c, nil
}

func (s *tlsStream) deliver(r acceptResult) bool {
	select {
	case s.accepted <- r:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// Accept implements raft.StreamLayer: the next handshaken connection.
func (s *tlsStream) Accept() (net.Conn, error) {
	select {
	case r := <-s.accepted:
		return r.conn, r.err
	case <-s.ctx.Done():
		return nil, fmt.Errorf("control: raft transport: %w", net.ErrClosed)
	}
}

// Dial implements raft.StreamLayer: TCP connect and TLS handshake, both
// within timeout.
func (s *tlsStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.client}
	c, err := d.Dial("tcp", string(addr))
	if err != nil {
		return nil, fmt.Errorf("control: raft tls dial %s: %w", addr, err)
	}
	return c, nil
}

// Close stops accepting, aborts the handshakes in progress and closes the
// socket; connections already handed to Raft are Raft's to close.
func (s *tlsStream) Close() error {
	s.once.Do(func() {
		s.stop()
		s.closeErr = s.tcp.Close()
		s.wg.Wait()
	})
	return s.closeErr
}

func (s *tlsStream) Addr() net.Addr { return s.tcp.Addr() }

var _ raft.StreamLayer = (*tlsStream)(nil)
