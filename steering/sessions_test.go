package steering

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestInventedSessionsCannotFillCapacity: one client inventing session
// ids (40 × 5 Mbps would fill a 200 Mbps CDN) holds at most
// SessionsPerNetwork of them, so a real player elsewhere is still steered
// to the CDN; the inventor's extra sessions are still answered, just not
// remembered or counted.
func TestInventedSessionsCannotFillCapacity(t *testing.T) {
	cfg := testConfig()
	cfg.MeshWeight = 0 // the mesh is only the fallback: a full CDN sends players there
	e := newEngine(t, cfg, newClock(), nil)
	s := world()
	s.CDNs = s.CDNs[:1]
	s.CDNs[0].CapacityMbps = 200
	attacker := addr("198.51.100.66")
	for i := range 40 {
		d := e.Decide(s, Client{Addr: attacker, Session: fmt.Sprintf("invented-%d", i)})
		if d.Blocked || len(d.Pathways) == 0 {
			t.Fatalf("invented session %d got no answer: %+v", i, d)
		}
	}
	st := e.Stats()
	if st.Sessions != cfg.SessionsPerNetwork || st.Mbps["cdn-a"] > float64(cfg.SessionsPerNetwork)*cfg.SessionMbps {
		t.Fatalf("one client holds %d sessions (%v Mbps on cdn-a), want at most %d", st.Sessions, st.Mbps["cdn-a"], cfg.SessionsPerNetwork)
	}
	if st.OverNetworkCap != uint64(40-cfg.SessionsPerNetwork) {
		t.Fatalf("OverNetworkCap %d, want %d", st.OverNetworkCap, 40-cfg.SessionsPerNetwork)
	}
	if got := primary(e.Decide(s, Client{Addr: addr("203.0.113.9"), Session: "real-player"})); got != "cdn-a" {
		t.Fatalf("a real player was steered to %s: invented sessions filled the CDN", got)
	}
}

// TestSessionsPerNetwork: the cap counts per IPv4 address and per IPv6
// /48 (IPv4-mapped addresses are IPv4); a remembered session stays sticky
// from another network; a network gets room again as its sessions expire.
func TestSessionsPerNetwork(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	cfg.SessionsPerNetwork = 2
	e := newEngine(t, cfg, clk, nil)
	s := world()
	remembered := func(id string) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.sessions.get(id) != nil
	}
	tests := []struct {
		addr, session string
		want          bool
	}{
		{"198.51.100.1", "a1", true},
		{"::ffff:198.51.100.1", "a2", true}, // the same address
		{"198.51.100.1", "a3", false},
		{"198.51.100.2", "b1", true}, // the next address is another network
		{"2001:db8:1:1::1", "c1", true},
		{"2001:db8:1:ffff::2", "c2", true}, // the same /48
		{"2001:db8:1:2::3", "c3", false},
		{"2001:db8:2::1", "d1", true}, // another /48
		{"203.0.113.5", "a1", true},   // a remembered session from elsewhere: still sticky
	}
	for _, tt := range tests {
		e.Decide(s, Client{Addr: addr(tt.addr), Session: tt.session})
		if got := remembered(tt.session); got != tt.want {
			t.Fatalf("session %s from %s remembered %v, want %v", tt.session, tt.addr, got, tt.want)
		}
	}
	clk.Add(cfg.StickyTTL)
	e.Decide(s, Client{Addr: addr("198.51.100.1"), Session: "a4"})
	if !remembered("a4") {
		t.Fatal("the network has no room after its sessions expired")
	}
}

func TestHealthStatusJSON(t *testing.T) {
	h, err := NewHealth(HealthConfig{DownAfter: 1, UpAfter: 1})
	if err != nil {
		t.Fatal(err)
	}
	h.Observe("cdn-a", false)
	got, err := json.Marshal(h.Status())
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"id":"cdn-a","up":false,"flaps":1,"streak":0}]`; string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
