package steering

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBlocked(t *testing.T) {
	eu := Client{Addr: addr("198.51.100.7")}
	nowhere := Client{Addr: addr("192.0.2.1")}
	tests := []struct {
		name   string
		edit   func(*Event)
		c      Client
		reason string // "" = not blocked
	}{
		{"live", func(*Event) {}, eu, ""},
		{"rehearsal", func(e *Event) { e.State = StateRehearsal }, eu, ""},
		{"scheduled", func(e *Event) { e.State = "scheduled" }, eu, "event fight is scheduled, not live"},
		{"ended", func(e *Event) { e.State = "ended" }, eu, "event fight is ended, not live"},
		{"no state", func(e *Event) { e.State = "" }, eu, "no state"},
		{"blackout", func(e *Event) { e.BlackoutRegions = []string{"us", "eu"} }, eu, "region eu is blacked out"},
		{"blackout elsewhere", func(e *Event) { e.BlackoutRegions = []string{"us"} }, eu, ""},
		{"blackout, unknown region plays", func(e *Event) { e.BlackoutRegions = []string{"us"} }, nowhere, ""},
		{"allowed", func(e *Event) { e.AllowedRegions = []string{"eu"} }, eu, ""},
		{"not allowed", func(e *Event) { e.AllowedRegions = []string{"us"} }, eu, "region eu is not allowed"},
		{"unknown region not allowed", func(e *Event) { e.AllowedRegions = []string{"eu"} }, nowhere, "no known region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, testConfig(), newClock(), nil)
			s := world()
			tt.edit(&s.Event)
			d := e.Decide(s, tt.c)
			if tt.reason == "" {
				if d.Blocked || len(d.Pathways) == 0 {
					t.Fatalf("blocked %v (%s), pathways %v", d.Blocked, d.BlockReason, d.Pathways)
				}
				return
			}
			if !d.Blocked || !strings.Contains(d.BlockReason, tt.reason) || len(d.Pathways) != 0 {
				t.Fatalf("blocked %v reason %q, want %q; pathways %v", d.Blocked, d.BlockReason, tt.reason, d.Pathways)
			}
		})
	}
}

func TestMeshPathway(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAddrs = 3
	s := meshOnly()
	s.Edges = append(s.Edges,
		Edge{ID: "eu-hot", Region: "eu", Addr: addr("192.0.2.13"), Load: 0.95, Alive: true},
		Edge{ID: "eu-dead", Region: "eu", Addr: addr("192.0.2.14"), Load: 0, Alive: false},
		Edge{ID: "eu-drained", Region: "eu", Addr: addr("192.0.2.15"), Load: 0, Alive: true, Drain: true},
	)
	tests := []struct {
		name  string
		c     Client
		first []string // allowed first addresses
		addrs []string // the rest, in order
	}{
		{"eu client: eu edges first, then the least loaded", Client{Addr: addr("198.51.100.7")},
			[]string{"192.0.2.11", "192.0.2.12"}, nil},
		{"us client", Client{Addr: addr("203.0.113.7")}, []string{"192.0.2.21", "192.0.2.22"}, nil},
		{"no region: least loaded", Client{Addr: addr("192.0.2.1")}, []string{"192.0.2.21", "192.0.2.11", "192.0.2.22", "192.0.2.12"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, cfg, newClock(), nil)
			for range 50 {
				d := e.Decide(s, tt.c)
				if len(d.Pathways) != 1 || d.Pathways[0].Kind != KindMesh {
					t.Fatalf("pathways %+v", d.Pathways)
				}
				p := d.Pathways[0]
				if len(p.Addrs) != 3 || p.Hostname != "edge.ringside.test" {
					t.Fatalf("addrs %v hostname %q", p.Addrs, p.Hostname)
				}
				if !containsAddr(tt.first, p.Addrs[0]) {
					t.Fatalf("first addr %v, want one of %v", p.Addrs[0], tt.first)
				}
				for _, a := range p.Addrs {
					if s := a.String(); s == "192.0.2.13" || s == "192.0.2.14" || s == "192.0.2.15" {
						t.Fatalf("hot, dead or drained edge %v offered", a)
					}
				}
			}
		})
	}
	t.Run("region order then load", func(t *testing.T) {
		e := newEngine(t, cfg, newClock(), nil)
		d := e.Decide(s, Client{Addr: addr("198.51.100.7")})
		got := d.Pathways[0].Addrs
		// eu-1 or eu-2 first (headroom-weighted), the other eu edge next, then us-1 (least loaded).
		if got[2] != addr("192.0.2.21") || !containsAddr([]string{"192.0.2.11", "192.0.2.12"}, got[1]) {
			t.Fatalf("addrs %v", got)
		}
	})
}

func containsAddr(list []string, a netip.Addr) bool {
	for _, s := range list {
		if addr(s) == a {
			return true
		}
	}
	return false
}

func TestEveryEdgeHot(t *testing.T) {
	s := meshOnly()
	for i := range s.Edges {
		s.Edges[i].Load = 0.99
	}
	e := newEngine(t, testConfig(), newClock(), nil)
	d := e.Decide(s, Client{Addr: addr("198.51.100.7")})
	if primary(d) != MeshID || !strings.Contains(d.Pathways[0].Why, "full") {
		t.Fatalf("want the mesh as a last resort, got %+v", d.Pathways)
	}
	s.Edges = nil
	s.Version++
	d = e.Decide(s, Client{Addr: addr("198.51.100.7")})
	if len(d.Pathways) != 0 || d.Blocked {
		t.Fatalf("no edges, no CDNs: %+v", d)
	}
}

func TestWeightedChoice(t *testing.T) {
	cfg := testConfig()
	cfg.MeshWeight = 50
	s := world()
	s.CDNs[0].Weight = 150 // cdn-a
	s.CDNs[1].Weight = 0   // cdn-b: fallback only
	e := newEngine(t, cfg, newClock(), nil)
	got := map[string]int{}
	const n = 4000
	for range n {
		d := e.Decide(s, Client{Addr: addr("198.51.100.7")})
		got[primary(d)]++
		if ids := pathwayIDs(d); ids[len(ids)-1] != "cdn-b" || len(ids) != 3 {
			t.Fatalf("priority %v: the weight-0 CDN must come last", ids)
		}
	}
	if got["cdn-b"] != 0 {
		t.Fatalf("weight 0 chosen %d times", got["cdn-b"])
	}
	if frac := float64(got["cdn-a"]) / n; frac < 0.72 || frac > 0.78 {
		t.Fatalf("cdn-a got %.3f of sessionless clients, want ~0.75 (%v)", frac, got)
	}
}

func pathwayIDs(d Decision) []string {
	var ids []string
	for _, p := range d.Pathways {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestCDNEligibility(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Snapshot)
		health healthMap
		want   []string // pathway ids, order of weight
	}{
		{"all", func(*Snapshot) {}, nil, []string{"mesh", "cdn-a", "cdn-b"}},
		{"disabled", func(s *Snapshot) { s.CDNs[0].State = CDNDisabled }, nil, []string{"mesh", "cdn-b"}},
		{"draining gets no new session", func(s *Snapshot) { s.CDNs[0].State = CDNDraining }, nil, []string{"mesh", "cdn-b"}},
		{"unknown state", func(s *Snapshot) { s.CDNs[0].State = "paused" }, nil, []string{"mesh", "cdn-b"}},
		{"unhealthy", nil, healthMap{"cdn-b": true}, []string{"mesh", "cdn-a"}},
		{"bad id", func(s *Snapshot) { s.CDNs[0].ID = "cdn a" }, nil, []string{"mesh", "cdn-b"}},
		{"id mesh", func(s *Snapshot) { s.CDNs[0].ID = MeshID }, nil, []string{"mesh", "cdn-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := world()
			if tt.edit != nil {
				tt.edit(&s)
			}
			var h HealthView
			if tt.health != nil {
				h = tt.health
			}
			e := newEngine(t, testConfig(), newClock(), h)
			seen := map[string]bool{}
			for range 300 {
				for _, id := range pathwayIDs(e.Decide(s, Client{Addr: addr("198.51.100.7")})) {
					seen[id] = true
				}
			}
			if len(seen) != len(tt.want) {
				t.Fatalf("pathways seen %v, want %v", seen, tt.want)
			}
			for _, id := range tt.want {
				if !seen[id] {
					t.Fatalf("pathways seen %v, want %v", seen, tt.want)
				}
			}
		})
	}
}

func TestStickiness(t *testing.T) {
	clk := newClock()
	e := newEngine(t, testConfig(), clk, nil)
	s := world()
	const n = 300
	first := make([]Decision, n)
	for i := range n {
		first[i] = e.Decide(s, clientN(i))
	}
	counts := map[string]int{}
	for round := 1; round <= 10; round++ {
		clk.Add(5 * time.Second) // players poll twice per TTL
		for i := range n {
			d := e.Decide(s, clientN(i))
			if primary(d) != primary(first[i]) {
				t.Fatalf("round %d: session %d moved %s -> %s (%v)", round, i, primary(first[i]), primary(d), d.Reasons)
			}
			if d.Pathways[0].Kind == KindMesh && d.Pathways[0].Addrs[0] != first[i].Pathways[0].Addrs[0] {
				t.Fatalf("round %d: session %d changed edge", round, i)
			}
			if d.Pathways[0].Why != "sticky" {
				t.Fatalf("why %q", d.Pathways[0].Why)
			}
			counts[primary(d)]++
		}
	}
	if len(counts) != 3 {
		t.Fatalf("sessions spread %v, want all three pathways used", counts)
	}
	if st := e.Stats(); st.Sessions != n {
		t.Fatalf("stats %+v", st)
	}

	// Idle past StickyTTL: forgotten.
	clk.Add(31 * time.Second)
	if st := e.Stats(); st.Sessions != 0 {
		t.Fatalf("sessions after idle: %d", st.Sessions)
	}
}

func TestSnapshotVersionCache(t *testing.T) {
	e := newEngine(t, testConfig(), newClock(), nil)
	s := world()
	s.Version = 7
	e.Decide(s, Client{Addr: addr("198.51.100.7")})
	// Same version, different regions: the cached view is used (Version
	// must change with the content).
	s2 := s
	s2.Regions = nil
	if d := e.Decide(s2, Client{Addr: addr("198.51.100.7")}); d.Region != "eu" {
		t.Fatalf("cached view not used: region %q", d.Region)
	}
	s2.Version = 8
	if d := e.Decide(s2, Client{Addr: addr("198.51.100.7")}); d.Region != "" {
		t.Fatalf("new version not compiled: region %q", d.Region)
	}
	s2.Version = 0
	s2.Regions = s.Regions
	if d := e.Decide(s2, Client{Addr: addr("198.51.100.7")}); d.Region != "eu" {
		t.Fatalf("version 0 not compiled: region %q", d.Region)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{TTL: time.Second, MinTTL: 2 * time.Second, MaxShiftPerInterval: 2, HighWater: 1.5}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"StickyTTL", "Interval", "MinTTL 2s longer", "MaxSessions", "MaxShiftPerInterval", "HighWater", "SessionMbps", "MaxAddrs",
		"SessionsPerNetwork", "NetworkBits4", "NetworkBits6"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := New(bad, Deps{}); err == nil {
		t.Fatal("New accepted a bad config")
	}
}
