package admin

import (
	"errors"
	"net/http"
	"net/netip"
)

// Steering is the steer role of this node.
type Steering interface {
	// Simulate answers what a client would get for event, and why,
	// without recording a session; ErrUnknownEvent for an unknown event.
	// subnet is the ECS prefix, invalid when not given.
	Simulate(event string, client netip.Addr, subnet netip.Prefix, session string) (any, error)
	// Health is every CDN's health as steering sees it (hysteresis
	// state, flaps), answered as {"cdns": Health()}.
	Health() any
}

// ErrUnknownEvent is what Steering.Simulate returns for an event it does
// not know; the API answers 422.
var ErrUnknownEvent = errors.New("admin: no such event")

const noSteer = "this node does not have the steer role"

// simulate answers ?event=ID&client=IP[&subnet=CIDR][&session=S].
func (a *API) simulate(c *call) {
	if a.steering == nil {
		writeProblem(c.w, http.StatusNotFound, noSteer)
		return
	}
	q := c.r.URL.Query()
	event := q.Get("event")
	if event == "" {
		writeProblem(c.w, http.StatusUnprocessableEntity, "no such event", FieldError{Field: "event", Message: "must name an event"})
		return
	}
	addr, err := netip.ParseAddr(q.Get("client"))
	if err != nil {
		writeProblem(c.w, http.StatusUnprocessableEntity, "client must be an IP address", FieldError{Field: "client", Message: err.Error()})
		return
	}
	subnet, _ := netip.ParsePrefix(q.Get("subnet")) // optional; invalid = none
	sim, err := a.steering.Simulate(event, addr, subnet, q.Get("session"))
	switch {
	case errors.Is(err, ErrUnknownEvent):
		writeProblem(c.w, http.StatusUnprocessableEntity, "no such event", FieldError{Field: "event", Message: "must name an event"})
	case err != nil:
		a.log.Error("simulating steering", "event", event, "err", err)
		writeProblem(c.w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(c.w, http.StatusOK, sim)
	}
}

func (a *API) steeringHealth(c *call) {
	if a.steering == nil {
		writeProblem(c.w, http.StatusNotFound, noSteer)
		return
	}
	writeJSON(c.w, http.StatusOK, SteeringHealthResponse{CDNs: a.steering.Health()})
}
