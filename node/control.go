package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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

// runControl starts the control plane of this node: a Raft voter with the
// control role, otherwise a follower that long-polls a voter and persists
// what it learns. Without control.data_dir the static events are the whole
// configuration.
func (n *Node) runControl(ctx context.Context, wg *sync.WaitGroup) error {
	cc := n.cfg.Control
	if cc.DataDir == "" {
		return nil
	}
	if n.cfg.hasRole(RoleControl) {
		return n.runStore(ctx, wg)
	}
	f, err := control.NewFollower(control.FollowerConfig{Path: filepath.Join(cc.DataDir, "config.json"),
		Fetch: n.fetchConfig}, n.log.With("component", "control"))
	if err != nil {
		return fmt.Errorf("node: control: %w", err)
	}
	n.cfgSrc = f
	wg.Add(2)
	go func() { defer wg.Done(); f.Run(ctx) }()
	go func() { defer wg.Done(); n.followConfig(ctx, f) }()
	return nil
}

func (n *Node) runStore(ctx context.Context, wg *sync.WaitGroup) error {
	cc := n.cfg.Control
	sc := control.DefaultConfig()
	sc.NodeID, sc.RaftAddr, sc.Advertise, sc.DataDir = n.cfg.Node.ID, cc.RaftBind, cc.Advertise, cc.DataDir
	if cc.Profile != "" {
		sc.Profile = cc.Profile
	}
	for _, p := range cc.Bootstrap {
		sc.Bootstrap = append(sc.Bootstrap, control.Peer{ID: p.ID, Addr: p.Addr})
	}
	// control names the node in its own log attributes.
	sc.Logger = slog.New(slog.DiscardHandler)
	if n.deps.Logger != nil {
		sc.Logger = n.deps.Logger.With("component", "control")
	}
	st, err := control.New(sc)
	if err != nil {
		return fmt.Errorf("node: control: %w", err)
	}
	n.store, n.cfgSrc = st, st
	if err := startService(ctx, wg, n.log, "control", st.Run, st.Ready()); err != nil {
		return err
	}
	wg.Add(2)
	go func() { defer wg.Done(); n.seedWhenLeader(ctx, st) }()
	go func() { defer wg.Done(); n.followConfig(ctx, st) }()
	return nil
}

// seedWhenLeader installs the static events as the document's first
// version, once, by whichever voter leads first (seed applies only to an
// empty document).
func (n *Node) seedWhenLeader(ctx context.Context, st *control.Store) {
	for ctx.Err() == nil && st.Current().Version == 0 && len(n.cfg.Events) > 0 {
		if st.IsLeader() && n.seed(ctx, st) {
			return
		}
		select {
		case <-ctx.Done():
		case <-st.Watch():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// seed applies the seed command; it reports whether the document is now
// seeded (or was already written to, so it can never be seeded).
func (n *Node) seed(ctx context.Context, st *control.Store) bool {
	doc := &control.Document{Events: map[string]control.Event{}}
	for _, ev := range n.cfg.Events {
		ce := control.Event{ID: ev.ID, Title: ev.Title, State: control.StateLive, PullURL: ev.PullURL}
		if ev.StreamKey != "" {
			ce.StreamKeys = []string{ev.StreamKey}
		}
		doc.Events[ev.ID] = ce
	}
	cmd, err := control.NewCommand(control.CmdSeed, doc)
	if err != nil {
		n.log.Error("control: building the seed", "err", err)
		return true
	}
	cmd.IdempotencyKey, cmd.Actor = "seed", n.cfg.Node.ID
	_, err = st.Apply(ctx, cmd)
	if err != nil && !errors.Is(err, control.ErrConflict) {
		n.log.Warn("control: seeding the configuration", "err", err)
		return false
	}
	return true
}

// followConfig applies every new version of the document to the node.
func (n *Node) followConfig(ctx context.Context, src configSource) {
	for {
		watch := src.Watch()
		if doc := src.Current(); doc.Version > 0 {
			n.applyDocument(ctx, doc)
		}
		select {
		case <-ctx.Done():
			return
		case <-watch:
		}
	}
}

// applyDocument makes the node serve doc: its events, and its own drain
// flag.
func (n *Node) applyDocument(ctx context.Context, doc *control.Document) {
	evs := make([]eventInfo, 0, len(doc.Events))
	keys := tokenKeys(doc)
	for _, ev := range doc.Events {
		evs = append(evs, eventInfo{ID: ev.ID, Title: ev.Title, StreamKeys: ev.StreamKeys, PullURL: ev.PullURL,
			Push: len(ev.StreamKeys) > 0, State: string(ev.State), RequireToken: ev.RequireToken,
			Allowed: ev.AllowedRegions, Blackout: ev.BlackoutRegions, TokenKeys: keys})
	}
	n.setEvents(evs)
	n.docVersion.Store(doc.Version)
	drain := doc.Nodes[n.cfg.Node.ID].Drain
	if drain != n.drained.Load() {
		if err := n.setDrain(ctx, drain); err != nil {
			n.log.Warn("control: applying the drain flag", "err", err)
		}
	}
}

// fetchConfig long-polls a control voter for a version newer than after.
func (n *Node) fetchConfig(ctx context.Context, after uint64) (*control.Document, error) {
	voters := n.controlMembers()
	if len(voters) == 0 {
		return nil, errors.New("node: no control node in the mesh")
	}
	m := voters[rand.IntN(len(voters))]
	ctx, cancel := context.WithTimeout(ctx, configPollWait+5*time.Second)
	defer cancel()
	url := "http://" + m.HTTPAddr + "/internal/v1/config?after=" + strconv.FormatUint(after, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(hdrClusterToken, n.cfg.Mesh.ClusterToken)
	resp, err := n.up.longPoll.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node: config from %s: %w", m.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case err != nil:
		return nil, fmt.Errorf("node: config from %s: %w", m.ID, err)
	case resp.StatusCode == http.StatusNotModified:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("node: config from %s: status %d", m.ID, resp.StatusCode)
	}
	return control.DecodeDocument(body)
}

// configPollWait is how long a voter holds a follower's long poll.
const configPollWait = 25 * time.Second

// controlMembers are the live members with the control role.
func (n *Node) controlMembers() []mesh.Member {
	var out []mesh.Member
	for _, m := range n.members() {
		if m.HasRole(mesh.RoleControl) && m.ID != n.cfg.Node.ID {
			out = append(out, m)
		}
	}
	return out
}
