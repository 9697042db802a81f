package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/ringside-live/ringside/control"
)

// Control is this node's view of the control plane: a Raft voter's store,
// or the followed copy of a node without the control role.
type Control interface {
	// Current is the newest document this node serves; never nil.
	Current() *control.Document
	// Voter reports whether this node is a Raft voter: Apply,
	// ReadConsistent and History work only here.
	Voter() bool
	// Apply commits cmd (voters only); a *control.NotLeaderError when this
	// voter is not the leader.
	Apply(ctx context.Context, cmd control.Command) (control.Result, error)
	// ReadConsistent returns the document after confirming leadership and
	// waiting for everything committed before the call (voters only); a
	// *control.NotLeaderError when this voter is not the leader.
	ReadConsistent(ctx context.Context) (*control.Document, error)
	// History is the last limit applied changes, oldest first (voters
	// only).
	History(limit int) []control.Change
	// Leader is the leader's node id as this node knows it, "" unknown.
	Leader() string
	// Divergence reports a Raft log divergence this voter detected.
	Divergence() (control.Divergence, bool)
}

// readDoc is the document a read answers from: the local copy, or with
// ?consistent=true the leader's linearizable one (forwarded there from any
// other node). It reports false when it has answered already.
func (a *API) readDoc(c *call) (*control.Document, bool) {
	if a.control == nil {
		writeProblem(c.w, http.StatusServiceUnavailable, "no control plane on this node: set control.data_dir")
		return nil, false
	}
	consistent, ok := consistentParam(c)
	if !ok {
		return nil, false
	}
	if !consistent {
		return a.control.Current(), true
	}
	return a.readConsistent(c)
}

// readConsistent reads on the leader, forwarding from anywhere else.
func (a *API) readConsistent(c *call) (*control.Document, bool) {
	if !a.control.Voter() {
		a.forward(c, a.cluster.Voters())
		return nil, false
	}
	d, err := a.control.ReadConsistent(c.ctx)
	var nl *control.NotLeaderError
	switch {
	case errors.As(err, &nl):
		a.forwardToLeader(c, nl)
		return nil, false
	case err != nil:
		commandProblem(c.w, err)
		return nil, false
	}
	return d, true
}

// consistentParam parses ?consistent=; it answers 400 for a bad value.
func consistentParam(c *call) (bool, bool) {
	v := c.r.URL.Query().Get("consistent")
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		writeProblem(c.w, http.StatusBadRequest, "consistent must be true or false",
			FieldError{Field: "consistent", Message: "must be true or false"})
		return false, false
	}
	return b, true
}

// config answers the whole document, signing secrets left out.
func (a *API) config(c *call) {
	d, ok := a.readDoc(c)
	if !ok {
		return
	}
	setETag(c.w, d.Version)
	writeJSON(c.w, http.StatusOK, ConfigResponse{Version: d.Version, UpdatedAt: d.UpdatedAt, Leader: a.control.Leader(),
		Document: configDocument(d)})
}

// configDocument is d without signing secrets.
func configDocument(d *control.Document) ConfigDocument {
	return ConfigDocument{Events: redactEvents(d.Events), Regions: d.Regions, CDNs: d.CDNs, Nodes: d.Nodes, SigningKeys: keyIDs(d)}
}

func keyIDs(d *control.Document) SigningKeyIDs {
	k := SigningKeyIDs{MaxTokenTTL: control.Duration(d.Signing.TokenTTL())}
	if d.Signing.Current != nil {
		k.Current = &KeyID{ID: d.Signing.Current.ID}
	}
	for i, r := range d.Signing.Retired() {
		id := KeyID{ID: r.ID, RetiredAt: r.RetiredAt, ValidUntil: r.ValidUntil}
		if i == 0 {
			k.Previous = &id
		} else {
			k.Older = append(k.Older, id)
		}
	}
	return k
}

// history answers the last applied changes; only voters keep them, so any
// other node forwards.
func (a *API) history(c *call) {
	if a.control == nil {
		writeProblem(c.w, http.StatusServiceUnavailable, "no control plane on this node: set control.data_dir")
		return
	}
	if !a.control.Voter() {
		a.forward(c, a.cluster.Voters())
		return
	}
	consistent, ok := consistentParam(c)
	if !ok {
		return
	}
	d := a.control.Current()
	if consistent {
		if d, ok = a.readConsistent(c); !ok {
			return
		}
	}
	limit, err := strconv.Atoi(c.r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	writeJSON(c.w, http.StatusOK, HistoryResponse{Version: d.Version, Changes: a.control.History(limit)})
}

// sortedValues lists m's values by key.
func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func (a *API) listEvents(c *call) {
	if d, ok := a.readDoc(c); ok {
		setETag(c.w, d.Version)
		writeJSON(c.w, http.StatusOK, EventsResponse{Version: d.Version, Events: sortedValues(redactEvents(d.Events))})
	}
}

func (a *API) listRegions(c *call) {
	if d, ok := a.readDoc(c); ok {
		setETag(c.w, d.Version)
		writeJSON(c.w, http.StatusOK, RegionsResponse{Version: d.Version, Regions: sortedValues(d.Regions)})
	}
}

func (a *API) listCDNs(c *call) {
	if d, ok := a.readDoc(c); ok {
		setETag(c.w, d.Version)
		writeJSON(c.w, http.StatusOK, CDNsResponse{Version: d.Version, CDNs: sortedValues(d.CDNs)})
	}
}

func (a *API) getEvent(c *call) {
	d, ok := a.readDoc(c)
	if !ok {
		return
	}
	id := c.r.PathValue("id")
	ev, ok := d.Events[id]
	if !ok {
		writeProblem(c.w, http.StatusNotFound, "no event "+id)
		return
	}
	setETag(c.w, d.Version)
	writeJSON(c.w, http.StatusOK, redactEvent(ev))
}
