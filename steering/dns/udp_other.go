//go:build !linux

package dns

import (
	"context"
	"errors"
	"net"
)

// netUDP is the portable socket: the runtime's poller, one packet per read
// and per write.
type netUDP struct{ pc *net.UDPConn }

// listenUDP binds n UDP sockets on one port (SO_REUSEPORT where there is
// one) and returns the address bound.
func listenUDP(ctx context.Context, addr string, n int) ([]udpSocket, string, error) {
	lc := net.ListenConfig{Control: reusePort}
	var out []udpSocket
	bound := addr
	for len(out) < n {
		pc, err := lc.ListenPacket(ctx, "udp", bound)
		if err != nil {
			for _, s := range out {
				s.close()
			}
			return nil, "", err
		}
		out = append(out, netUDP{pc.(*net.UDPConn)})
		bound = pc.LocalAddr().String()
	}
	return out, bound, nil
}

func (u netUDP) shutdown()    { u.pc.Close() }
func (u netUDP) close() error { return u.pc.Close() }

func (u netUDP) serve(s *Server, w *responder) error {
	buf := make([]byte, maxQuery)
	out := make([]byte, 0, s.cfg.MaxUDPSize+64)
	for {
		n, from, err := u.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Debug("udp read", "err", err)
			continue
		}
		w.refresh()
		if resp := w.respond(buf[:n], from.Addr().Unmap(), false, out[:0]); resp != nil {
			if _, err := u.pc.WriteToUDPAddrPort(resp, from); err != nil {
				s.log.Debug("udp write", "client", from, "err", err)
			}
		}
	}
}
