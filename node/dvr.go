package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/pkg/dvr"
)

// The DVR store of an ingest node (ingest.dvr), and clips: an operator's
// clip request reaches every ingest node of the event (each keeps what it
// published), through the internal API.

// openDVR opens the DVR store when ingest.dvr.dir is set.
func (n *running) openDVR() error {
	c := n.cfg.Ingest.DVR
	if c.Dir == "" {
		return nil
	}
	dc := dvr.DefaultConfig()
	dc.Dir, dc.MaxBytes, dc.EventBytes = c.Dir, int64(c.MaxBytes), int64(c.EventBytes)
	st, err := dvr.Open(dc, n.log.With("component", "dvr"))
	if err != nil {
		return fmt.Errorf("node: ingest.dvr: %w", err)
	}
	if rec := st.Recovery(); rec != (dvr.Recovery{}) {
		n.log.Warn("dvr store repaired at open", "recovery", fmt.Sprintf("%+v", rec))
	}
	n.dvr = st
	return nil
}

func (n *running) closeDVR() {
	if n.dvr != nil {
		if err := n.dvr.Close(); err != nil {
			n.log.Warn("closing the dvr store", "err", err)
		}
		n.dvr = nil
	}
}

const pathClips = "/internal/v1/clips/" // + event

// clipRequest is the internal API's body.
type clipRequest struct {
	Op   string    `json:"op"` // add, delete
	Name string    `json:"name"`
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// internalClips serves GET (list) and POST (add or delete) of an event's
// clips on an ingest node.
func (n *running) internalClips(ctx *fasthttp.RequestCtx, event string, _ identity.Peer) {
	if n.ingest == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node does not ingest")
		return
	}
	if ctx.IsGet() {
		writeJSON(ctx, fasthttp.StatusOK, nonNil(n.ingest.Clips(event)))
		return
	}
	var req clipRequest
	if err := strictJSON(ctx.PostBody(), &req); err != nil {
		problem(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	var err error
	switch req.Op {
	case "add":
		err = n.ingest.AddClip(event, req.Name, req.From, req.To)
	case "delete":
		err = n.ingest.DeleteClip(event, req.Name)
	default:
		err = fmt.Errorf("%w: op must be add or delete", ingest.ErrBadClip)
	}
	switch {
	case errors.Is(err, ingest.ErrBadClip):
		problem(ctx, fasthttp.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, ingest.ErrNoDVR), errors.Is(err, ingest.ErrNotFound):
		problem(ctx, fasthttp.StatusNotFound, err.Error())
	case err != nil:
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
	default:
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"node": n.cfg.Node.ID})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// adminClips is admin.Clips over the event's ingest nodes.
type adminClips struct{ n *running }

// ingesters are the members (self included) that ingest event.
func (n *running) ingesters(event string) []string {
	var ids []string
	if n.ingest != nil && n.ingest.Active(event) {
		ids = append(ids, n.cfg.Node.ID)
	}
	for _, m := range n.members() {
		if m.ID != n.cfg.Node.ID && slices.Contains(m.Events, event) && m.MeshAddr != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func (c adminClips) Clip(ctx context.Context, event string, req admin.ClipRequest) ([]admin.NodeClip, error) {
	return c.each(ctx, event, clipRequest{Op: "add", Name: req.Name, From: req.From, To: req.To})
}

func (c adminClips) DeleteClip(ctx context.Context, event, name string) ([]admin.NodeClip, error) {
	return c.each(ctx, event, clipRequest{Op: "delete", Name: name})
}

func (c adminClips) Clips(ctx context.Context, event string) ([]admin.NodeClip, error) {
	return c.each(ctx, event, clipRequest{})
}

// each runs req (empty Op: list) on every ingest node of event.
func (c adminClips) each(ctx context.Context, event string, req clipRequest) ([]admin.NodeClip, error) {
	n := c.n
	ids := n.ingesters(event)
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no ingest node has event %q", admin.ErrNoIngest, event)
	}
	addrs := map[string]string{}
	for _, m := range n.members() {
		addrs[m.ID] = m.MeshAddr
	}
	out := make([]admin.NodeClip, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			nc := admin.NodeClip{Node: id}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			var err error
			if id == n.cfg.Node.ID {
				err = n.localClip(event, req, &nc)
			} else {
				err = n.remoteClip(cctx, addrs[id], event, req, &nc)
			}
			if err != nil {
				nc.Error = err.Error()
			}
			out[i] = nc
		})
	}
	wg.Wait()
	return out, nil
}

func (n *running) localClip(event string, req clipRequest, nc *admin.NodeClip) error {
	switch req.Op {
	case "":
		nc.Clips = toAdminClips(n.ingest.Clips(event))
		return nil
	case "add":
		return n.ingest.AddClip(event, req.Name, req.From, req.To)
	}
	return n.ingest.DeleteClip(event, req.Name)
}

func (n *running) remoteClip(ctx context.Context, addr, event string, req clipRequest, nc *admin.NodeClip) error {
	if req.Op == "" {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+pathClips+event, nil)
		if err != nil {
			return err
		}
		resp, err := n.cluster.Do(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		var cs []ingest.Clip
		if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&cs); err != nil {
			return err
		}
		nc.Clips = toAdminClips(cs)
		return nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	_, err = n.internalCall(ctx, addr, pathClips+event, body)
	return err
}

func toAdminClips(cs []ingest.Clip) []admin.Clip {
	out := make([]admin.Clip, 0, len(cs))
	for _, c := range cs {
		out = append(out, admin.Clip{Name: c.Name, From: c.From, To: c.To})
	}
	return out
}

var _ admin.Clips = adminClips{}
