package admintest

import (
	"context"
	"slices"
	"sync"

	"github.com/ringside-live/ringside/admin"
)

// Cluster is a fake admin.Cluster: fixed members, voters and admin URLs;
// it records drains and purges.
type Cluster struct {
	mu      sync.Mutex
	members []admin.Member
	voters  []string
	urls    map[string]string
	drains  []Drain
	purges  []Purge
	results map[string]admin.PurgeResult
}

// Drain is one Cluster.Drain call.
type Drain struct {
	ID    string
	Drain bool
}

// Purge is one Cluster.Purge call.
type Purge struct {
	Target string
	Key    bool
}

// NewCluster returns a mesh of members (the API's own node among them).
func NewCluster(members ...admin.Member) *Cluster {
	return &Cluster{members: members, urls: map[string]string{}, results: map[string]admin.PurgeResult{}}
}

// SetVoters sets what Voters reports (the known leader first).
func (f *Cluster) SetVoters(ids ...string) { f.mu.Lock(); f.voters = ids; f.mu.Unlock() }

// SetAdminURL sets node id's admin base URL.
func (f *Cluster) SetAdminURL(id, url string) { f.mu.Lock(); f.urls[id] = url; f.mu.Unlock() }

// SetPurgeResult sets node id's part of every purge (default: 1 purged).
func (f *Cluster) SetPurgeResult(id string, r admin.PurgeResult) {
	f.mu.Lock()
	f.results[id] = r
	f.mu.Unlock()
}

// Drains are the Drain calls so far.
func (f *Cluster) Drains() []Drain { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.drains) }

// Purges are the Purge calls so far.
func (f *Cluster) Purges() []Purge { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.purges) }

// Members implements admin.Cluster.
func (f *Cluster) Members() []admin.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members)
}

// Voters implements admin.Cluster.
func (f *Cluster) Voters() []string { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.voters) }

// AdminURL implements admin.Cluster.
func (f *Cluster) AdminURL(id string) string { f.mu.Lock(); defer f.mu.Unlock(); return f.urls[id] }

// Drain implements admin.Cluster: admin.ErrUnknownNode for an id that is
// not a member.
func (f *Cluster) Drain(_ context.Context, id string, drain bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.members, func(m admin.Member) bool { return m.ID == id })
	if i < 0 {
		return admin.ErrUnknownNode
	}
	f.members[i].Drain = drain
	f.drains = append(f.drains, Drain{ID: id, Drain: drain})
	return nil
}

// Purge implements admin.Cluster.
func (f *Cluster) Purge(_ context.Context, target string, key bool) map[string]admin.PurgeResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purges = append(f.purges, Purge{Target: target, Key: key})
	out := map[string]admin.PurgeResult{}
	for _, m := range f.members {
		r, ok := f.results[m.ID]
		if !ok {
			r = admin.PurgeResult{Purged: 1}
		}
		out[m.ID] = r
	}
	return out
}

var (
	_ admin.Control  = (*Control)(nil)
	_ admin.Cluster  = (*Cluster)(nil)
	_ admin.Steering = (*Steering)(nil)
	_ admin.MeshKeys = (*MeshKeys)(nil)
)
