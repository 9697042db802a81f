package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/strictjson"
)

// Cluster is the mesh as this node sees it, and the actions the API takes
// on every member.
type Cluster interface {
	// Members is the gossip view, this node included.
	Members() []Member
	// Voters are the ids of the control voters other than this node, the
	// known leader first: where writes and consistent reads are forwarded.
	Voters() []string
	// AdminURL is the base URL ("http://host:port") of node id's admin
	// API, "" when unknown. With admin.listen set it is not the HTTP
	// listener, which refuses /admin/.
	AdminURL(id string) string
	// Drain sets the gossip-only drain flag of any member (this node or a
	// peer) until it restarts; ErrUnknownNode when no live member has id.
	Drain(ctx context.Context, id string, drain bool) error
	// Purge removes target from the cache here and on every member, in
	// parallel; key: one key, else every key under the prefix target. The
	// map has one entry per node.
	Purge(ctx context.Context, target string, key bool) map[string]PurgeResult
}

// ErrUnknownNode is what Cluster.Drain returns for an id no live member
// has; the API answers 404.
var ErrUnknownNode = errors.New("admin: no live member with that id")

// Member is one member of the mesh, as Cluster.Members reports it.
type Member struct {
	ID     string
	Roles  []string
	Tier   string
	Region string
	HTTP   string // host:port of its public HTTP listener
	Gossip string // host:port of its gossip listener
	State  string // alive, suspect, dead, left
	Load   float64
	Drain  bool
	Events []string // the events it ingests
	// Identity is the node's certificate check as the node reports it:
	// "verified", "pending", "no certificate", "mismatch: certificate
	// names edge-3", "roles not certified: control,shield". The API shows
	// it as it is.
	Identity string
	// CertRoles are the roles the node's certificate grants.
	CertRoles []string
}

// nodes answers the gossip view, the config version this node serves and
// the control leader it knows.
func (a *API) nodes(c *call) {
	out := NodesResponse{Self: a.cfg.NodeID, Nodes: []NodeView{}}
	for _, m := range a.cluster.Members() {
		out.Nodes = append(out.Nodes, NodeView{ID: m.ID, Roles: m.Roles, Tier: m.Tier, Region: m.Region, HTTP: m.HTTP,
			Gossip: m.Gossip, State: m.State, Load: m.Load, Drain: m.Drain, Events: m.Events, Identity: m.Identity,
			CertRoles: m.CertRoles, Self: m.ID == a.cfg.NodeID})
	}
	if a.control != nil {
		out.ConfigVersion = a.control.Current().Version
		out.ControlLeader = a.control.Leader()
		if d, ok := a.control.Divergence(); ok {
			out.ControlDivergence = &d
		}
	}
	writeJSON(c.w, http.StatusOK, out)
}

// drain sets a node's drain flag in the configuration document (it
// survives restarts); without a control plane, through gossip alone.
func (a *API) drain(c *call, drain bool) {
	id := c.r.PathValue("id")
	if a.control == nil {
		a.drainGossip(c, id, drain)
		return
	}
	known := false
	for _, m := range a.cluster.Members() {
		known = known || m.ID == id
	}
	if !known {
		_, known = a.control.Current().Nodes[id]
	}
	if !known {
		writeProblem(c.w, http.StatusNotFound, "no member with id "+id)
		return
	}
	a.write(c, control.CmdSetNodeDrain, control.NodeDrainArgs{NodeID: id, Drain: drain},
		func(d *control.Document) any { return DrainResponse{ID: id, Drain: d.Nodes[id].Drain} })
}

// drainGossip drains a node through gossip alone: the flag lasts until the
// node restarts. Another node's drain is an internal call only a control
// voter may make, so it is forwarded to one when there is one.
func (a *API) drainGossip(c *call, id string, drain bool) {
	if id != a.cfg.NodeID && a.forwardToVoter(c) {
		return
	}
	err := a.cluster.Drain(c.ctx, id, drain)
	switch {
	case errors.Is(err, ErrUnknownNode):
		writeProblem(c.w, http.StatusNotFound, "no live member with id "+id)
	case err != nil && id == a.cfg.NodeID:
		a.log.Error("setting the drain flag", "drain", drain, "err", err)
		writeProblem(c.w, http.StatusInternalServerError, err.Error())
	case err != nil:
		action := map[bool]string{true: "drain", false: "undrain"}[drain]
		writeProblem(c.w, http.StatusBadGateway, fmt.Sprintf("telling %s to %s: %v", id, action, err))
	default:
		writeJSON(c.w, http.StatusOK, DrainResponse{ID: id, Drain: drain})
	}
}

// purge removes a key, a prefix or an event's keys from every node's
// cache: 200 when all purged, 207 when some failed. The fan-out is an
// internal call only a control voter may make: any other node forwards the
// purge to one.
func (a *API) purge(c *call) {
	if a.forwardToVoter(c) {
		return
	}
	var req PurgeRequest
	if err := strictJSON(c.body, &req); err != nil {
		writeProblem(c.w, http.StatusBadRequest, "purge: "+err.Error())
		return
	}
	target, err := req.Target()
	if err != nil {
		writeProblem(c.w, http.StatusBadRequest, "purge: "+err.Error())
		return
	}
	out := PurgeResponse{Target: target, Nodes: a.cluster.Purge(c.ctx, target, req.Key != "")}
	status := http.StatusOK
	for _, r := range out.Nodes {
		out.Purged += r.Purged
		if r.Error != "" {
			status = http.StatusMultiStatus
		}
	}
	if out.Nodes == nil {
		out.Nodes = map[string]PurgeResult{}
	}
	writeJSON(c.w, status, out)
}

// strictJSON decodes a body: one JSON value, no unknown fields, no key
// twice in an object (see strictjson).
func strictJSON(b []byte, v any) error {
	if err := strictjson.Decode(b, v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}
