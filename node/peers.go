package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/route"
)

// Every node-to-node request goes to the peer's mesh listener over mutual
// TLS 1.3. Gossip says who is in the mesh and what it claims to be; the
// certificate says what it is. A member is routed to only once a handshake
// with its mesh address showed a certificate of the cluster CA naming the
// member id it gossips as, and only for the roles both its gossip and its
// certificate name. Every later connection checks the certificate again.

// Peer checks: how long one handshake may take, how soon a failed one is
// tried again, and how often a verified member is checked again (a
// renewed certificate may grant fewer roles).
const (
	peerCheckTimeout = 3 * time.Second
	peerRetry        = 2 * time.Second
	peerRecheck      = time.Minute
)

// peerState is what this node knows of one member's certificate.
type peerState struct {
	addr    string        // the mesh address checked
	cert    identity.Peer // the certificate's identity, when checked fine
	err     error         // nil: verified
	at      time.Time     // when the last check ended (zero: never)
	running bool          // a check is under way
}

// peers verifies members by handshake and is the mutual-TLS client of
// every node-to-node call.
type peers struct {
	n       *running
	now     func() time.Time
	changed chan struct{} // a check ended with a new result: rebuild

	mu    sync.Mutex
	state map[string]*peerState // by member id

	// routed maps a mesh address to the member the table routes to there
	// and the roles it was verified for; a connection to the address must
	// present that identity with those roles.
	routed atomic.Pointer[map[string]identity.Peer]
}

func newPeers(n *running) *peers {
	p := &peers{n: n, now: time.Now, changed: make(chan struct{}, 1), state: map[string]*peerState{}}
	p.routed.Store(&map[string]identity.Peer{})
	return p
}

// effective returns the members the node may route to, with the roles
// their certificates confirm, and starts the checks that are due. This
// node is always in, as it is.
func (p *peers) effective(members []mesh.Member) []mesh.Member {
	self := p.n.cfg.Node.ID
	now := p.now()
	out := make([]mesh.Member, 0, len(members))
	routed := map[string]identity.Peer{}
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range members {
		seen[m.ID] = true
		if m.ID == self {
			out = append(out, m)
			continue
		}
		st := p.state[m.ID]
		if st == nil || st.addr != m.MeshAddr {
			st = &peerState{addr: m.MeshAddr}
			p.state[m.ID] = st
		}
		due := st.at.IsZero() || (st.err != nil && now.Sub(st.at) >= peerRetry) || now.Sub(st.at) >= peerRecheck
		if due && !st.running && m.MeshAddr != "" && m.State == mesh.StateAlive {
			st.running = true
			p.n.wg.Go(func() { p.check(m.ID, m.MeshAddr) })
		}
		if st.err != nil || st.at.IsZero() {
			continue // not (yet) verified: not routed to
		}
		em := m
		em.Roles = certified(m.Roles, st.cert.Roles)
		if !slices.Contains(em.Roles, mesh.RoleIngest) {
			em.Events = nil
		}
		out = append(out, em)
		routed[m.MeshAddr] = identity.Peer{ID: m.ID, Roles: em.Roles}
	}
	for id := range p.state {
		if !seen[id] {
			delete(p.state, id)
		}
	}
	p.routed.Store(&routed)
	return out
}

// certified is the roles in both lists: what a member claims and its
// certificate grants.
func certified(claimed, granted []string) []string {
	var out []string
	for _, r := range claimed {
		if slices.Contains(granted, r) {
			out = append(out, r)
		}
	}
	return out
}

// check handshakes with member id at addr and records what its
// certificate says.
func (p *peers) check(id, addr string) {
	ctx, cancel := context.WithTimeout(p.n.ctx, peerCheckTimeout)
	defer cancel()
	cert, err := p.handshake(ctx, addr, identity.Is(id))
	if err != nil && p.n.ctx.Err() == nil {
		p.n.log.Warn("mesh member not verified: not routed to", "member", id, "addr", addr, "err", err)
	}
	p.mu.Lock()
	st := p.state[id]
	changed := false
	if st != nil && st.addr == addr {
		changed = st.at.IsZero() || (st.err == nil) != (err == nil) || !slices.Equal(st.cert.Roles, cert.Roles)
		st.cert, st.err, st.at, st.running = cert, err, p.now(), false
	}
	p.mu.Unlock()
	if changed {
		select {
		case p.changed <- struct{}{}:
		default:
		}
	}
}

// handshake dials addr with this node's certificate and returns the
// identity of the certificate the other end presented (verified against
// the cluster CA and by expect).
func (p *peers) handshake(ctx context.Context, addr string, expect func(identity.Peer) error) (identity.Peer, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: peerCheckTimeout}, Config: p.n.id.ClientTLS(expect)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return identity.Peer{}, err
	}
	defer conn.Close()
	return identity.FromConnState(conn.(*tls.Conn).ConnectionState())
}

// expectAt is the check of a connection to addr: the certificate names
// the member routed to there, with every role it is routed for.
func (p *peers) expectAt(addr string) (func(identity.Peer) error, error) {
	want, ok := (*p.routed.Load())[addr]
	if !ok {
		return nil, fmt.Errorf("node: %s is not the mesh address of a verified member", addr)
	}
	return func(got identity.Peer) error {
		if got.ID != want.ID {
			return fmt.Errorf("%w: %s presented the certificate of %s, not %s", identity.ErrNotAllowed, addr, got.ID, want.ID)
		}
		for _, r := range want.Roles {
			if !got.HasRole(r) {
				return fmt.Errorf("%w: the certificate of %s no longer grants %s", identity.ErrNotAllowed, got.ID, r)
			}
		}
		return nil
	}, nil
}

// client returns an HTTP client for one kind of node-to-node call (see
// route.NewClient for headerTimeout): https to mesh addresses only, each
// connection verified by expectAt.
func (p *peers) client(headerTimeout time.Duration) *http.Client {
	return p.clientDial(headerTimeout, headerTimeout)
}

// clientDial is client with its own bound on connecting (and the TLS
// handshake) to a peer.
func (p *peers) clientDial(headerTimeout, dial time.Duration) *http.Client {
	c := route.NewClient(headerTimeout)
	tr := c.Transport.(*http.Transport)
	if dial == 0 {
		dial = 5 * time.Second
	}
	tr.TLSHandshakeTimeout = dial
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		expect, err := p.expectAt(addr)
		if err != nil {
			return nil, err
		}
		cut := p.n.peerFilter
		if cut != nil && !cut(addr) {
			return nil, fmt.Errorf("node: %s: partitioned (test)", addr)
		}
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}, Config: p.n.id.ClientTLS(expect)}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil || cut == nil {
			return conn, err
		}
		return &filteredConn{Conn: conn, open: func() bool { return cut(addr) }}, nil
	}
	tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("node: node-to-node calls are https only")
	}
	return c
}

// heldPeerClient is the peer client for requests an upstream may hold
// (LL-HLS blocking reloads, hinted parts, segments asked for before their
// upload): connects are as short as any peer's (mesh.peer_timeout), the
// answer may take the whole fetch (cache.fetch_timeout, the fetch's own
// deadline).
func (n *running) heldPeerClient() *http.Client {
	if n.peers != nil {
		return n.peers.clientDial(time.Duration(n.cfg.Cache.FetchTimeout), time.Duration(n.cfg.Mesh.PeerTimeout))
	}
	return n.peerClient(0)
}

// peerClient is p.client, or without a mesh (no peers to call) a client
// that refuses every call.
func (n *running) peerClient(headerTimeout time.Duration) *http.Client {
	if n.peers != nil {
		return n.peers.client(headerTimeout)
	}
	return &http.Client{Transport: noPeers{}}
}

type noPeers struct{}

func (noPeers) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("node: no mesh: there are no peers to call")
}

// status is how /admin/v1/nodes shows a member's certificate check.
func (p *peers) status(m mesh.Member) (string, []string) {
	if m.ID == p.n.cfg.Node.ID {
		if p.n.id == nil {
			return "no certificate", nil
		}
		return "verified (self)", p.n.id.Peer().Roles
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[m.ID]
	switch {
	case m.MeshAddr == "":
		return "no mesh address", nil
	case st == nil || st.at.IsZero():
		return "pending", nil
	case st.err != nil:
		return "not verified: " + st.err.Error(), nil
	}
	if extra := slices.DeleteFunc(slices.Clone(m.Roles), st.cert.HasRole); len(extra) > 0 {
		return fmt.Sprintf("roles not certified: %v", extra), st.cert.Roles
	}
	return "verified", st.cert.Roles
}

// filteredConn breaks when a test partitions its peer (Deps.PeerFilter).
type filteredConn struct {
	net.Conn
	open func() bool
}

var errPartitioned = errors.New("node: partitioned (test)")

func (c *filteredConn) Read(b []byte) (int, error) {
	if !c.open() {
		c.Conn.Close()
		return 0, errPartitioned
	}
	return c.Conn.Read(b)
}

func (c *filteredConn) Write(b []byte) (int, error) {
	if !c.open() {
		c.Conn.Close()
		return 0, errPartitioned
	}
	return c.Conn.Write(b)
}
