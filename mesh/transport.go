package mesh

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// filterTransport wraps memberlist's NetTransport and drops all traffic to
// and from addresses its filter rejects: outgoing packets vanish (as on a
// partitioned network), dials fail, incoming packets are dropped and incoming
// streams closed. Tests use it to cut and heal links between meshes in one
// process.
type filterTransport struct {
	inner   *memberlist.NetTransport
	allow   func(addr string) bool
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once // memberlist may shut us down, and so may Run on a failed start
	err     error
}

func newFilterTransport(inner *memberlist.NetTransport, allow func(string) bool) *filterTransport {
	t := &filterTransport{
		inner:   inner,
		allow:   allow,
		packets: make(chan *memberlist.Packet),
		streams: make(chan net.Conn),
		done:    make(chan struct{}),
	}
	t.wg.Add(2)
	go t.forwardPackets()
	go t.forwardStreams()
	return t
}

func (t *filterTransport) forwardPackets() {
	defer t.wg.Done()
	for {
		select {
		case p := <-t.inner.PacketCh():
			if !t.allow(p.From.String()) {
				continue
			}
			select {
			case t.packets <- p:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *filterTransport) forwardStreams() {
	defer t.wg.Done()
	for {
		select {
		case c := <-t.inner.StreamCh():
			if !t.allow(c.RemoteAddr().String()) {
				_ = c.Close()
				continue
			}
			select {
			case t.streams <- c:
			case <-t.done:
				_ = c.Close()
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *filterTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *filterTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *filterTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if !t.allow(a.Addr) {
		return time.Now(), nil // lost on the wire
	}
	return t.inner.WriteToAddress(b, a)
}

func (t *filterTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *filterTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if !t.allow(a.Addr) {
		return nil, fmt.Errorf("mesh: dial %s: dropped by packet filter", a.Addr)
	}
	return t.inner.DialAddressTimeout(a, timeout)
}

func (t *filterTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *filterTransport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown stops the listeners first (memberlist still drains our channels
// meanwhile), then the forwarders.
func (t *filterTransport) Shutdown() error {
	t.once.Do(func() {
		t.err = t.inner.Shutdown()
		close(t.done)
		t.wg.Wait()
	})
	return t.err
}

var _ memberlist.NodeAwareTransport = (*filterTransport)(nil)
