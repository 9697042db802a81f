//go:build !linux

package dns

import (
	"errors"
	"net"
)

// serveUDP is the portable worker: one packet per read and per write.
func (s *Server) serveUDP(pc *net.UDPConn, w *responder) error {
	buf := make([]byte, maxQuery)
	out := make([]byte, 0, s.cfg.MaxUDPSize+64)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Debug("udp read", "err", err)
			continue
		}
		w.refresh()
		if resp := w.respond(buf[:n], from.Addr().Unmap(), false, out[:0]); resp != nil {
			if _, err := pc.WriteToUDPAddrPort(resp, from); err != nil {
				s.log.Debug("udp write", "client", from, "err", err)
			}
		}
	}
}
