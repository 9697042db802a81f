package control

import (
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// serialTransport is Raft's TCP transport without the heartbeat fast path
// and without pipelined replication.
//
// hashicorp/raft asks a transport to run heartbeats on the transport's own
// goroutine (SetHeartbeatHandler) so that disk latency cannot delay them. A
// heartbeat carrying a newer term then changes the term concurrently with
// the main loop: a resumed old leader can stamp the entries it is
// appending with the new term, and voters end up holding different entries
// at the same index and term (hashicorp/raft issue #695). Declining the
// fast path sends heartbeats through Consumer() like every other RPC, so
// only the main loop ever changes the term. The price: on a voter whose
// disk stalls, heartbeats wait behind log writes.
//
// It also replicates without pipelining (MaxRPCsInFlight 1: one
// AppendEntries in flight per follower instead of the default two). Raft's
// pipelined replication can wedge for good: when a follower answers
// Success=false or a newer term (or the connection fails), pipelineDecode
// returns and nobody reads the pipeline's done channel any more; if the
// send loop picks a ready trigger over the closed finish channel, its next
// send blocks on the unbuffered in-progress channel while the decoder
// blocks on done. That follower never gets another entry (heartbeats go
// on, so it never calls an election) and Raft's Shutdown waits forever
// (hashicorp/raft issue #612; grafana/pyroscope#5518 disabled pipelining
// for the same hang). Raft batches entries per AppendEntries either way.
//
// It embeds *raft.NetworkTransport, so every optional interface Raft probes
// for on its transport (WithClose, WithPreVote; WithPeers, which the TCP
// transport does not have) is the embedded transport's.
type serialTransport struct {
	*raft.NetworkTransport
}

// SetHeartbeatHandler implements raft.Transport by declining the fast path.
func (*serialTransport) SetHeartbeatHandler(func(raft.RPC)) {}

// transportConfig is what newTransport needs.
type transportConfig struct {
	bind      string
	ln        net.Listener  // already bound; nil = bind bind
	advertise net.Addr      // what other voters dial; nil = the bound address
	tls       *TransportTLS // nil = plain TCP
	// wrap, when set (by tests), wraps the network under the transport.
	wrap     func(raft.StreamLayer) raft.StreamLayer
	log      *slog.Logger   // rejected TLS handshakes, at debug
	rejected *atomic.Uint64 // counts them
}

// newTransport binds tc.bind (or takes tc.ln, already bound) and returns
// the transport Raft runs on: over mutual TLS when tc.tls is set.
func newTransport(tc transportConfig, hl *hclogAdapter) (*serialTransport, error) {
	ln := tc.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", tc.bind); err != nil {
			return nil, fmt.Errorf("control: raft transport: %w", err)
		}
	}
	tcp := &tcpStream{ln: ln, advertise: tc.advertise}
	addr, ok := tcp.Addr().(*net.TCPAddr)
	if !ok || addr.IP == nil || addr.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("control: raft transport: %s is not an address other voters can dial", tcp.Addr())
	}
	var stream raft.StreamLayer = tcp
	if tc.tls != nil {
		stream = newTLSStream(tcp, tc.tls, handshakeTimeout, tc.log, tc.rejected)
	}
	if tc.wrap != nil {
		stream = tc.wrap(stream)
	}
	return &serialTransport{raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: hl,
		MaxRPCsInFlight: 1, // no pipelining: see serialTransport
	})}, nil
}

// tcpStream is the TCP network under the transport: raft.TCPStreamLayer,
// built here so that tests can wrap it and tlsStream can accept on it.
type tcpStream struct {
	ln        net.Listener
	advertise net.Addr // nil = the bound address
}

func (t *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

func (t *tcpStream) Accept() (net.Conn, error) { return t.ln.Accept() }
func (t *tcpStream) Close() error              { return t.ln.Close() }

func (t *tcpStream) Addr() net.Addr {
	if t.advertise != nil {
		return t.advertise
	}
	return t.ln.Addr()
}

var (
	_ raft.Transport   = (*serialTransport)(nil)
	_ raft.WithClose   = (*serialTransport)(nil)
	_ raft.WithPreVote = (*serialTransport)(nil)
	_ raft.StreamLayer = (*tcpStream)(nil)
)
