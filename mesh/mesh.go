package mesh

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Mesh is this node's membership in the gossip mesh. Build it with New, run
// it with Run; everything else is safe for concurrent use at any time.
type Mesh struct {
	cfg Config
	id  string // Meta.ID, also the memberlist node name; never changes
	log *slog.Logger
	now func() time.Time

	// lifeMu orders UpdateMeta against Run's bind, so the meta memberlist
	// first advertises and the table's self entry agree.
	lifeMu sync.Mutex
	ml     atomic.Pointer[memberlist.Memberlist]

	// keyring holds the gossip keys, Config.SecretKey the primary at
	// first; memberlist reads it on every packet, so keys change at
	// runtime. nil: plain gossip. keyMu orders our check-then-change
	// operations on it (memberlist itself only reads it).
	keyring *memberlist.Keyring
	keyMu   sync.Mutex

	metaMu  sync.Mutex
	self    Meta
	encoded []byte // self, JSON, handed to memberlist by NodeMeta
	since   time.Time

	stateMu    sync.Mutex
	co         *coalescer        // member table (incl. self) and pending raw events
	leaving    map[string]intent // leave intents heard, by member ID
	changed    chan struct{}     // closed and replaced on every table change
	addr       string            // gossip host:port once bound
	flushTimer *time.Timer       // armed while a coalescing window is open
	stopped    bool              // Run has ended: no more windows
	numMembers atomic.Int32      // table size, for broadcast retransmit limits
	broadcasts *memberlist.TransmitLimitedQueue

	// flushMu serialises flushes so every subscriber sees events in order.
	flushMu sync.Mutex
	subMu   sync.Mutex
	subs    map[*subscriber]struct{}

	started  atomic.Bool
	ready    chan struct{}
	joined   chan struct{}
	joinOnce sync.Once
	killed   chan struct{}
	killOnce sync.Once
	done     chan struct{} // closed when Run returns
}

// retransmitMult is memberlist's LAN default: our own broadcasts (leave
// intents) go out retransmitMult*log10(n+1) times.
const retransmitMult = 4

// New validates cfg and self and returns a Mesh that has not touched the
// network yet.
func New(cfg Config, self Meta) (*Mesh, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	self = self.clone()
	enc, err := self.encode()
	if err != nil {
		return nil, err
	}
	cfg.Seeds = slices.Clone(cfg.Seeds)
	cfg.SecretKey = slices.Clone(cfg.SecretKey)
	keyring, err := newKeyring(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mesh{
		cfg: cfg, id: self.ID, log: log, now: time.Now,
		self: self, encoded: enc, keyring: keyring,
		co:      newCoalescer(),
		leaving: map[string]intent{},
		changed: make(chan struct{}),
		subs:    map[*subscriber]struct{}{},
		ready:   make(chan struct{}),
		joined:  make(chan struct{}),
		killed:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	m.since = m.now()
	m.co.known[m.id] = Member{Meta: self.clone(), State: StateAlive, Since: m.since}
	m.numMembers.Store(1)
	m.broadcasts = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return int(m.numMembers.Load()) },
		RetransmitMult: retransmitMult,
	}
	return m, nil
}

// Ready is closed once the gossip listener is bound and Addr is valid.
// Joining the seeds may still be in progress.
func (m *Mesh) Ready() <-chan struct{} { return m.ready }

// Joined is closed once a seed answered (at once when there are no seeds).
func (m *Mesh) Joined() <-chan struct{} { return m.joined }

func (m *Mesh) markJoined() { m.joinOnce.Do(func() { close(m.joined) }) }

// Addr returns the gossip host:port others reach this node on, or "" before
// Ready.
func (m *Mesh) Addr() string {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.addr
}

// Self returns this node as a member, with its current Meta.
func (m *Mesh) Self() Member {
	m.metaMu.Lock()
	meta, since := m.self.clone(), m.since
	m.metaMu.Unlock()
	return Member{Meta: meta, GossipAddr: m.Addr(), State: StateAlive, Since: since}
}

// Members returns the alive members, this node included, sorted by ID. It is
// the table as of the last coalesced flush, so it agrees with the events
// delivered so far. The result is a copy.
func (m *Mesh) Members() []Member {
	m.stateMu.Lock()
	out := make([]Member, 0, len(m.co.known))
	for _, mem := range m.co.known {
		out = append(out, mem.clone())
	}
	m.stateMu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Changed returns a channel that is closed the next time the member table
// changes: a member joins, leaves, fails or changes its Meta. Call it again
// after it fires for the next change; pair it with Members to rebuild
// anything derived from the member set.
func (m *Mesh) Changed() <-chan struct{} {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.changed
}

// Subscribe returns a channel of coalesced events and a func that
// unsubscribes and closes the channel. The channel holds buf events (at least
// one); a subscriber that falls behind loses its OLDEST events, never blocks
// gossip and never blocks other subscribers. Members and Changed are the
// authoritative state; events are for reacting promptly.
func (m *Mesh) Subscribe(buf int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buf, 1))}
	m.subMu.Lock()
	m.subs[s] = struct{}{}
	m.subMu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			m.subMu.Lock()
			delete(m.subs, s)
			close(s.ch)
			m.subMu.Unlock()
		})
	}
}

type subscriber struct {
	ch chan Event
}

// send delivers ev, dropping the oldest queued events to make room. Only
// dispatch sends, under subMu, so the channel cannot fill up again between
// the drop and the send.
func (s *subscriber) send(ev Event) (dropped int) {
	for {
		select {
		case s.ch <- ev:
			return dropped
		default:
		}
		select {
		case <-s.ch:
			dropped++
		default:
		}
	}
}

func (m *Mesh) dispatch(evs []Event) {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	for s := range m.subs {
		dropped := 0
		for _, ev := range evs {
			dropped += s.send(Event{Type: ev.Type, Member: ev.Member.clone()})
		}
		if dropped > 0 {
			m.log.Warn("slow subscriber lost its oldest events", "dropped", dropped)
		}
	}
}

// observe takes one raw memberlist notification into the coalescing window.
// memberlist calls it with its node lock held: it must not block or call
// back into memberlist.
func (m *Mesh) observe(typ EventType, n *memberlist.Node) {
	if typ == EventJoin && n.Name == m.id {
		return // self is in the table from New on
	}
	meta, err := decodeMeta(n.Name, n.Meta)
	if err != nil {
		m.log.Warn("undecodable member meta", "member", n.Name, "err", err)
	}
	ev := Event{Type: typ, Member: Member{Meta: meta, GossipAddr: n.Address(), State: StateAlive, Since: m.now()}}
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if m.co.add(ev) && !m.stopped {
		m.flushTimer = time.AfterFunc(m.cfg.CoalescePeriod, m.flush)
	}
}

// flush closes the coalescing window: it applies the net changes to the
// table, signals Changed and hands the events to subscribers.
func (m *Mesh) flush() {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.stateMu.Lock()
	evs := m.co.flush(m.consumeIntent)
	for _, ev := range evs {
		if ev.Type == EventJoin {
			delete(m.leaving, ev.Member.ID) // a stale intent must not mark its next failure a leave
		}
	}
	if len(evs) > 0 {
		close(m.changed)
		m.changed = make(chan struct{})
	}
	m.numMembers.Store(int32(len(m.co.known)))
	m.stateMu.Unlock()
	for _, ev := range evs {
		m.log.Debug("member "+ev.Type.String(), "member", ev.Member.ID, "addr", ev.Member.GossipAddr)
	}
	m.dispatch(evs)
}

// setSelf records a new own Meta in the table directly; used before Run
// binds, when memberlist is not there to report it.
func (m *Mesh) setSelf(meta Meta) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	self := m.co.known[m.id]
	self.Meta = meta.clone()
	m.co.known[m.id] = self
}

// bound records the gossip address once memberlist is up.
func (m *Mesh) bound(addr string) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	m.addr = addr
	if self, ok := m.co.known[m.id]; ok {
		self.GossipAddr = addr
		m.co.known[m.id] = self
	}
}
