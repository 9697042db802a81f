package control

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// serialTransport is Raft's TCP transport without the heartbeat fast path.
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
// It embeds *raft.NetworkTransport, so every optional interface Raft probes
// for on its transport (WithClose, WithPreVote; WithPeers, which the TCP
// transport does not have) is the embedded transport's.
type serialTransport struct {
	*raft.NetworkTransport
}

// SetHeartbeatHandler implements raft.Transport by declining the fast path.
func (*serialTransport) SetHeartbeatHandler(func(raft.RPC)) {}

// newTransport binds bind (or takes ln, already bound) and returns the
// transport Raft runs on. advertise
// (nil = the bound address) is what other voters dial; wrap, when set (by
// tests), wraps the network under the transport.
func newTransport(bind string, ln net.Listener, advertise net.Addr, wrap func(raft.StreamLayer) raft.StreamLayer,
	hl *hclogAdapter) (*serialTransport, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", bind); err != nil {
			return nil, fmt.Errorf("control: raft transport: %w", err)
		}
	}
	var stream raft.StreamLayer = &tcpStream{ln: ln, advertise: advertise}
	addr, ok := stream.Addr().(*net.TCPAddr)
	if !ok || addr.IP == nil || addr.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("control: raft transport: %s is not an address other voters can dial", stream.Addr())
	}
	if wrap != nil {
		stream = wrap(stream)
	}
	return &serialTransport{raft.NewNetworkTransportWithLogger(stream, 3, 10*time.Second, hl)}, nil
}

// tcpStream is the TCP network under the transport: raft.TCPStreamLayer,
// built here so that tests can wrap it.
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
