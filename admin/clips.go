package admin

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Clips acts on the clips of an event on every ingest node that has it
// (each keeps the DVR of what it published). nil: the clip routes answer
// 404.
type Clips interface {
	Clip(ctx context.Context, event string, req ClipRequest) ([]NodeClip, error)
	DeleteClip(ctx context.Context, event, name string) ([]NodeClip, error)
	Clips(ctx context.Context, event string) ([]NodeClip, error)
}

// ErrNoIngest: no ingest node has the event (Clips answers 404).
var ErrNoIngest = errors.New("admin: no ingest node has the event")

// ClipRequest is the body of POST /admin/v1/events/{id}/clips.
type ClipRequest struct {
	Name string    `json:"name"` // [a-z0-9][a-z0-9_-]{0,39}
	From time.Time `json:"from"` // RFC 3339
	To   time.Time `json:"to"`
}

// Clip is one kept range of an event.
type Clip struct {
	Name string    `json:"name"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// NodeClip is one ingest node's answer.
type NodeClip struct {
	Node  string `json:"node"`
	Clips []Clip `json:"clips,omitempty"`
	Error string `json:"error,omitempty"`
}

// ClipsResponse answers the clip routes.
type ClipsResponse struct {
	Event string `json:"event"`
	// Playlist is where a clip is served, beside each live playlist X.m3u8
	// of the event: X.clip-NAME.m3u8 (VOD).
	Playlist string     `json:"playlist,omitempty"`
	Nodes    []NodeClip `json:"nodes"`
}

const noClips = "this node cannot reach the event's ingest nodes"

func (a *API) clipsAnswer(c *call, status int, playlist string, nodes []NodeClip, err error) {
	id := c.r.PathValue("id")
	switch {
	case errors.Is(err, ErrNoIngest):
		writeProblem(c.w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeProblem(c.w, http.StatusBadGateway, err.Error())
		return
	}
	ok := 0
	var last string
	for _, n := range nodes {
		if n.Error == "" {
			ok++
		} else {
			last = n.Node + ": " + n.Error
		}
	}
	if ok == 0 && len(nodes) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "no ingest node took it: "+last)
		return
	}
	writeJSON(c.w, status, ClipsResponse{Event: id, Playlist: playlist, Nodes: nodes})
}

func (a *API) listClips(c *call) {
	if a.clips == nil {
		writeProblem(c.w, http.StatusNotFound, noClips)
		return
	}
	nodes, err := a.clips.Clips(c.ctx, c.r.PathValue("id"))
	a.clipsAnswer(c, http.StatusOK, "", nodes, err)
}

func (a *API) createClip(c *call) {
	if a.clips == nil {
		writeProblem(c.w, http.StatusNotFound, noClips)
		return
	}
	var req ClipRequest
	if !decodeBody(c, &req) {
		return
	}
	if req.Name == "" || req.From.IsZero() || req.To.IsZero() {
		writeProblem(c.w, http.StatusUnprocessableEntity, "name, from and to are required",
			FieldError{Field: "name", Message: "required, with from and to (RFC 3339)"})
		return
	}
	nodes, err := a.clips.Clip(c.ctx, c.r.PathValue("id"), req)
	a.clipsAnswer(c, http.StatusCreated, "X.clip-"+req.Name+".m3u8 beside each X.m3u8", nodes, err)
}

func (a *API) deleteClip(c *call) {
	if a.clips == nil {
		writeProblem(c.w, http.StatusNotFound, noClips)
		return
	}
	nodes, err := a.clips.DeleteClip(c.ctx, c.r.PathValue("id"), c.r.PathValue("name"))
	a.clipsAnswer(c, http.StatusOK, "", nodes, err)
}
