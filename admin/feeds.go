package admin

import (
	"context"
	"net/http"
	"slices"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/ingest"
)

// Feeds reports the feeds of a redundant event as the ingest nodes that
// receive them see them; the node asks every member that ingests the
// event (itself included). nil: this node cannot ask (the feeds route
// shows the control plane's part only).
type Feeds interface {
	FeedStatus(ctx context.Context, event string) []NodeFeeds
}

// NodeFeeds is one ingest node's view of an event's feeds.
type NodeFeeds struct {
	Node  string              `json:"node"`
	Feeds []ingest.FeedStatus `json:"feeds,omitempty"`
	Error string              `json:"error,omitempty"` // the node could not be asked
}

// FeedSummary is one feed across the mesh: the view of the node that
// receives it (the freshest, if two do).
type FeedSummary struct {
	Name string `json:"name"`
	// Active: the output follows this feed.
	Active bool `json:"active"`
	// Node receives it ("" when no ingest node does).
	Node string `json:"node,omitempty"`
	ingest.FeedStatus
}

// FeedsResponse answers GET /admin/v1/events/{id}/feeds.
type FeedsResponse struct {
	Event           string              `json:"event"`
	Active          string              `json:"active"`
	SwitchBack      string              `json:"switch_back"`
	HealthySegments int                 `json:"healthy_segments"`
	UnhealthyAfter  control.Duration    `json:"unhealthy_after,omitzero"`
	LastSwitch      *control.FeedSwitch `json:"last_switch,omitempty"`
	Feeds           []FeedSummary       `json:"feeds"`
	Nodes           []NodeFeeds         `json:"nodes"`
}

// FeedSwitchRequest is the body of POST /admin/v1/events/{id}/feeds.
type FeedSwitchRequest struct {
	Active string `json:"active"` // primary or backup
	Reason string `json:"reason,omitempty"`
}

func (a *API) eventFeeds(c *call) {
	d, ok := a.readDoc(c)
	if !ok {
		return
	}
	id := c.r.PathValue("id")
	ev, ok := d.Events[id]
	switch {
	case !ok:
		writeProblem(c.w, http.StatusNotFound, "no event "+id)
		return
	case ev.Feeds == nil:
		writeProblem(c.w, http.StatusNotFound, "event "+id+" has no feeds (it is not redundant)")
		return
	}
	fs := ev.Feeds
	res := FeedsResponse{Event: id, Active: fs.ActiveFeed(), SwitchBack: fs.SwitchBack, HealthySegments: fs.HealthySegments,
		UnhealthyAfter: fs.UnhealthyAfter, LastSwitch: fs.LastSwitch, Nodes: []NodeFeeds{}}
	if res.SwitchBack == "" {
		res.SwitchBack = control.SwitchBackManual
	}
	if res.HealthySegments == 0 {
		res.HealthySegments = control.DefaultHealthySegments
	}
	if a.feeds != nil {
		res.Nodes = a.feeds.FeedStatus(c.ctx, id)
	}
	res.Feeds = summarizeFeeds(res.Active, res.Nodes)
	writeJSON(c.w, http.StatusOK, res)
}

// summarizeFeeds picks, for each feed, the view of the node receiving it.
func summarizeFeeds(active string, nodes []NodeFeeds) []FeedSummary {
	out := []FeedSummary{{Name: control.FeedPrimary}, {Name: control.FeedBackup}}
	for i := range out {
		f := &out[i]
		f.Active = f.Name == active
		for _, n := range nodes {
			for _, st := range n.Feeds {
				if st.Feed != f.Name || !st.Receiving {
					continue
				}
				if f.Node == "" || st.LastSegment.After(f.LastSegment) || st.Publishing {
					pub := f.Publishing || st.Publishing
					f.Node, f.FeedStatus = n.Node, st
					f.Publishing = pub
				}
			}
		}
		f.Feed, f.Event = f.Name, ""
	}
	return out
}

func (a *API) switchFeed(c *call) {
	var req FeedSwitchRequest
	if !decodeBody(c, &req) {
		return
	}
	if !slices.Contains([]string{control.FeedPrimary, control.FeedBackup}, req.Active) {
		writeProblem(c.w, http.StatusUnprocessableEntity, "active must be primary or backup",
			FieldError{Field: "active", Message: "must be primary or backup, got " + req.Active})
		return
	}
	reason := req.Reason
	if reason == "" {
		reason = "operator"
	}
	args := control.ActiveFeedArgs{ID: c.r.PathValue("id"), Feed: req.Active, Reason: reason, By: c.who.actor()}
	a.write(c, control.CmdSetActiveFeed, args, func(d *control.Document) any { return redactEvent(d.Events[args.ID]) })
}
