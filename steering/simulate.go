package steering

import (
	"fmt"
	"strings"
)

// Simulation is a decision with its workings, for operators
// (GET /admin/v1/steering/simulate).
type Simulation struct {
	Decision   Decision
	Candidates []CandidateInfo
	// Text explains the decision in a few lines of plain English.
	Text string
}

// CandidateInfo is one pathway as the engine saw it.
type CandidateInfo struct {
	ID, Kind     string
	Weight       int
	NewSessions  bool // takes new sessions
	KeepSessions bool // sessions on it may stay
	Sessions     int  // sticky sessions on it now
	Mbps         float64
	CapacityMbps int64 // 0 = unlimited or the mesh
	State        string
}

// Simulate returns the decision Decide would make for c without recording
// anything: the session table is left as it was, so an operator can ask
// about any client or session.
func (e *Engine) Simulate(s Snapshot, c Client) Simulation {
	d, cands := e.decide(&s, c, false)
	sim := Simulation{Decision: d}
	e.mu.Lock()
	for _, cd := range cands {
		ci := CandidateInfo{
			ID: cd.id, Kind: cd.kind, Weight: cd.weight, NewSessions: cd.fresh, KeepSessions: cd.keep,
			Sessions: e.sessions.count[cd.id], Mbps: e.sessions.mbps[cd.id], State: cd.why,
		}
		if cd.cdn != nil {
			ci.CapacityMbps = cd.cdn.CapacityMbps
		}
		sim.Candidates = append(sim.Candidates, ci)
	}
	e.mu.Unlock()
	sim.Text = explain(&sim, c)
	return sim
}

func explain(sim *Simulation, c Client) string {
	var b strings.Builder
	d := &sim.Decision
	who := c.Addr.String()
	if c.Prefix.IsValid() {
		who += " (client subnet " + c.Prefix.String() + ")"
	}
	if c.Session != "" {
		who += ", session " + c.Session
	}
	fmt.Fprintf(&b, "Client %s.\n", who)
	for _, r := range d.Reasons {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	switch {
	case d.Blocked:
		fmt.Fprintf(&b, "Blocked: %s.\n", d.BlockReason)
	case len(d.Pathways) == 0:
		b.WriteString("No pathway can serve this client.\n")
	default:
		p := d.Pathways[0]
		fmt.Fprintf(&b, "Send to %s (%s) for %v.\n", p.ID, p.Why, d.TTL)
		for _, f := range d.Pathways[1:] {
			fmt.Fprintf(&b, "Then %s.\n", f.ID)
		}
	}
	for _, ci := range sim.Candidates {
		fmt.Fprintf(&b, "  %-12s weight %4d  sessions %6d  %8.0f Mbps  new:%-5v  %s\n",
			ci.ID, ci.Weight, ci.Sessions, ci.Mbps, ci.NewSessions, ci.State)
	}
	return b.String()
}
