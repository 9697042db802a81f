//go:build linux

package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSize is how many packets one recvmmsg reads and one sendmmsg
// writes: under load a system call carries many queries.
const batchSize = 64

// wakeEvery is how often a worker blocked in recvmmsg wakes to see
// whether the server is shutting down (SO_RCVTIMEO).
const wakeEvery = 200 * time.Millisecond

// rawUDP is a UDP socket outside the runtime's poller: its worker blocks
// in recvmmsg itself, so a packet wakes exactly that thread, with no
// epoll round and no scheduler hand-off (what a Go socket costs per
// wake-up at moderate rates is several times the answer's cost).
type rawUDP struct {
	fd      int
	closing atomic.Bool
}

// listenUDP binds n SO_REUSEPORT UDP sockets on one port and returns the
// address bound. A wildcard IPv4 address listens on IPv6 too, as Go's
// own sockets do.
func listenUDP(ctx context.Context, addr string, n int) (out []udpSocket, bound string, err error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, "", err
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		ip = netip.IPv6Unspecified()
	}
	ip = ip.Unmap()
	family, dual := unix.AF_INET, false
	if ip.Is6() || ip.IsUnspecified() {
		family, dual = unix.AF_INET6, ip.IsUnspecified()
	}
	defer func() {
		if err != nil {
			for _, s := range out {
				s.close()
			}
		}
	}()
	port := ua.Port
	for len(out) < n {
		s, p, err := openUDP(family, dual, ip, port)
		if err != nil {
			return out, "", err
		}
		out = append(out, s)
		port = p
	}
	host := ip.String()
	if dual {
		host = "::"
	}
	return out, net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func openUDP(family int, dual bool, ip netip.Addr, port int) (*rawUDP, int, error) {
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, 0, fmt.Errorf("socket: %w", err)
	}
	s := &rawUDP{fd: fd}
	fail := func(what string, err error) (*rawUDP, int, error) {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("SO_REUSEPORT", err)
	}
	tv := unix.NsecToTimeval(wakeEvery.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("SO_RCVTIMEO", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	} else {
		v6only := 1
		if dual {
			v6only = 0
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
		a := ip
		if dual {
			a = netip.IPv6Unspecified()
		}
		sa = &unix.SockaddrInet6{Port: port, Addr: a.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		port = a.Port
	case *unix.SockaddrInet6:
		port = a.Port
	}
	return s, port, nil
}

func (u *rawUDP) shutdown()    { u.closing.Store(true) }
func (u *rawUDP) close() error { return unix.Close(u.fd) }

// udpBatch holds one worker's buffers for recvmmsg and sendmmsg. The
// headers point into the batch's own arrays, which never move.
type udpBatch struct {
	in    [batchSize]unix.Mmsghdr
	inIov [batchSize]unix.Iovec
	names [batchSize]unix.RawSockaddrInet6 // large enough for IPv4 too
	bufs  [batchSize][]byte

	out    [batchSize]unix.Mmsghdr
	outIov [batchSize]unix.Iovec
	resp   [batchSize][]byte
}

func newUDPBatch(outCap int) *udpBatch {
	bt := &udpBatch{}
	for i := range bt.in {
		bt.bufs[i] = make([]byte, maxQuery)
		bt.inIov[i].Base = &bt.bufs[i][0]
		bt.inIov[i].SetLen(maxQuery)
		bt.in[i].Hdr.Iov = &bt.inIov[i]
		bt.in[i].Hdr.SetIovlen(1)
		bt.in[i].Hdr.Name = (*byte)(unsafe.Pointer(&bt.names[i]))
		bt.resp[i] = make([]byte, 0, outCap)
		bt.out[i].Hdr.Iov = &bt.outIov[i]
		bt.out[i].Hdr.SetIovlen(1)
	}
	return bt
}

// serve is the worker of one socket: read a batch (recvmmsg, blocking for
// the first packet only), answer each query into the batch's buffers,
// write them back (sendmmsg).
func (u *rawUDP) serve(s *Server, w *responder) error {
	bt := newUDPBatch(s.cfg.MaxUDPSize + 64)
	for !u.closing.Load() {
		n, err := bt.recv(u.fd)
		if err != nil {
			return err
		}
		if n == 0 {
			continue // woke to look at closing
		}
		w.refresh()
		k := 0
		for i := range n {
			h := &bt.in[i]
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
				continue // larger than any query
			}
			resp := w.respond(bt.bufs[i][:h.Len], clientAddr(&bt.names[i]), false, bt.resp[k][:0])
			if len(resp) == 0 {
				continue
			}
			bt.resp[k] = resp
			o := &bt.out[k]
			o.Hdr.Name, o.Hdr.Namelen = h.Hdr.Name, h.Hdr.Namelen
			bt.outIov[k].Base = &resp[0]
			bt.outIov[k].SetLen(len(resp))
			k++
		}
		bt.send(u.fd, k)
	}
	return nil
}

// recv reads up to batchSize packets, blocking until the first comes or
// SO_RCVTIMEO passes (then 0).
func (bt *udpBatch) recv(fd int) (int, error) {
	for i := range bt.in {
		bt.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		bt.in[i].Hdr.Flags = 0
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&bt.in[0])), batchSize, unix.MSG_WAITFORONE, 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, fmt.Errorf("recvmmsg: %w", e)
	}
}

// send writes the first k responses. A response the kernel refuses (the
// client's address unreachable, say) is skipped; the rest still go.
func (bt *udpBatch) send(fd, k int) {
	for sent := 0; sent < k; {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&bt.out[sent])), uintptr(k-sent), 0, 0, 0)
		switch e {
		case 0:
			sent += int(r)
		case unix.EINTR:
		default:
			sent++ // the first message failed: drop it
		}
	}
}

// clientAddr reads the source address recvmmsg stored.
func clientAddr(sa *unix.RawSockaddrInet6) netip.Addr {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrFrom4(sa4.Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16(sa.Addr).Unmap()
	}
	return netip.Addr{}
}
