package node

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/route"
	"github.com/ringside-live/ringside/steering"
	dnssrv "github.com/ringside-live/ringside/steering/dns"
	"github.com/ringside-live/ringside/steering/limiter"
)

// steerInputs is what the steer role reads of its node: the events, the
// configuration document, the routing table (the mesh's edges), and the
// versions of the document and the table, which say when they changed.
type steerInputs interface {
	event(id string) *Event
	eventTable() *eventTable
	document() *control.Document // nil without a control plane
	table() *route.Table
	versions() (doc, table uint64)
}

// steer is the steer role: one decision engine behind the DNS server, the
// playback API, redirects and content-steering manifests.
type steer struct {
	masters parsedMasters // parsed master playlists of the steered routes
	cfg     SteeringSection
	in      steerInputs
	log     *slog.Logger
	eng     *steering.Engine
	health  *steering.Health
	qoe     *steering.RegionDown // CDNs down in a region by viewers' telemetry
	prober  *steering.Prober
	dns     *dnssrv.Server // nil without steering.dns_listen
	limiter *rateLimiter   // the node's /steer budget
	// clients gives each client network its own share of the node's
	// budget, so one greedy client is refused before it spends everyone
	// else's; nil without max_rps.
	clients *limiter.Limiter
	m       *steerMetrics
	cache   snapCache
	// manifests caches steering manifest bodies per pathway order.
	manifests manifestCache
	dnsPlan   dnsPlanCache
}

func newSteer(sc SteeringSection, in steerInputs, reg prometheus.Registerer, log *slog.Logger) (*steer, error) {
	ttl := time.Duration(sc.TTL)
	ec := steering.DefaultConfig()
	ec.TTL, ec.MinTTL, ec.StickyTTL, ec.Interval = ttl, min(2*time.Second, ttl), 3*ttl, ttl
	ec.MeshWeight, ec.MeshHostname = sc.MeshWeight, "live."+strings.TrimSuffix(sc.Zone, ".")
	health, err := steering.NewHealth(steering.HealthConfig{DownAfter: sc.DownAfter, UpAfter: sc.UpAfter})
	if err != nil {
		return nil, err
	}
	qoe := steering.NewRegionDown() // the viewers' telemetry, per region (telemetry.go)
	eng, err := steering.New(ec, steering.Deps{Health: health, RegionHealth: qoe})
	if err != nil {
		return nil, err
	}
	s := &steer{cfg: sc, in: in, log: log, eng: eng, health: health, qoe: qoe, limiter: newRateLimiter(sc.MaxRPS)}
	if sc.MaxRPS > 0 {
		if s.clients, err = limiter.New(clientLimits(sc.MaxRPS)); err != nil {
			return nil, err
		}
	}
	s.m = newSteerMetrics(reg, s)
	pc := steering.DefaultProberConfig()
	pc.Canary, pc.Interval, pc.Timeout = sc.Canary, time.Duration(sc.ProbeInterval), time.Duration(sc.ProbeTimeout)
	s.prober, err = steering.NewProber(pc, steering.ProberDeps{Client: route.NewClient(pc.Timeout), Health: health,
		Targets: s.cdns, Logger: log.With("component", "prober")})
	if err != nil {
		return nil, err
	}
	if sc.DNSListen != "" {
		dc := dnssrv.DefaultConfig()
		dc.Zone, dc.Listen, dc.TTL = sc.Zone, sc.DNSListen, time.Duration(sc.DNSTTL)
		dc.Hostmaster = "hostmaster." + sc.Zone
		if dc.NS, err = dnsNameServers(sc); err != nil {
			return nil, err
		}
		if s.dns, err = dnssrv.New(dc, dnssrv.Deps{Steerer: s, Logger: log.With("component", "dns")}); err != nil {
			return nil, dnsConfigError(err)
		}
	}
	return s, nil
}

// run starts the prober and the DNS server; they stop with ctx.
func (s *steer) run(ctx context.Context, wg *sync.WaitGroup) error {
	wg.Add(1)
	go func() { defer wg.Done(); s.prober.Run(ctx) }()
	if s.dns == nil {
		return nil
	}
	return startService(ctx, wg, s.log, "dns", s.dns.Run, s.dns.Ready())
}

// cdns lists the configured CDNs (for the prober and snapshots).
func (s *steer) cdns() []steering.CDN {
	d := s.in.document()
	if d == nil {
		return nil
	}
	ids := make([]string, 0, len(d.CDNs))
	for id := range d.CDNs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]steering.CDN, 0, len(ids))
	for _, id := range ids {
		c := d.CDNs[id]
		out = append(out, steering.CDN{ID: c.ID, Hostname: c.Hostname, BaseURL: strings.TrimRight(c.BaseURL, "/"),
			Weight: c.Weight, CapacityMbps: c.CapacityMbps, State: string(c.State), Clone: c.Clone})
	}
	return out
}

// snapCache keeps the engine's input per event until the configuration,
// the mesh or the event table changes, so DNS queries and /play requests
// do not rebuild it from the document and the member list every time.
type snapCache struct {
	mu     sync.Mutex
	doc    uint64
	topo   uint64
	events *eventTable
	gen    uint64 // the snapshots' Version: bumped whenever any input changed
	snaps  map[string]steering.Snapshot
}

// snapshot returns the engine's input for ev, built once per change.
func (s *steer) snapshot(ev *Event) steering.Snapshot {
	doc, topo := s.in.versions()
	events := s.in.eventTable()
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snaps == nil || c.doc != doc || c.topo != topo || c.events != events {
		c.doc, c.topo, c.events, c.snaps = doc, topo, events, map[string]steering.Snapshot{}
		c.gen++
	}
	snap, ok := c.snaps[ev.ID]
	if !ok {
		snap = s.buildSnapshot(ev, c.gen)
		c.snaps[ev.ID] = snap
	}
	return snap
}

// buildSnapshot is what the engine decides on for one event: the event's
// rules, regions and CDNs from the configuration, the mesh's edges from
// gossip.
func (s *steer) buildSnapshot(ev *Event, version uint64) steering.Snapshot {
	snap := steering.Snapshot{Event: ev.steering(), CDNs: s.cdns(), Version: version}
	if d := s.in.document(); d != nil {
		for _, r := range d.Regions {
			snap.Regions = append(snap.Regions, steering.Region{Name: r.Name, CIDRs: r.CIDRs})
		}
		sort.Slice(snap.Regions, func(i, j int) bool { return snap.Regions[i].Name < snap.Regions[j].Name })
	}
	for _, m := range s.in.table().Members() {
		if !m.HasRole(mesh.RoleEdge) {
			continue
		}
		host, _, err := net.SplitHostPort(m.HTTPAddr)
		addr, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || addr.IsUnspecified() {
			continue
		}
		e := steering.Edge{ID: m.ID, Region: m.Region, Addr: addr,
			BaseURL: "http://" + m.HTTPAddr, Load: m.Load, Drain: m.Drain, Alive: m.State == mesh.StateAlive}
		if m.HTTPSAddr != "" {
			e.TLSBaseURL = "https://" + m.HTTPSAddr
		}
		snap.Edges = append(snap.Edges, e)
	}
	return snap
}

// decide runs the engine for a client of event id; output names the
// wire it answers on, for metrics.
func (s *steer) decide(output, id string, c steering.Client) (steering.Decision, *Event, bool) {
	ev := s.in.event(id)
	if ev == nil {
		return steering.Decision{}, nil, false
	}
	d := s.eng.Decide(s.snapshot(ev), c)
	s.m.count(output, d)
	return d, ev, true
}

// defaultEvent is the event of live.{zone}: the configured one, or the
// only event.
func (s *steer) defaultEvent() string {
	if e := s.cfg.DefaultEvent; e != "" {
		return e
	}
	t := s.in.eventTable()
	if len(t.byID) == 1 {
		for id := range t.byID {
			return id
		}
	}
	return ""
}

// nameEvent says whether a name in the zone (relative to it, lower case:
// "" for the apex) exists, and the event it names ("" for none).
func (s *steer) nameEvent(relative string) (id string, exists bool) {
	switch {
	case relative == "":
		return "", true
	case strings.Contains(relative, "."):
		return "", false
	case s.in.event(relative) != nil:
		return relative, true
	case relative == "live":
		return s.defaultEvent(), true
	}
	return "", false
}

func dnsName(h string) string {
	if strings.HasSuffix(h, ".") {
		return h
	}
	return h + "."
}

// clientLimits is the /steer budget of one client network (an IPv4
// address, an IPv6 /48): 1% of the node's max_rps, at least one request a
// second, in bursts of two seconds' worth (at least 10). A player reloads
// its steering manifest once per steering TTL, so this is thousands of
// players behind one NAT; a client asking more is refused with 429 before
// it spends the node's budget.
func clientLimits(maxRPS int) limiter.Config {
	c := limiter.DefaultConfig()
	c.Rate = max(1, float64(maxRPS)/100)
	c.Burst = max(10, int(2*c.Rate))
	return c
}

// shed says why a /steer request from addr is refused at now, or "": its
// client network's budget first (so a greedy client does not spend the
// node's), then the node's.
func (s *steer) shed(addr netip.Addr, now time.Time) string {
	if s.clients != nil && !s.clients.Allow(addr, now) {
		s.m.shed.WithLabelValues("client").Inc()
		return "too many steering requests from this client network; retry after Retry-After"
	}
	if !s.limiter.allow(now) {
		s.m.shed.WithLabelValues("node").Inc()
		return "steering is shedding load; retry after the TTL"
	}
	return ""
}

// rateLimiter is a token bucket refilled every second; it sheds steering
// requests beyond max per second.
type rateLimiter struct {
	mu    sync.Mutex
	max   int
	left  int
	reset time.Time
}

func newRateLimiter(max int) *rateLimiter { return &rateLimiter{max: max} }

func (r *rateLimiter) allow(now time.Time) bool {
	if r.max == 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.After(r.reset) {
		r.left, r.reset = r.max, now.Add(time.Second)
	}
	if r.left == 0 {
		return false
	}
	r.left--
	return true
}

var _ dnssrv.Steerer = (*steer)(nil)
