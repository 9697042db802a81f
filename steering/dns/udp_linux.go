//go:build linux

package dns

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSize is how many packets one recvmmsg reads and one sendmmsg
// writes: under load a system call carries many queries.
const batchSize = 64

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

// serveUDP is the worker of one socket: read a batch (recvmmsg), answer
// each query into the batch's buffers, write them back (sendmmsg). Waits
// go through the runtime's poller, so an idle worker holds no thread.
func (s *Server) serveUDP(pc *net.UDPConn, w *responder) error {
	rc, err := pc.SyscallConn()
	if err != nil {
		return err
	}
	bt := newUDPBatch(s.cfg.MaxUDPSize + 64)
	for {
		n, err := bt.recv(rc)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
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
		if err := bt.send(rc, k); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// recv reads up to batchSize packets, waiting for the first.
func (bt *udpBatch) recv(rc syscall.RawConn) (int, error) {
	var n int
	var serr error
	err := rc.Read(func(fd uintptr) bool {
		for i := range bt.in {
			bt.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
			bt.in[i].Hdr.Flags = 0
		}
		for {
			r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&bt.in[0])), batchSize, unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				n = int(r)
				return true
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable
			}
			serr = e
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	return n, serr
}

// send writes the first k responses. A response the kernel refuses (the
// client's address unreachable, say) is skipped; the rest still go.
func (bt *udpBatch) send(rc syscall.RawConn, k int) error {
	for sent := 0; sent < k; {
		err := rc.Write(func(fd uintptr) bool {
			for sent < k {
				r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&bt.out[sent])), uintptr(k-sent), unix.MSG_DONTWAIT, 0, 0)
				switch e {
				case 0:
					sent += int(r)
				case unix.EINTR:
				case unix.EAGAIN:
					return false // wait until writable
				default:
					sent++ // the first message failed: drop it
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
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
