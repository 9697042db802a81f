package control

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// Server is one member of the Raft configuration.
type Server struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"`
	Voter bool   `json:"voter"`
}

// Leader returns the leader's node id and Raft address, or empty strings
// while none is known.
func (s *Store) Leader() (id, addr string) {
	r := s.r.Load()
	if r == nil {
		return "", ""
	}
	a, i := r.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this store is the leader right now.
func (s *Store) IsLeader() bool {
	r := s.r.Load()
	return r != nil && r.State() == raft.Leader
}

// AddVoter adds (or promotes) a voter. Leader only.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	return s.onLeader(ctx, func(r *raft.Raft, t time.Duration) raft.Future {
		return r.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, t)
	})
}

// AddNonvoter adds a member that receives the log but does not vote.
// Leader only.
func (s *Store) AddNonvoter(ctx context.Context, id, addr string) error {
	return s.onLeader(ctx, func(r *raft.Raft, t time.Duration) raft.Future {
		return r.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, t)
	})
}

// RemoveServer removes a member. Leader only.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	return s.onLeader(ctx, func(r *raft.Raft, t time.Duration) raft.Future {
		return r.RemoveServer(raft.ServerID(id), 0, t)
	})
}

// Barrier returns once every command committed before it is applied on the
// leader: after it, Current reflects every acknowledged write. Leader only.
func (s *Store) Barrier(ctx context.Context) error {
	return s.onLeader(ctx, func(r *raft.Raft, t time.Duration) raft.Future {
		return r.Barrier(t)
	})
}

// TransferLeadership hands leadership to another voter, for a planned
// restart of the leader. Leader only.
func (s *Store) TransferLeadership(ctx context.Context) error {
	return s.onLeader(ctx, func(r *raft.Raft, _ time.Duration) raft.Future {
		return r.LeadershipTransfer()
	})
}

func (s *Store) onLeader(ctx context.Context, op func(*raft.Raft, time.Duration) raft.Future) error {
	r, err := s.leaderRaft()
	if err != nil {
		return err
	}
	return raftErr(r, wait(ctx, op(r, enqueueTimeout(ctx))))
}

// Snapshot takes a snapshot now and compacts the log (keeping
// TrailingLogs). Works on any voter; nothing new to snapshot is no error.
func (s *Store) Snapshot(ctx context.Context) error {
	r := s.r.Load()
	if r == nil {
		return errors.New("control: store not running")
	}
	err := wait(ctx, r.Snapshot())
	if errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil
	}
	return raftErr(r, err)
}

// Servers returns the current Raft configuration.
func (s *Store) Servers(ctx context.Context) ([]Server, error) {
	r := s.r.Load()
	if r == nil {
		return nil, errors.New("control: store not running")
	}
	f := r.GetConfiguration()
	if err := wait(ctx, f); err != nil {
		return nil, raftErr(r, err)
	}
	var out []Server
	for _, sv := range f.Configuration().Servers {
		out = append(out, Server{ID: string(sv.ID), Addr: string(sv.Address), Voter: sv.Suffrage == raft.Voter})
	}
	return out, nil
}

// Stats is a point-in-time view of this voter, for metrics and status
// pages.
type Stats struct {
	State        string    `json:"state"` // Follower, Candidate, Leader, Shutdown
	Term         uint64    `json:"term"`
	LastIndex    uint64    `json:"last_index"`
	CommitIndex  uint64    `json:"commit_index"`
	AppliedIndex uint64    `json:"applied_index"`
	LastContact  time.Time `json:"last_contact,omitzero"` // with the leader; zero on the leader
	LeaderID     string    `json:"leader_id"`
	Version      uint64    `json:"version"` // of the applied document
	// Checks counts the leader's check entries this voter compared with
	// its own state since it started; Divergences how many did not match
	// (see Store.Divergence). Alarm on Divergences > 0.
	Checks      uint64 `json:"checks"`
	Divergences uint64 `json:"divergences"`
	// RejectedConns counts inbound Raft connections refused at the TLS
	// handshake since Run started: no or a wrong certificate, not the
	// control role, plain TCP, too slow. Always 0 without Config.TLS.
	RejectedConns uint64 `json:"rejected_conns"`
}

// Stats returns this voter's Raft position; zero before Run starts Raft.
func (s *Store) Stats() Stats {
	st := Stats{Version: s.Current().Version}
	st.Checks, st.Divergences = s.fsm.checkStats()
	st.RejectedConns = s.rejected.Load()
	r := s.r.Load()
	if r == nil {
		return st
	}
	st.State = r.State().String()
	st.Term = r.CurrentTerm()
	st.LastIndex = r.LastIndex()
	st.CommitIndex = r.CommitIndex()
	st.AppliedIndex = r.AppliedIndex()
	st.LastContact = r.LastContact()
	st.LeaderID, _ = s.Leader()
	return st
}
