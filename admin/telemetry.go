package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ringside-live/ringside/telemetry"
)

// Telemetry is the mesh-wide viewer telemetry this node merges (steer and
// control nodes).
type Telemetry interface {
	// View is the telemetry of event ("" = every event) as of now.
	View(event string) TelemetryView
}

// TelemetryView is GET /admin/v1/telemetry and each event of the stream:
// the merged figures of the last seconds, grouped several ways (see
// telemetry.Row: viewers over the last 30 s, Short = 10 s, Long = 60 s).
type TelemetryView struct {
	Event string    `json:"event,omitempty"`
	At    time.Time `json:"at"`
	// Total is the event (or every event) as one row.
	Total           telemetry.Row   `json:"total"`
	ByEvent         []telemetry.Row `json:"by_event,omitempty"` // only without ?event=
	ByRegion        []telemetry.Row `json:"by_region"`
	ByPathway       []telemetry.Row `json:"by_pathway"`
	ByRegionPathway []telemetry.Row `json:"by_region_pathway"`
	ByRendition     []telemetry.Row `json:"by_rendition"`
	// Health is the viewers' health of every (pathway, region) judged so
	// far, with hysteresis (down, streak, flaps); steering avoids a CDN in
	// a region where it is down.
	Health []telemetry.HealthStatus `json:"health"`
	// Nodes are the nodes whose deltas arrive.
	Nodes []telemetry.NodeStatus `json:"nodes"`
}

const noTelemetry = "this node merges no telemetry: ask a node with the steer or control role"

// streamPath is the one route that answers for as long as the client
// listens; see IsStream.
const streamPath = prefix + "telemetry/stream"

// StreamLimit bounds one telemetry stream; the client reconnects (SSE's
// retry) after it.
const StreamLimit = 30 * time.Minute

// IsStream reports whether r asks for a route that streams (the telemetry
// stream): the node must not give it the deadline of one call.
func IsStream(r *http.Request) bool {
	return strings.TrimRight(r.URL.Path, "/") == streamPath
}

// telemetryView answers GET /admin/v1/telemetry[?event=ID].
func (a *API) telemetryView(c *call) {
	if a.telemetry == nil {
		writeProblem(c.w, http.StatusNotFound, noTelemetry)
		return
	}
	writeJSON(c.w, http.StatusOK, a.telemetry.View(c.r.URL.Query().Get("event")))
}

// telemetryStream answers GET /admin/v1/telemetry/stream[?event=ID] with
// Server-Sent Events: one "telemetry" event a second, each a
// TelemetryView, until the client leaves, the node stops or StreamLimit.
func (a *API) telemetryStream(c *call) {
	if a.telemetry == nil {
		writeProblem(c.w, http.StatusNotFound, noTelemetry)
		return
	}
	fl, ok := c.w.(http.Flusher)
	if !ok {
		writeProblem(c.w, http.StatusInternalServerError, "this server cannot stream")
		return
	}
	event := c.r.URL.Query().Get("event")
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	if _, err := c.w.Write([]byte("retry: 1000\n\n")); err != nil {
		return
	}
	fl.Flush()
	ctx := c.r.Context() // not the call's budget: a stream lasts
	end := time.NewTimer(StreamLimit)
	defer end.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		b, err := json.Marshal(a.telemetry.View(event))
		if err != nil {
			return
		}
		msg := make([]byte, 0, len(b)+32)
		msg = append(append(append(msg, "event: telemetry\ndata: "...), b...), "\n\n"...)
		if _, err := c.w.Write(msg); err != nil {
			return // the client left
		}
		fl.Flush()
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}
