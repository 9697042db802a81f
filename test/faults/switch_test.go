package faults

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The switch joins the hosts' veth ends in user space: one AF_PACKET socket
// per port, MAC learning, and per pair of host groups a link that may cut,
// delay, jitter (and so reorder) or drop frames. It stands in for a Linux
// bridge plus tc netem because this project's kernels are built without
// sch_netem (CONFIG_NET_SCH_NETEM is not set); a cut link drops every
// frame between two groups (gossip, HTTP and Raft alike, ARP included).
// PACKET_VNET_HDR carries the GSO and checksum-offload state of each frame
// across, so 64 KB TCP super-frames pass as one read and one write.

const vnetHdrLen = 10 // struct virtio_net_hdr

// impair is what a link does to the frames crossing it, one way.
type impair struct {
	Cut    bool
	Delay  time.Duration // one-way delay
	Jitter time.Duration // extra uniform delay in [0, Jitter): reorders frames
	Loss   float64       // probability a frame is dropped
}

type fabricPort struct {
	name string
	fd   int
	q    *delayQueue
}

// fabric is the switch.
type fabric struct {
	mu    sync.RWMutex
	group []string             // by port: the host's group
	links map[[2]string]impair // by (from group, to group)
	ports []*fabricPort
	macs  map[[6]byte]int // learned: MAC -> port

	forwarded, dropped atomic.Int64
	done               chan struct{}
	wg                 sync.WaitGroup
}

func newFabric() *fabric {
	return &fabric{links: map[[2]string]impair{}, macs: map[[6]byte]int{}, done: make(chan struct{})}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// addPort opens a packet socket on the root-side veth ifname and starts
// forwarding what it receives. group is the port's initial group.
func (f *fabric) addPort(ifname string, ifindex int, group string) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return err
	}
	opts := []struct{ level, opt, v int }{
		{unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1},
		{unix.SOL_SOCKET, unix.SO_RCVBUF, 8 << 20},
		{unix.SOL_SOCKET, unix.SO_SNDBUF, 8 << 20},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			unix.Close(fd)
			return err
		}
	}
	// Frames this socket sends must not come back to it (recvfrom also
	// filters PACKET_OUTGOING, for kernels without the option).
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond)) // reads wake up to see done
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return err
	}
	p := &fabricPort{name: ifname, fd: fd, q: newDelayQueue()}
	f.mu.Lock()
	idx := len(f.ports)
	f.ports, f.group = append(f.ports, p), append(f.group, group)
	f.mu.Unlock()
	f.wg.Add(2)
	go func() { defer f.wg.Done(); f.read(idx, p) }()
	go func() { defer f.wg.Done(); p.q.run(p.fd, f.done) }()
	return nil
}

// setGroup moves port i to group g.
func (f *fabric) setGroup(i int, g string) {
	f.mu.Lock()
	f.group[i] = g
	f.mu.Unlock()
}

// setLink sets the link between groups a and b, both ways.
func (f *fabric) setLink(a, b string, im impair) {
	f.mu.Lock()
	f.links[[2]string{a, b}], f.links[[2]string{b, a}] = im, im
	f.mu.Unlock()
}

// clearLinks removes every impairment.
func (f *fabric) clearLinks() {
	f.mu.Lock()
	f.links = map[[2]string]impair{}
	f.mu.Unlock()
}

func (f *fabric) close() {
	select {
	case <-f.done:
		return
	default:
	}
	close(f.done)
	f.wg.Wait()
	for _, p := range f.ports {
		unix.Close(p.fd)
	}
}

func (f *fabric) read(in int, p *fabricPort) {
	buf := make([]byte, 1<<17)
	for {
		select {
		case <-f.done:
			return
		default:
		}
		n, from, err := unix.Recvfrom(p.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return // the link is gone
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n < vnetHdrLen+14 {
			continue
		}
		f.forward(in, append([]byte(nil), buf[:n]...))
	}
}

// forward sends frame (virtio header first) from port in to its
// destination port, or floods it.
func (f *fabric) forward(in int, frame []byte) {
	eth := frame[vnetHdrLen:]
	var dst, src [6]byte
	copy(dst[:], eth[0:6])
	copy(src[:], eth[6:12])
	f.mu.RLock()
	learned, ok := f.macs[src]
	f.mu.RUnlock()
	if !ok || learned != in {
		f.mu.Lock()
		f.macs[src] = in
		f.mu.Unlock()
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	out, known := f.macs[dst]
	if known && dst[0]&1 == 0 {
		f.send(in, out, frame)
		return
	}
	for o := range f.ports { // broadcast, multicast or unknown: flood
		if o != in {
			f.send(in, o, frame)
		}
	}
}

// send applies the link between the ports' groups; f.mu is read-locked.
func (f *fabric) send(in, out int, frame []byte) {
	im := f.links[[2]string{f.group[in], f.group[out]}]
	if im.Cut || (im.Loss > 0 && rand.Float64() < im.Loss) {
		f.dropped.Add(1)
		return
	}
	f.forwarded.Add(1)
	d := im.Delay
	if im.Jitter > 0 {
		d += rand.N(im.Jitter)
	}
	p := f.ports[out]
	if d <= 0 {
		_, _ = unix.Write(p.fd, frame) // ENOBUFS: a lost frame, as on a wire
		return
	}
	p.q.push(time.Now().Add(d), frame)
}

// delayQueue holds a port's delayed frames until they are due.
type delayQueue struct {
	mu   sync.Mutex
	h    frameHeap
	seq  uint64
	wake chan struct{}
}

func newDelayQueue() *delayQueue { return &delayQueue{wake: make(chan struct{}, 1)} }

type delayed struct {
	at    time.Time
	seq   uint64
	frame []byte
}

type frameHeap []delayed

func (h frameHeap) Len() int { return len(h) }
func (h frameHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h frameHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *frameHeap) Push(x any)   { *h = append(*h, x.(delayed)) }
func (h *frameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (q *delayQueue) push(at time.Time, frame []byte) {
	q.mu.Lock()
	q.seq++
	heap.Push(&q.h, delayed{at: at, seq: q.seq, frame: frame})
	first := q.h[0].seq == q.seq
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// run writes frames to fd as they fall due, until done.
func (q *delayQueue) run(fd int, done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		var due [][]byte
		for q.h.Len() > 0 && !q.h[0].at.After(now) {
			due = append(due, heap.Pop(&q.h).(delayed).frame)
		}
		wait := time.Hour
		if q.h.Len() > 0 {
			wait = q.h[0].at.Sub(now)
		}
		q.mu.Unlock()
		for _, fr := range due {
			_, _ = unix.Write(fd, fr)
		}
		timer.Reset(wait)
		select {
		case <-done:
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}
