package steering

import (
	"hash/fnv"
	"net/netip"
	"time"
)

// session is one sticky assignment. Sessions form a list ordered by last
// decision, most recent first, so expiry and eviction take from the tail.
type session struct {
	id      string
	network netip.Prefix // the client network that started it
	pathway string
	edge    string // mesh edge id, "" on a CDN
	mbps    float64
	seen    time.Time
	// spread in [0,1) places the session in a drain window: it leaves a
	// draining pathway spread*TTL after the drain began, so a drain moves
	// sessions evenly over one TTL instead of all at once.
	spread     float64
	prev, next *session
}

// sessionTable is the sticky table: bounded, with idle expiry, and with
// per-pathway session counts and bitrate for weights and capacity.
type sessionTable struct {
	byID       map[string]*session
	head, tail *session
	ttl        time.Duration
	max        int
	count      map[string]int
	mbps       map[string]float64
	perEdge    map[string]int
	// perNetwork counts the sessions each client network started, so that
	// no network holds more than maxPerNetwork of them; overCap counts
	// the new sessions refused for it.
	perNetwork    map[netip.Prefix]int
	maxPerNetwork int
	overCap       uint64
}

func newSessionTable(ttl time.Duration, max, maxPerNetwork int) *sessionTable {
	return &sessionTable{
		byID: make(map[string]*session), ttl: ttl, max: max,
		count: make(map[string]int), mbps: make(map[string]float64), perEdge: make(map[string]int),
		perNetwork: make(map[netip.Prefix]int), maxPerNetwork: maxPerNetwork,
	}
}

// room reports whether network may start another session; when not, it
// counts the refusal.
func (t *sessionTable) room(network netip.Prefix) bool {
	if t.perNetwork[network] < t.maxPerNetwork {
		return true
	}
	t.overCap++
	return false
}

func (t *sessionTable) len() int { return len(t.byID) }

func (t *sessionTable) get(id string) *session { return t.byID[id] }

// expire forgets sessions idle for the table's TTL.
func (t *sessionTable) expire(now time.Time) {
	for t.tail != nil && now.Sub(t.tail.seen) >= t.ttl {
		t.remove(t.tail)
	}
}

// add records a new session of network on pathway (and edge), evicting
// the least recently seen one when the table is full. The caller checked
// room(network).
func (t *sessionTable) add(id string, network netip.Prefix, pathway, edge string, mbps float64, now time.Time) *session {
	if len(t.byID) >= t.max && t.tail != nil {
		t.remove(t.tail)
	}
	s := &session{id: id, network: network, mbps: mbps, seen: now, spread: spreadOf(id)}
	t.byID[id] = s
	t.perNetwork[network]++
	t.pushFront(s)
	t.assign(s, pathway, edge)
	return s
}

// touch marks s as seen now.
func (t *sessionTable) touch(s *session, now time.Time) {
	s.seen = now
	if t.head != s {
		t.unlink(s)
		t.pushFront(s)
	}
}

// assign moves s to pathway and edge, keeping the counts right.
func (t *sessionTable) assign(s *session, pathway, edge string) {
	if s.pathway != "" {
		t.count[s.pathway]--
		t.mbps[s.pathway] -= s.mbps
		if t.count[s.pathway] <= 0 {
			delete(t.count, s.pathway)
			delete(t.mbps, s.pathway)
		}
	}
	if s.edge != "" {
		if t.perEdge[s.edge]--; t.perEdge[s.edge] <= 0 {
			delete(t.perEdge, s.edge)
		}
	}
	s.pathway, s.edge = pathway, edge
	if pathway != "" {
		t.count[pathway]++
		t.mbps[pathway] += s.mbps
	}
	if edge != "" {
		t.perEdge[edge]++
	}
}

// setMbps changes the estimated bitrate of s.
func (t *sessionTable) setMbps(s *session, mbps float64) {
	if s.pathway != "" {
		t.mbps[s.pathway] += mbps - s.mbps
	}
	s.mbps = mbps
}

func (t *sessionTable) remove(s *session) {
	t.assign(s, "", "")
	t.unlink(s)
	delete(t.byID, s.id)
	if t.perNetwork[s.network]--; t.perNetwork[s.network] <= 0 {
		delete(t.perNetwork, s.network)
	}
}

func (t *sessionTable) pushFront(s *session) {
	s.prev, s.next = nil, t.head
	if t.head != nil {
		t.head.prev = s
	}
	t.head = s
	if t.tail == nil {
		t.tail = s
	}
}

func (t *sessionTable) unlink(s *session) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		t.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		t.tail = s.prev
	}
	s.prev, s.next = nil, nil
}

// spreadOf maps a session id to [0,1), the same on every node. FNV-1a
// alone leaves the high bits of similar short ids close together; the
// splitmix64 finaliser spreads them.
func spreadOf(id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// networkOf is the client network of addr: its first bits4 (IPv4,
// IPv4-mapped included) or bits6 bits. An invalid address is the zero
// Prefix, a network of its own.
func networkOf(addr netip.Addr, bits4, bits6 int) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := bits6
	if addr.Is4() {
		bits = bits4
	}
	p, _ := addr.Prefix(bits) // bits is within range: Config.Validate
	return p
}
