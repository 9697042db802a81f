package admintest

import (
	"net/netip"

	"github.com/ringside-live/ringside/admin"
)

// Steering is a fake admin.Steering that knows a fixed set of events.
type Steering struct {
	Events map[string]bool
}

// Simulation is what the fake's Simulate answers.
type Simulation struct {
	Event   string `json:"event"`
	Client  string `json:"client"`
	Subnet  string `json:"subnet,omitempty"`
	Session string `json:"session,omitempty"`
}

// CDNHealth is one entry of the fake's Health.
type CDNHealth struct {
	ID string `json:"id"`
	Up bool   `json:"up"`
}

// Simulate implements admin.Steering.
func (s *Steering) Simulate(event string, client netip.Addr, subnet netip.Prefix, session string) (any, error) {
	if !s.Events[event] {
		return nil, admin.ErrUnknownEvent
	}
	sim := Simulation{Event: event, Client: client.String(), Session: session}
	if subnet.IsValid() {
		sim.Subnet = subnet.String()
	}
	return sim, nil
}

// Health implements admin.Steering.
func (s *Steering) Health() any { return []CDNHealth{{ID: "cdn-a", Up: true}} }
