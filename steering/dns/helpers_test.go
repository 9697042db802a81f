package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// fakePlan is a fixed plan. Its names:
//
//	""        the apex: 192.0.2.1
//	fight     two choices: addresses (192.0.2.11, 192.0.2.12, 2001:db8::11),
//	          or, for the client subnet 203.0.113.0/24, a CNAME to a CDN;
//	          scope 24 with ECS
//	live      the same as fight
//	cdn       CNAME fight.cdn-a.example.
//	big       60 AAAA; medium 30 AAAA; v6only one AAAA
//	demo      NODATA for everyone (a blocked event)
//	panic     Choose panics
type fakePlan struct {
	version uint64
	chooses atomic.Int64
	answers atomic.Int64
	mu      sync.Mutex
	last    netip.Prefix
	lastIP  netip.Addr
}

var planNames = []string{"", "fight", "live", "cdn", "big", "medium", "v6only", "demo", "panic"}

var bigAddrs = func() []netip.Addr {
	var out []netip.Addr
	for i := range 60 {
		out = append(out, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}))
	}
	return out
}()

var cdnSubnet = netip.MustParsePrefix("203.0.113.0/24")

func (p *fakePlan) Plan() Plan      { return p }
func (p *fakePlan) Version() uint64 { return p.version }
func (p *fakePlan) Names() []string { return planNames }

func (p *fakePlan) Choose(name int, client netip.Addr, ecs netip.Prefix) (int, int) {
	p.chooses.Add(1)
	p.mu.Lock()
	p.last, p.lastIP = ecs, client
	p.mu.Unlock()
	switch planNames[name] {
	case "panic":
		panic("plan bug")
	case "fight", "live":
		scope := 0
		if ecs.IsValid() {
			scope = 24
			if cdnSubnet.Contains(ecs.Addr()) {
				return 1, scope
			}
		}
		return 0, scope
	}
	return 0, 0
}

func (p *fakePlan) Answer(name, choice int) Answer {
	p.answers.Add(1)
	switch planNames[name] {
	case "":
		return Answer{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	case "fight", "live":
		if choice == 1 {
			return Answer{CNAME: "fight.cdn-a.example"}
		}
		return Answer{Addrs: []netip.Addr{
			netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("2001:db8::11"),
		}}
	case "cdn":
		return Answer{CNAME: "fight.cdn-a.example."}
	case "big":
		return Answer{Addrs: bigAddrs}
	case "medium":
		return Answer{Addrs: bigAddrs[:30]}
	case "v6only":
		return Answer{Addrs: bigAddrs[:1]}
	}
	return Answer{}
}

func (p *fakePlan) lastECS() netip.Prefix {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *fakePlan) lastClient() netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastIP
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.UDPListeners = 2
	cfg.TTL = 20 * time.Second
	cfg.NS = []NameServer{
		{Name: "ns1.ringside.test.", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}},
		{Name: "ns.example.net."},
	}
	cfg.Serial = 2026031401
	return cfg
}

// startServer runs a server on the loopback interface until the test ends.
func startServer(t testing.TB, cfg Config, st Steerer) *Server {
	t.Helper()
	s, err := New(cfg, Deps{Steerer: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	return s
}

type queryOpt func(*miekg.Msg)

func withEDNS(size uint16) queryOpt {
	return func(m *miekg.Msg) { m.SetEdns0(size, false) }
}

func withECS(p netip.Prefix) queryOpt {
	return func(m *miekg.Msg) {
		opt := m.IsEdns0()
		if opt == nil {
			m.SetEdns0(1232, false)
			opt = m.IsEdns0()
		}
		fam := uint16(1)
		if p.Addr().Is6() {
			fam = 2
		}
		opt.Option = append(opt.Option, &miekg.EDNS0_SUBNET{Code: miekg.EDNS0SUBNET, Family: fam,
			SourceNetmask: uint8(p.Bits()), Address: net.IP(p.Addr().AsSlice())})
	}
}

func exchange(t testing.TB, s *Server, network, name string, qtype uint16, opts ...queryOpt) *miekg.Msg {
	t.Helper()
	m := new(miekg.Msg).SetQuestion(name, qtype)
	for _, o := range opts {
		o(m)
	}
	c := &miekg.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, s.Addr().String())
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, miekg.TypeToString[qtype], err)
	}
	return r
}

// exchangeRaw sends a packet over UDP and returns the raw response.
func exchangeRaw(t testing.TB, s *Server, packet []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(packet); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	return buf[:n]
}

func answers(r *miekg.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *miekg.A:
			out = append(out, v.A.String())
		case *miekg.AAAA:
			out = append(out, v.AAAA.String())
		case *miekg.CNAME:
			out = append(out, "CNAME "+v.Target)
		case *miekg.NS:
			out = append(out, "NS "+v.Ns)
		case *miekg.SOA:
			out = append(out, fmt.Sprintf("SOA %s %s %d", v.Ns, v.Mbox, v.Serial))
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

func ecsOf(r *miekg.Msg) *miekg.EDNS0_SUBNET {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*miekg.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
