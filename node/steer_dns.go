package node

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/steering"
	dnssrv "github.com/ringside-live/ringside/steering/dns"
)

// planMaxAge bounds how long a DNS plan lives while no input version
// moves: CDN capacity follows the HTTP sessions, which have no version.
const planMaxAge = time.Second

// dnsPlanCache holds the DNS server's current plan.
type dnsPlanCache struct {
	cur   atomic.Pointer[dnsPlan]
	mu    sync.Mutex // one builder at a time
	count uint64     // versions built
}

// dnsPlan is what the DNS server answers from: one steering.DNSPlan per
// event, built when the configuration, the mesh, the events or CDN health
// change, the probes' or the viewers' (and at least every planMaxAge). The zone's names below the apex
// are {event} for every event and live (the default event); a query is
// then a region lookup and a hash, with no lock and no allocation.
type dnsPlan struct {
	version         uint64
	doc, topo, hgen uint64
	events          *eventTable
	built           time.Time
	names           []string
	plans           []*steering.DNSPlan    // by name; nil: exists, holds nothing
	counters        [][]prometheus.Counter // by name and choice: decisions by outcome
	blocked         prometheus.Counter
}

// Plan returns the current DNS plan, rebuilt when an input changed.
func (s *steer) Plan() dnssrv.Plan {
	doc, topo := s.in.versions()
	events, hgen, now := s.in.eventTable(), s.health.Generation()+s.qoe.Generation(), time.Now()
	fresh := func(p *dnsPlan) bool {
		return p != nil && p.doc == doc && p.topo == topo && p.events == events && p.hgen == hgen && now.Sub(p.built) < planMaxAge
	}
	c := &s.dnsPlan
	if p := c.cur.Load(); fresh(p) {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.cur.Load(); fresh(p) {
		return p
	}
	c.count++
	p := &dnsPlan{version: c.count, doc: doc, topo: topo, hgen: hgen, events: events, built: now,
		blocked: s.m.decisions.WithLabelValues("dns", "blocked")}
	ids := make([]string, 0, len(events.byID))
	for id := range events.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if _, ok := events.byID["live"]; !ok {
		ids = append(ids, "live")
	}
	for _, name := range ids {
		id, _ := s.nameEvent(name)
		var dp *steering.DNSPlan
		var counters []prometheus.Counter
		if ev := s.in.event(id); ev != nil {
			dp = s.eng.DNSPlan(s.snapshot(ev))
			for i := range dp.Choices() {
				pw, _ := dp.Pathway(i)
				counters = append(counters, s.m.decisions.WithLabelValues("dns", pw.Kind))
			}
		}
		p.names = append(p.names, name)
		p.plans = append(p.plans, dp)
		p.counters = append(p.counters, counters)
	}
	c.cur.Store(p)
	return p
}

func (p *dnsPlan) Version() uint64 { return p.version }
func (p *dnsPlan) Names() []string { return p.names }

// Choose steers one DNS client: its region and a weighted choice that
// is stable for its subnet (steering.DNSPlan).
func (p *dnsPlan) Choose(name int, client netip.Addr, ecs netip.Prefix) (int, int) {
	dp := p.plans[name]
	if dp == nil {
		return -1, 0
	}
	c := dp.Choose(steering.Client{Addr: client, Prefix: ecs})
	if c.Choice < 0 {
		p.blocked.Inc()
	} else {
		p.counters[name][c.Choice].Inc()
	}
	return c.Choice, c.Scope
}

// Answer is the chosen pathway in DNS: the mesh's edge addresses, or a
// CNAME to the chosen CDN; nothing (NODATA) when blocked.
func (p *dnsPlan) Answer(name, choice int) dnssrv.Answer {
	dp := p.plans[name]
	if dp == nil {
		return dnssrv.Answer{}
	}
	pw, ok := dp.Pathway(choice)
	switch {
	case !ok:
		return dnssrv.Answer{}
	case pw.Kind == steering.KindCDN:
		return dnssrv.Answer{CNAME: dnsName(pw.Hostname)}
	}
	return dnssrv.Answer{Addrs: pw.Addrs}
}

// dnsNameServers reads steering.ns: each entry is a name server's name,
// optionally followed by its addresses ("ns1.ringside.test. 192.0.2.53
// 2001:db8::53"), which a name inside the zone needs (they are its glue).
// Without entries the zone's name server is ns1.{zone}. A name inside the
// zone without addresses gets dns_listen's address when that is a
// specific one.
func dnsNameServers(sc SteeringSection) ([]dnssrv.NameServer, error) {
	entries := sc.NS
	if len(entries) == 0 {
		entries = []string{"ns1." + sc.Zone}
	}
	var listen netip.Addr
	if host, _, err := net.SplitHostPort(sc.DNSListen); err == nil {
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			listen = a.Unmap()
		}
	}
	zone := "." + strings.ToLower(sc.Zone)
	var out []dnssrv.NameServer
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) == 0 {
			return nil, fmt.Errorf("node: config: steering.ns: an empty entry")
		}
		ns := dnssrv.NameServer{Name: dnsName(f[0])}
		for _, s := range f[1:] {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("node: config: steering.ns %q: %w", e, err)
			}
			ns.Addrs = append(ns.Addrs, a)
		}
		if len(ns.Addrs) == 0 && listen.IsValid() && strings.HasSuffix(strings.ToLower(ns.Name), zone) {
			ns.Addrs = []netip.Addr{listen}
		}
		out = append(out, ns)
	}
	return out, nil
}

// dnsConfigError says in the operator's keys what to do about a name
// server without an address.
func dnsConfigError(err error) error {
	if strings.Contains(err.Error(), "needs an address") {
		return fmt.Errorf("node: config: steering.ns: %w: write its addresses after the name (\"ns1.ringside.test. 192.0.2.53\"), or give steering.dns_listen a specific address", err)
	}
	return err
}

var _ dnssrv.Plan = (*dnsPlan)(nil)
