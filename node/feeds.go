package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/mesh"
)

// Redundant events (feeds): the ingest origin publishes their output
// through the control plane's timeline. On a control voter the timeline is
// its own Raft store (forwarding to the leader when it is not); elsewhere
// the voters' internal timeline API, leader first. A node without a
// control plane (its file is its whole configuration) keeps the timeline
// in memory: one node, one timeline.

// Internal timeline API paths (voters only; callers need the ingest role).
const (
	pathTimelineAppend = "/internal/v1/timeline/append"
	pathTimelineAge    = "/internal/v1/timeline/age"
	pathTimelineSwitch = "/internal/v1/timeline/switch"
	pathFeeds          = "/internal/v1/feeds/" // + event: any member may ask
)

// timelineAnswer is the internal API's answer: the result, or what the
// control plane refused and why (kind maps to a control sentinel).
type timelineAnswer struct {
	Result *control.TimelineResult `json:"result,omitempty"`
	AgeNS  int64                   `json:"age_ns,omitempty"`
	Empty  bool                    `json:"empty,omitempty"`
	Kind   string                  `json:"kind,omitempty"`
	Error  string                  `json:"error,omitempty"`
}

// Refusal kinds of the timeline API.
var timelineKinds = []struct {
	kind string
	err  error
}{
	{"stale", control.ErrStale}, {"not_active", control.ErrNotActive}, {"conflict", control.ErrConflict},
	{"not_found", control.ErrNotFound}, {"invalid", control.ErrInvalid},
}

func kindOf(err error) string {
	for _, k := range timelineKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return ""
}

func errOfKind(kind, msg string) error {
	for _, k := range timelineKinds {
		if k.kind == kind {
			return fmt.Errorf("%w (%s)", k.err, msg)
		}
	}
	return errors.New(msg)
}

// errNotLeaderHere: a voter answered that it does not lead.
var errNotLeaderHere = errors.New("node: not the control leader")

// nodeTimeline is ingest.Timeline over the mesh's control plane.
type nodeTimeline struct{ n *running }

func (t nodeTimeline) AppendTimeline(ctx context.Context, op control.TimelineOp) (control.TimelineResult, error) {
	var res control.TimelineResult
	err := t.call(ctx, pathTimelineAppend, op, func(st *control.Store) error {
		r, err := st.AppendTimeline(ctx, op)
		res = r
		return err
	}, func(a timelineAnswer) {
		if a.Result != nil {
			res = *a.Result
		}
	})
	return res, err
}

func (t nodeTimeline) TimelineAge(ctx context.Context, event string) (time.Duration, bool, error) {
	if st := t.n.store; st != nil {
		age, empty := st.TimelineAge(event)
		return age, empty, nil
	}
	var age time.Duration
	var empty bool
	err := t.call(ctx, pathTimelineAge, control.EventRef{ID: event}, nil, func(a timelineAnswer) {
		age, empty = time.Duration(a.AgeNS), a.Empty
	})
	return age, empty, err
}

func (t nodeTimeline) SwitchFeed(ctx context.Context, event, to, from, reason string) error {
	args := control.ActiveFeedArgs{ID: event, Feed: to, From: from, Reason: reason, By: t.n.cfg.Node.ID}
	return t.call(ctx, pathTimelineSwitch, args, func(st *control.Store) error {
		return applyFeedSwitch(ctx, st, args)
	}, nil)
}

// applyFeedSwitch commits a switch a node asked for.
func applyFeedSwitch(ctx context.Context, st *control.Store, args control.ActiveFeedArgs) error {
	cmd, err := control.NewCommand(control.CmdSetActiveFeed, args)
	if err != nil {
		return err
	}
	cmd.Actor, cmd.IdempotencyKey = args.By, "feed-switch-"+rand.Text()
	_, err = st.Apply(ctx, cmd)
	return err
}

// call runs local on this node's store when it leads, else asks the
// voters (the known leader first) at path; decode reads a voter's answer.
func (t nodeTimeline) call(ctx context.Context, path string, body any, local func(*control.Store) error, decode func(timelineAnswer)) error {
	n := t.n
	if st := n.store; st != nil && local != nil {
		err := local(st)
		var nl *control.NotLeaderError
		if !errors.As(err, &nl) {
			return err
		}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	voters := n.controlMembers()
	leader := n.leaderID()
	slices.SortStableFunc(voters, func(a, b mesh.Member) int {
		switch {
		case a.ID == leader:
			return -1
		case b.ID == leader:
			return 1
		}
		return 0
	})
	var errs []error
	for _, m := range voters {
		a, err := n.timelineRequest(ctx, m.MeshAddr, path, payload)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.ID, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if a.Kind != "" || a.Error != "" {
			return errOfKind(a.Kind, a.Error)
		}
		if decode != nil {
			decode(a)
		}
		return nil
	}
	if len(errs) == 0 {
		return errors.New("node: no control voter in the mesh")
	}
	return fmt.Errorf("node: timeline: %w", errors.Join(errs...))
}

// timelineRequest posts payload to a voter's timeline API.
func (n *running) timelineRequest(ctx context.Context, addr, path string, payload []byte) (timelineAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+path, bytes.NewReader(payload))
	if err != nil {
		return timelineAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.cluster.Do(req)
	if err != nil {
		return timelineAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return timelineAnswer{}, err
	}
	if resp.StatusCode == http.StatusMisdirectedRequest {
		return timelineAnswer{}, errNotLeaderHere
	}
	if resp.StatusCode != http.StatusOK {
		return timelineAnswer{}, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var a timelineAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return timelineAnswer{}, fmt.Errorf("timeline answer: %w", err)
	}
	return a, nil
}

// internalTimeline serves the timeline API on a voter: the leader
// commits, a follower answers 421 so the caller tries the leader.
func (n *running) internalTimeline(ctx *fasthttp.RequestCtx, path string) {
	st := n.store
	if st == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node is not a control voter")
		return
	}
	rctx, cancel := n.requestContext(budgetControl)
	defer cancel()
	var a timelineAnswer
	var err error
	switch path {
	case pathTimelineAppend:
		var op control.TimelineOp
		if err = strictJSON(ctx.PostBody(), &op); err != nil {
			problem(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		var res control.TimelineResult
		res, err = st.AppendTimeline(rctx, op)
		if err == nil {
			a.Result = &res
		}
	case pathTimelineAge:
		var ref control.EventRef
		if err = strictJSON(ctx.PostBody(), &ref); err != nil {
			problem(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		age, empty := st.TimelineAge(ref.ID)
		a.AgeNS, a.Empty = int64(age), empty
	case pathTimelineSwitch:
		var args control.ActiveFeedArgs
		if err = strictJSON(ctx.PostBody(), &args); err != nil {
			problem(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		err = applyFeedSwitch(rctx, st, args)
	}
	var nl *control.NotLeaderError
	switch {
	case errors.As(err, &nl):
		ctx.Response.Header.Set(hdrLeader, nl.LeaderID)
		problem(ctx, fasthttp.StatusMisdirectedRequest, err.Error())
		return
	case err != nil && kindOf(err) == "":
		problem(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		a.Kind, a.Error = kindOf(err), err.Error()
	}
	writeJSON(ctx, fasthttp.StatusOK, a)
}

// internalFeeds answers another node's question about this node's feeds.
func (n *running) internalFeeds(ctx *fasthttp.RequestCtx, event string) {
	var sts []ingest.FeedStatus
	if n.ingest != nil {
		sts = n.ingest.Feeds(event)
	}
	writeJSON(ctx, fasthttp.StatusOK, sts)
}

// adminFeeds is admin.Feeds: this node's view and every member's that
// ingests the event.
type adminFeeds struct{ n *running }

func (f adminFeeds) FeedStatus(ctx context.Context, event string) []admin.NodeFeeds {
	n := f.n
	var out []admin.NodeFeeds
	if n.ingest != nil {
		if sts := n.ingest.Feeds(event); sts != nil {
			out = append(out, admin.NodeFeeds{Node: n.cfg.Node.ID, Feeds: sts})
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range n.members() {
		if m.ID == n.cfg.Node.ID || !slices.Contains(m.Events, event) || m.MeshAddr == "" {
			continue
		}
		wg.Go(func() {
			nf := admin.NodeFeeds{Node: m.ID}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			sts, err := n.remoteFeeds(cctx, m.MeshAddr, event)
			if err != nil {
				nf.Error = err.Error()
			}
			nf.Feeds = sts
			mu.Lock()
			out = append(out, nf)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b admin.NodeFeeds) int { return strings.Compare(a.Node, b.Node) })
	return out
}

func (n *running) remoteFeeds(ctx context.Context, addr, event string) ([]ingest.FeedStatus, error) {
	b, _, err := n.internalGet(ctx, addr, pathFeeds+event, 1<<20)
	if err != nil {
		return nil, err
	}
	var sts []ingest.FeedStatus
	if err := json.Unmarshal(b, &sts); err != nil {
		return nil, err
	}
	return sts, nil
}

// staticTimeline is the timeline of a node without a control plane: in
// memory, and a switch re-applies the node's events with the new active
// feed.
type staticTimeline struct {
	*control.LocalTimeline
	n *running
}

func (t staticTimeline) SwitchFeed(ctx context.Context, event, to, from, reason string) error {
	if err := t.LocalTimeline.SwitchFeed(ctx, event, to, from, reason); err != nil {
		return err
	}
	t.n.log.Warn("feed switched", "event", event, "from", from, "to", to, "reason", reason)
	t.n.setEvents(t.n.staticEvents())
	return nil
}

// staticEvents are the config file's events, their active feeds as the
// in-memory timeline has them.
func (n *running) staticEvents() []Event {
	evs := eventsFromConfig(n.cfg.Events)
	if n.localTL == nil {
		return evs
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Feeds == nil {
			continue
		}
		if cur, ok := n.localTL.Event(ev.ID); ok && cur.Feeds != nil {
			ev.Feeds = cur.Feeds
			continue
		}
		if err := n.localTL.PutEvent(ev.control()); err != nil {
			n.log.Error("redundant event", "event", ev.ID, "err", err)
			continue
		}
		if cur, ok := n.localTL.Event(ev.ID); ok {
			ev.Feeds = cur.Feeds
		}
	}
	return evs
}

// timelineFor is the ingest origin's timeline on this node.
func (n *running) timelineFor() ingest.Timeline {
	if n.cfg.Control.DataDir == "" {
		n.localTL = control.NewLocalTimeline(nil)
		return staticTimeline{LocalTimeline: n.localTL, n: n}
	}
	return nodeTimeline{n: n}
}

var (
	_ ingest.Timeline = nodeTimeline{}
	_ ingest.Timeline = staticTimeline{}
	_ admin.Feeds     = adminFeeds{}
)
