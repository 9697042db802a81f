package steering

import (
	"strings"
	"testing"
)

func TestSimulate(t *testing.T) {
	clk := newClock()
	e := newEngine(t, testConfig(), clk, nil)
	s := world()
	s.CDNs[1].State = CDNDraining
	c := Client{Addr: addr("203.0.113.1"), Prefix: pfx("198.51.100.0/24"), Session: "abc"}

	sim := e.Simulate(s, c)
	if st := e.Stats(); st.Sessions != 0 {
		t.Fatalf("Simulate recorded a session: %+v", st)
	}
	for _, want := range []string{"client subnet 198.51.100.0/24", "session abc", "region eu", "cdn-b: draining", "Send to"} {
		if !strings.Contains(sim.Text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, sim.Text)
		}
	}
	if len(sim.Candidates) != 3 {
		t.Fatalf("candidates %+v", sim.Candidates)
	}

	d := e.Decide(s, c)
	sim = e.Simulate(s, c)
	if primary(sim.Decision) != primary(d) || sim.Decision.Pathways[0].Why != "sticky" {
		t.Fatalf("simulated %s (%s) for a session on %s", primary(sim.Decision), sim.Decision.Pathways[0].Why, primary(d))
	}

	s.Event.State = "ended"
	sim = e.Simulate(s, c)
	if !sim.Decision.Blocked || !strings.Contains(sim.Text, "Blocked: event fight is ended") {
		t.Fatalf("blocked simulation:\n%s", sim.Text)
	}
}
