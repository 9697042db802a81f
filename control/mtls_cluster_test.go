package control

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ringside-live/ringside/pkg/poll"
)

var raftSec = flag.String("raftsec", "mtls", "how the mTLS cluster tests run Raft: mtls; "+
	"plain (Config.TLS nil) or norole (TLS without the control-role check) must make TestRaftRefusesForgedRPCs fail")

// newMTLSCluster starts n voters over mutual TLS with certificates from ca
// (or as -raftsec says), each on a socket handed over already bound. They
// run Raft's lan timings (1 s, not the test profile's 100 ms): TLS
// handshakes under the race detector on a busy machine would otherwise
// trigger elections, and the tests tell the attacker's term changes from
// those by the term staying put.
func newMTLSCluster(t testing.TB, ca *testCA, n int) *testCluster {
	t.Helper()
	return newCluster(t, n, func(c *Config) {
		c.Profile = ProfileLAN
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.Listener = ln
		switch *raftSec {
		case "mtls":
			c.TLS = ca.transportTLS(t, c.NodeID, true, testRoleControl)
		case "norole":
			c.TLS = ca.transportTLS(t, c.NodeID, false, testRoleControl)
		case "plain":
		default:
			t.Fatalf("-raftsec %q: want mtls, plain or norole", *raftSec)
		}
	})
}

// The cluster elects, replicates, hands leadership over and brings a
// restarted voter up to date, all over mutual TLS.
func TestRaftOverMTLS(t *testing.T) {
	c := newMTLSCluster(t, newTestCA(t), 3)
	ctx := testCtx(t, time.Minute)
	v := applyOK(t, c.Leader(), cmd(t, CmdSeed, seedDoc()), // signing key k1
		cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "e1", Drain: true}))
	c.WaitConverged(v)

	old := c.LeaderIndex()
	if err := c.Store(old).TransferLeadership(ctx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "another leader", 10*time.Second, func() bool { return c.LeaderIndex() != old })

	follower := (c.LeaderIndex() + 1) % 3
	c.Kill(follower)
	v = applyOK(t, c.Leader(), cmd(t, CmdRotateSigningKey, key("k2")),
		cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "e2", Drain: true}))
	c.Restart(follower)
	c.WaitConverged(v)
	for _, s := range c.live() {
		if id := s.Current().Signing.Current.ID; id != "k2" {
			t.Errorf("%s: signing key %s, want k2", s.cfg.NodeID, id)
		}
		if n := s.Stats().RejectedConns; n != 0 {
			t.Errorf("%s rejected %d connections of its own cluster", s.cfg.NodeID, n)
		}
	}
}

// Nobody but a control voter of the cluster CA gets a Raft RPC through:
// not over plain TCP, not over TLS without a certificate, with a
// self-signed one, one from another CA, or one of the cluster CA without
// the control role. A forged AppendEntries (a new term, an entry making
// the attacker's signing key current) changes nothing on any voter; a
// RequestVote with a huge term does not unseat the leader.
func TestRaftRefusesForgedRPCs(t *testing.T) {
	ca := newTestCA(t)
	c := newMTLSCluster(t, ca, 3)
	v := applyOK(t, c.Leader(), cmd(t, CmdSeed, seedDoc()), // signing key k1
		cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "e1", Drain: true}))
	c.WaitConverged(v)

	bare := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}
	}
	attackers := []struct {
		name string
		tls  *tls.Config // nil = plain TCP
	}{
		{"plain tcp", nil},
		{"tls without certificate", &tls.Config{InsecureSkipVerify: true}},
		{"tls self-signed control", bare((*testCA)(nil).issue(t, "n9", testRoleControl))},
		{"tls other CA control", bare(newTestCA(t).issue(t, "n9", testRoleControl))},
		{"tls edge role", bare(ca.issue(t, "e1", testRoleEdge))},
	}
	attacks := []struct {
		name string
		// run sends the forged RPC and returns the voter it targeted.
		run func(t *testing.T, c *testCluster, tr *raft.NetworkTransport) (*Store, error)
	}{
		{"append entries", forgeAppendEntries},
		{"request vote", forgeRequestVote},
	}
	for _, a := range attackers {
		for _, atk := range attacks {
			t.Run(a.name+"/"+atk.name, func(t *testing.T) {
				tr := attackerTransport(t, a.tls)
				leader := c.Leader()
				term := leader.Stats().Term
				rejected := map[*Store]uint64{}
				for _, s := range c.live() {
					rejected[s] = s.Stats().RejectedConns
				}
				target, err := atk.run(t, c, tr)
				if err == nil {
					t.Errorf("%s answered the forged %s", target.cfg.NodeID, atk.name)
				}
				// A real write after it: every voter applies it, at the
				// next version, and nothing else.
				v = applyOK(t, c.Leader(), cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "e1", Drain: v%2 == 0}))
				c.WaitConverged(v)
				for _, s := range c.live() {
					st, d := s.Stats(), s.Current()
					if d.Version != v || d.Signing.Current == nil || d.Signing.Current.ID != "k1" {
						t.Errorf("%s: version %d, signing %+v; want %d, k1", s.cfg.NodeID, d.Version, d.Signing.Current, v)
					}
					if st.Term != term {
						t.Errorf("%s: term %d, want %d", s.cfg.NodeID, st.Term, term)
					}
				}
				if l := c.Leader(); l != leader {
					t.Errorf("leader %s, want %s still", l.cfg.NodeID, leader.cfg.NodeID)
				}
				poll.Until(t, "the target to count the rejected connection", 5*time.Second, func() bool {
					return target.Stats().RejectedConns > rejected[target]
				})
			})
		}
	}
}

// forgedTerm is far ahead of any term a test cluster reaches.
const forgedTerm = 1 << 40

// forgeAppendEntries sends a follower what its leader would send next,
// from a new term: an entry rotating in the attacker's signing key,
// committed at once.
func forgeAppendEntries(t *testing.T, c *testCluster, tr *raft.NetworkTransport) (*Store, error) {
	leader := c.Leader()
	var victim *Store
	for _, s := range c.live() {
		if s != leader {
			victim = s
		}
	}
	last, lastTerm := lastLog(t, victim)
	data, err := json.Marshal(entry{Cmd: cmd(t, CmdRotateSigningKey, key("evil")), At: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax,
			ID: []byte(leader.cfg.NodeID), Addr: []byte(leader.Addr())},
		Term:              forgedTerm,
		PrevLogEntry:      last,
		PrevLogTerm:       lastTerm,
		Entries:           []*raft.Log{{Index: last + 1, Term: forgedTerm, Type: raft.LogCommand, Data: data}},
		LeaderCommitIndex: last + 1,
	}
	var resp raft.AppendEntriesResponse
	return victim, tr.AppendEntries(raft.ServerID(victim.cfg.NodeID), raft.ServerAddress(victim.Addr()), req, &resp)
}

// forgeRequestVote asks the leader, in a follower's name, to vote in a far
// later term as part of a leadership transfer (so the leader does not
// ignore it for having a leader).
func forgeRequestVote(t *testing.T, c *testCluster, tr *raft.NetworkTransport) (*Store, error) {
	leader := c.Leader()
	var peer *Store
	for _, s := range c.live() {
		if s != leader {
			peer = s
		}
	}
	req := &raft.RequestVoteRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax,
			ID: []byte(peer.cfg.NodeID), Addr: []byte(peer.Addr())},
		Term:               forgedTerm,
		LastLogIndex:       forgedTerm,
		LastLogTerm:        forgedTerm,
		LeadershipTransfer: true,
	}
	var resp raft.RequestVoteResponse
	return leader, tr.RequestVote(raft.ServerID(leader.cfg.NodeID), raft.ServerAddress(leader.Addr()), req, &resp)
}

// lastLog is the index and term of s's last log entry, as its metrics
// tell an attacker.
func lastLog(t *testing.T, s *Store) (index, term uint64) {
	t.Helper()
	st := s.r.Load().Stats()
	index, err1 := strconv.ParseUint(st["last_log_index"], 10, 64)
	term, err2 := strconv.ParseUint(st["last_log_term"], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("raft stats %v: %v %v", st, err1, err2)
	}
	return index, term
}

// attackerTransport is a stock Raft transport: over plain TCP when cfg is
// nil, else dialing TLS with cfg.
func attackerTransport(t *testing.T, cfg *tls.Config) *raft.NetworkTransport {
	t.Helper()
	var tr *raft.NetworkTransport
	if cfg == nil {
		var err error
		if tr, err = raft.NewTCPTransport("127.0.0.1:0", nil, 1, 5*time.Second, io.Discard); err != nil {
			t.Fatal(err)
		}
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tr = raft.NewNetworkTransport(&tlsDialStream{Listener: ln, cfg: cfg}, 1, 5*time.Second, io.Discard)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// tlsDialStream is the attacker's stream layer: it dials TLS with cfg.
type tlsDialStream struct {
	net.Listener
	cfg *tls.Config
}

func (s *tlsDialStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return (&tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.cfg}).Dial("tcp", string(addr))
}

// applyOK applies cmds on s in order and returns the last version.
func applyOK(t testing.TB, s *Store, cmds ...Command) uint64 {
	t.Helper()
	var res Result
	for _, c := range cmds {
		var err error
		if res, err = s.Apply(testCtx(t, 10*time.Second), c); err != nil {
			t.Fatalf("apply %s: %v", c.Type, err)
		}
	}
	return res.Version
}
