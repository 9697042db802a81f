package node

// Clips: an operator's clip request reaches every ingest node of the event
// (each keeps what it published) through the internal API, and each of
// them relays the clip's pin to the DVR mirrors.

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
	case "add", "delete":
		err = n.changeClip(n.ctx, event, req)
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
				err = n.localClip(cctx, event, req, &nc)
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

func (n *running) localClip(ctx context.Context, event string, req clipRequest, nc *admin.NodeClip) error {
	if req.Op == "" {
		nc.Clips = toAdminClips(n.ingest.Clips(event))
		return nil
	}
	return n.changeClip(ctx, event, req)
}

// changeClip adds or deletes a clip in this ingest node's DVR and relays
// its pin to the other members: their DVR mirrors keep (or release) the
// clip's segments, and the owners of the rendition's DVR forms, which
// mirror all of it, serve the clip when no ingest node answers.
func (n *running) changeClip(ctx context.Context, event string, req clipRequest) error {
	var err error
	if req.Op == "add" {
		err = n.ingest.AddClip(event, req.Name, req.From, req.To)
	} else {
		err = n.ingest.DeleteClip(event, req.Name)
	}
	if err == nil {
		n.relayPin(ctx, event, req)
	}
	return err
}

// pathDVRPins takes an ingest node's clip pins (+ event).
const pathDVRPins = "/internal/v1/dvr-pins/"

// relayPinTimeout bounds each relay: within the 5 s an ingest node's
// caller gives it (budgetControl).
const relayPinTimeout = 3 * time.Second

// relayPin sends a clip's pin (add) or its removal (delete) to every other
// member, at most relayPinTimeout each, in parallel. A member without a
// DVR store, or without the event in it, answers 404: it mirrors nothing
// to keep. A failure is logged; the clip stays on the ingest nodes.
func (n *running) relayPin(ctx context.Context, event string, req clipRequest) {
	body, err := json.Marshal(req)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, m := range n.members() {
		if m.ID == n.cfg.Node.ID || m.MeshAddr == "" {
			continue
		}
		wg.Go(func() {
			err := n.mirrorSend(ctx, relayPinTimeout, http.MethodPost, "https://"+m.MeshAddr+pathDVRPins+event, body,
				"Content-Type", "application/json")
			if err != nil {
				n.log.Warn("clip pin not relayed to a mirror", "event", event, "clip", req.Name, "op", req.Op, "member", m.ID, "err", err)
			}
		})
	}
	wg.Wait()
}

// internalDVRPin pins (or unpins) a clip in this node's DVR mirror.
func (n *running) internalDVRPin(ctx *fasthttp.RequestCtx, event string, _ identity.Peer) {
	if n.dvr == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node keeps no DVR (ingest.dvr.dir)")
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
		err = n.dvr.Pin(event, req.Name, req.From, req.To)
	case "delete":
		err = n.dvr.Unpin(event, req.Name)
	default:
		problem(ctx, fasthttp.StatusBadRequest, "op must be add or delete")
		return
	}
	switch {
	case err == nil:
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	case errors.Is(err, dvr.ErrNotFound):
		problem(ctx, fasthttp.StatusNotFound, err.Error())
	case errors.Is(err, dvr.ErrInvalid), errors.Is(err, dvr.ErrTooManyPins):
		problem(ctx, fasthttp.StatusUnprocessableEntity, err.Error())
	default:
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
	}
}

func (n *running) remoteClip(ctx context.Context, addr, event string, req clipRequest, nc *admin.NodeClip) error {
	if req.Op == "" {
		b, _, err := n.internalGet(ctx, addr, pathClips+event, 1<<20)
		if err != nil {
			return err
		}
		var cs []ingest.Clip
		if err := json.Unmarshal(b, &cs); err != nil {
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
