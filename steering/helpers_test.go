package steering

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 20, 0, 0, 0, time.UTC)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// healthMap is a HealthView where listed ids are down.
type healthMap map[string]bool

func (h healthMap) Up(id string) bool { return !h[id] }

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.TTL = 10 * time.Second
	cfg.MinTTL = time.Second
	cfg.StickyTTL = 30 * time.Second
	cfg.Interval = 10 * time.Second
	cfg.MeshHostname = "edge.ringside.test"
	cfg.MeshBaseURL = "https://edge.ringside.test/live/fight/"
	return cfg
}

func newEngine(t testing.TB, cfg Config, clk *clock, h HealthView) *Engine {
	t.Helper()
	e, err := New(cfg, Deps{Now: clk.Now, Rand: rand.New(rand.NewPCG(1, 2)), Health: h})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

// world is a snapshot with two regions, four edges and two CDNs.
func world() Snapshot {
	return Snapshot{
		Event: Event{ID: "fight", State: StateLive},
		Regions: []Region{
			{Name: "eu", CIDRs: []netip.Prefix{pfx("198.51.100.0/24"), pfx("2001:db8:e::/48")}},
			{Name: "us", CIDRs: []netip.Prefix{pfx("203.0.113.0/24"), pfx("10.0.0.0/8")}},
			{Name: "us-east", CIDRs: []netip.Prefix{pfx("10.1.0.0/16")}},
		},
		CDNs: []CDN{
			{ID: "cdn-a", Hostname: "fight.cdn-a.example", BaseURL: "https://fight.cdn-a.example/live/fight/", Weight: 100, State: CDNActive},
			{ID: "cdn-b", Hostname: "fight.cdn-b.example", BaseURL: "https://fight.cdn-b.example/live/fight/", Weight: 100, State: CDNActive},
		},
		Edges: []Edge{
			{ID: "eu-1", Region: "eu", Addr: addr("192.0.2.11"), BaseURL: "https://eu-1.ringside.test/live/fight/", Load: 0.2, Alive: true},
			{ID: "eu-2", Region: "eu", Addr: addr("192.0.2.12"), BaseURL: "https://eu-2.ringside.test/live/fight/", Load: 0.5, Alive: true},
			{ID: "us-1", Region: "us", Addr: addr("192.0.2.21"), BaseURL: "https://us-1.ringside.test/live/fight/", Load: 0.1, Alive: true},
			{ID: "us-2", Region: "us", Addr: addr("192.0.2.22"), BaseURL: "https://us-2.ringside.test/live/fight/", Load: 0.3, Alive: true},
		},
		Version: 1,
	}
}

// meshOnly is world without CDNs.
func meshOnly() Snapshot {
	s := world()
	s.CDNs = nil
	s.Version = 100
	return s
}

func sessionID(i int) string { return fmt.Sprintf("s%05d", i) }

// clientN is the i-th client of a population, all in region eu.
func clientN(i int) Client {
	return Client{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)}), Session: sessionID(i)}
}

func primary(d Decision) string {
	if len(d.Pathways) == 0 {
		return ""
	}
	return d.Pathways[0].ID
}
