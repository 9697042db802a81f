package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/mesh"
)

// configSource is where a node reads its configuration document: its own
// Raft store (control role) or a follower of one.
type configSource interface {
	Current() *control.Document
	Watch() <-chan struct{}
	WaitVersion(ctx context.Context, after uint64) (*control.Document, error)
}

// Node-to-node config following: a voter holds a follower's long poll for
// configPollWait and names its leader in hdrLeader, so followers follow
// the leader when they know it.
const (
	configPollWait = 25 * time.Second
	hdrLeader      = "X-Ringside-Leader"
)

// newControl builds the control plane of this node (no I/O): a Raft voter
// with the control role, otherwise a follower that long-polls the voters
// and persists what it learns. Without control.data_dir the static events
// are the whole configuration.
func (n *running) newControl() error {
	cc := n.cfg.Control
	if cc.DataDir == "" {
		return nil
	}
	if !n.cfg.hasRole(RoleControl) {
		n.follow = &follow{n: n, client: n.peerClient(0)}
		f, err := control.NewFollower(control.FollowerConfig{Path: filepath.Join(cc.DataDir, "config.json"),
			Fetch: n.follow.fetch}, n.log.With("component", "control"))
		if err != nil {
			return fmt.Errorf("node: control: %w", err)
		}
		n.cfgSrc = f
		return nil
	}
	sc := control.DefaultConfig()
	sc.NodeID, sc.RaftAddr, sc.Advertise, sc.DataDir = n.cfg.Node.ID, cc.RaftBind, cc.Advertise, cc.DataDir
	sc.Listener, sc.TLS = n.raftListener, n.raftTLS()
	if cc.Profile != "" {
		sc.Profile = cc.Profile
	}
	for _, p := range cc.Bootstrap {
		sc.Bootstrap = append(sc.Bootstrap, control.Peer{ID: p.ID, Addr: p.Addr})
	}
	sc.Logger = n.log.With("component", "control")
	st, err := control.New(sc)
	if err != nil {
		return fmt.Errorf("node: control: %w", err)
	}
	n.store, n.cfgSrc = st, st
	return nil
}

// runControl starts the control plane and applies every document it
// publishes to the node.
func (n *running) runControl() error {
	switch src := n.cfgSrc.(type) {
	case nil:
		return nil
	case *control.Follower:
		n.wg.Go(func() { src.Run(n.ctx) })
	case *control.Store:
		if err := startService(n.ctx, &n.wg, n.log, "control", src.Run, src.Ready()); err != nil {
			return err
		}
		n.wg.Go(func() { n.seedWhenLeader(src) })
	}
	n.wg.Go(n.followConfig)
	return nil
}

// awaitConfig holds the node back from serving until the configuration it
// starts with is applied: the document, when the config file has static
// events for the control plane to seed (or a persisted copy to restore),
// at most control.ready_timeout (a voter without quorum cannot seed).
func (n *running) awaitConfig() {
	if n.cfgSrc == nil || len(n.cfg.Events) == 0 || n.cfg.Control.ReadyTimeout <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(n.cfg.Control.ReadyTimeout))
	defer t.Stop()
	select {
	case <-n.applied:
	case <-n.ctx.Done():
	case <-t.C:
		n.log.Warn("serving before the configuration document is applied", "waited", n.cfg.Control.ReadyTimeout)
	}
}

// seedWhenLeader installs the static events as the document's first
// version, once, by whichever voter leads first (seed applies only to an
// empty document).
func (n *running) seedWhenLeader(st *control.Store) {
	for n.ctx.Err() == nil && st.Current().Version == 0 && len(n.cfg.Events) > 0 {
		if st.IsLeader() && n.seed(st) {
			return
		}
		select {
		case <-n.ctx.Done():
		case <-st.Watch():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// seed applies the seed command; it reports whether the document is now
// seeded (or was already written to, so it can never be seeded).
func (n *running) seed(st *control.Store) bool {
	doc := &control.Document{Events: map[string]control.Event{}}
	for _, ev := range eventsFromConfig(n.cfg.Events) {
		doc.Events[ev.ID] = ev.control()
	}
	cmd, err := control.NewCommand(control.CmdSeed, doc)
	if err != nil {
		n.log.Error("building the configuration seed", "err", err)
		return true
	}
	cmd.IdempotencyKey, cmd.Actor = "seed", n.cfg.Node.ID
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	_, err = st.Apply(ctx, cmd)
	if err != nil && !errors.Is(err, control.ErrConflict) {
		n.log.Warn("seeding the configuration", "err", err)
		return false
	}
	return true
}

// followConfig applies every new version of the document to the node.
func (n *running) followConfig() {
	for {
		watch := n.cfgSrc.Watch()
		if doc := n.cfgSrc.Current(); doc.Version > 0 {
			n.applyDocument(doc)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-watch:
		}
	}
}

// applyDocument makes the node serve doc: its events, and its own drain
// flag.
func (n *running) applyDocument(doc *control.Document) {
	n.setEvents(eventsFromDocument(doc))
	if n.tickets != nil {
		n.tickets.set(doc.Signing)
	}
	n.docVersion.Store(doc.Version)
	n.appliedOnce.Do(func() { close(n.applied) })
	drain := doc.Nodes[n.cfg.Node.ID].Drain
	if drain != n.drained.Load() {
		ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
		defer cancel()
		if err := n.setDrain(ctx, drain); err != nil {
			n.log.Warn("applying the drain flag", "err", err)
		}
	}
}

// controlMembers are the live members with the control role, self
// excluded.
func (n *running) controlMembers() []mesh.Member {
	var out []mesh.Member
	for _, m := range n.members() {
		if m.HasRole(mesh.RoleControl) && m.ID != n.cfg.Node.ID {
			out = append(out, m)
		}
	}
	return out
}

// follow is a follower's way to the voters: the leader first when a voter
// named it, another voter at once after a failure.
type follow struct {
	n      *running
	client *http.Client // no header timeout: voters hold polls open
	mu     sync.Mutex
	prefer string // the voter to ask first (the last known leader)
	failed string // the voter whose poll failed last: asked last
	turn   int    // rotates the others after failures
}

// fetch long-polls a control voter for a version newer than after.
func (f *follow) fetch(ctx context.Context, after uint64) (*control.Document, error) {
	m, err := f.pick()
	if err != nil {
		return nil, err
	}
	doc, leader, err := f.poll(ctx, m, after)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.prefer, f.failed, f.turn = "", m.ID, f.turn+1
		return nil, err
	}
	f.prefer, f.failed = leader, ""
	return doc, nil
}

func (f *follow) pick() (mesh.Member, error) {
	voters := f.n.controlMembers()
	if len(voters) == 0 {
		return mesh.Member{}, errors.New("node: no control node in the mesh")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range voters {
		if v.ID == f.prefer {
			return v, nil
		}
	}
	for i := range voters {
		if v := voters[(f.turn+i)%len(voters)]; v.ID != f.failed {
			return v, nil
		}
	}
	return voters[0], nil
}

// leader is the control leader a voter last named ("" unknown).
func (f *follow) leader() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.prefer
}

func (f *follow) poll(ctx context.Context, m mesh.Member, after uint64) (*control.Document, string, error) {
	ctx, cancel := context.WithTimeout(ctx, configPollWait+5*time.Second)
	defer cancel()
	url := "https://" + m.MeshAddr + "/internal/v1/config?after=" + strconv.FormatUint(after, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("node: config from %s: %w", m.ID, err)
	}
	defer resp.Body.Close()
	leader := resp.Header.Get(hdrLeader)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("node: config from %s: %w", m.ID, err)
	case resp.StatusCode == http.StatusNotModified:
		return nil, leader, nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("node: config from %s: status %d", m.ID, resp.StatusCode)
	}
	doc, err := control.DecodeDocument(body)
	return doc, leader, err
}
