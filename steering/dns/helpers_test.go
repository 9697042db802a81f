package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// fakeResolver answers from a fixed table and remembers the last query.
type fakeResolver struct {
	mu   sync.Mutex
	last Query
}

var bigAddrs = func() []netip.Addr {
	var out []netip.Addr
	for i := range 60 {
		out = append(out, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}))
	}
	return out
}()

func (f *fakeResolver) Resolve(_ context.Context, q Query) (Answer, error) {
	f.mu.Lock()
	f.last = q
	f.mu.Unlock()
	switch q.Relative {
	case "":
		return Answer{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, nil
	case "fight.live":
		a := Answer{Addrs: []netip.Addr{
			netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("2001:db8::11"),
		}}
		if q.ECS.IsValid() {
			a.ECSScope = 24
		}
		return a, nil
	case "cdn.fight":
		return Answer{CNAME: "fight.cdn-a.example"}, nil
	case "alias":
		return Answer{CNAME: "fight.live.ringside.test."}, nil
	case "loop":
		return Answer{CNAME: "loop.ringside.test."}, nil
	case "big":
		return Answer{Addrs: bigAddrs}, nil
	case "medium":
		return Answer{Addrs: bigAddrs[:30]}, nil
	case "v6only":
		return Answer{Addrs: bigAddrs[:1]}, nil
	case "fail":
		return Answer{}, errors.New("config store unreachable")
	case "panic":
		panic("resolver bug")
	}
	return Answer{NXDomain: true}, nil
}

func (f *fakeResolver) lastQuery() Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.UDPListeners = 2
	cfg.TTL = 20 * time.Second
	cfg.NS = []string{"ns1.ringside.test.", "ns2.ringside.test."}
	cfg.Serial = 2026031401
	return cfg
}

// startServer runs a server on the loopback interface until the test ends.
func startServer(t testing.TB, cfg Config, res Resolver) *Server {
	t.Helper()
	s, err := New(cfg, Deps{Resolver: res})
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
