package dns

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

func TestAnswers(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		opts    []queryOpt
		rcode   int
		aa      bool
		answers []string
		soaInNs bool
	}{
		{"A", "fight.ringside.test.", miekg.TypeA, nil, miekg.RcodeSuccess, true, []string{"192.0.2.11", "192.0.2.12"}, false},
		{"AAAA", "fight.ringside.test.", miekg.TypeAAAA, nil, miekg.RcodeSuccess, true, []string{"2001:db8::11"}, false},
		{"case insensitive", "FIGHT.RingSide.Test.", miekg.TypeA, nil, miekg.RcodeSuccess, true, []string{"192.0.2.11", "192.0.2.12"}, false},
		{"CNAME to a CDN", "cdn.ringside.test.", miekg.TypeA, nil, miekg.RcodeSuccess, true, []string{"CNAME fight.cdn-a.example."}, false},
		{"CNAME for any type", "cdn.ringside.test.", miekg.TypeTXT, nil, miekg.RcodeSuccess, true, []string{"CNAME fight.cdn-a.example."}, false},
		{"CNAME query", "cdn.ringside.test.", miekg.TypeCNAME, nil, miekg.RcodeSuccess, true, []string{"CNAME fight.cdn-a.example."}, false},
		{"CNAME query, addresses: NODATA", "fight.ringside.test.", miekg.TypeCNAME, nil, miekg.RcodeSuccess, true, nil, true},
		{"per-subnet CNAME", "fight.ringside.test.", miekg.TypeA, []queryOpt{withECS(netip.MustParsePrefix("203.0.113.0/24"))},
			miekg.RcodeSuccess, true, []string{"CNAME fight.cdn-a.example."}, false},
		{"NODATA: no IPv4", "v6only.ringside.test.", miekg.TypeA, nil, miekg.RcodeSuccess, true, nil, true},
		{"NODATA: other type", "fight.ringside.test.", miekg.TypeTXT, nil, miekg.RcodeSuccess, true, nil, true},
		{"NODATA: blocked", "demo.ringside.test.", miekg.TypeA, nil, miekg.RcodeSuccess, true, nil, true},
		{"SOA at apex", "ringside.test.", miekg.TypeSOA, nil, miekg.RcodeSuccess, true,
			[]string{"SOA ns1.ringside.test. hostmaster.ringside.test. 2026031401"}, false},
		{"NS at apex", "ringside.test.", miekg.TypeNS, nil, miekg.RcodeSuccess, true, []string{"NS ns1.ringside.test.", "NS ns.example.net."}, false},
		{"A at apex", "ringside.test.", miekg.TypeA, nil, miekg.RcodeSuccess, true, []string{"192.0.2.1"}, false},
		{"MX at apex", "ringside.test.", miekg.TypeMX, nil, miekg.RcodeSuccess, true, nil, true},
		{"NXDOMAIN", "nope.ringside.test.", miekg.TypeA, nil, miekg.RcodeNameError, true, nil, true},
		{"outside the zone", "example.com.", miekg.TypeA, nil, miekg.RcodeRefused, false, nil, false},
		{"parent of the zone", "test.", miekg.TypeSOA, nil, miekg.RcodeRefused, false, nil, false},
		{"suffix in a label", "xringside.test.", miekg.TypeSOA, nil, miekg.RcodeRefused, false, nil, false},
		{"zone transfer", "ringside.test.", miekg.TypeAXFR, nil, miekg.RcodeRefused, false, nil, false},
		{"chaos class", "ringside.test.", miekg.TypeSOA, []queryOpt{func(m *miekg.Msg) { m.Question[0].Qclass = miekg.ClassCHAOS }},
			miekg.RcodeRefused, false, nil, false},
		{"plan panic", "panic.ringside.test.", miekg.TypeA, nil, miekg.RcodeServerFailure, false, nil, false},
		{"EDNS version 1", "fight.ringside.test.", miekg.TypeA, []queryOpt{func(m *miekg.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().SetVersion(1)
		}}, miekg.RcodeBadVers, false, nil, false},
		{"NOTIFY", "ringside.test.", miekg.TypeSOA, []queryOpt{func(m *miekg.Msg) { m.Opcode = miekg.OpcodeNotify }},
			miekg.RcodeNotImplemented, false, nil, false},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := exchange(t, s, network, tt.qname, tt.qtype, tt.opts...)
				checkResponse(t, r, tt.rcode, tt.aa, tt.answers, tt.soaInNs)
			})
		}
	}
}

// checkResponse checks rcode, flags, answers, the SOA in the authority
// section of negative answers and the TTLs: 20 s answers; negative
// answers min(SOA TTL 20, MINIMUM 30) = 20 (RFC 2308 section 3).
func checkResponse(t *testing.T, r *miekg.Msg, rcode int, aa bool, want []string, soaInNs bool) {
	t.Helper()
	if r.Rcode != rcode {
		t.Fatalf("rcode %s, want %s", miekg.RcodeToString[r.Rcode], miekg.RcodeToString[rcode])
	}
	if r.Authoritative != aa || r.RecursionAvailable || !r.Response {
		t.Fatalf("flags aa=%v ra=%v qr=%v", r.Authoritative, r.RecursionAvailable, r.Response)
	}
	if got := answers(r); !slices.Equal(got, want) {
		t.Fatalf("answers %v, want %v", got, want)
	}
	hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == miekg.TypeSOA
	if hasSOA != soaInNs {
		t.Fatalf("authority %v", r.Ns)
	}
	if hasSOA {
		soa := r.Ns[0].(*miekg.SOA)
		if soa.Hdr.Ttl != 20 || soa.Minttl != 30 {
			t.Fatalf("negative SOA TTL %d MINIMUM %d, want 20 and 30", soa.Hdr.Ttl, soa.Minttl)
		}
	}
	for _, rr := range r.Answer {
		if rr.Header().Ttl != 20 {
			t.Fatalf("TTL %d, want 20: %v", rr.Header().Ttl, rr)
		}
	}
}

func TestECS(t *testing.T) {
	plan := &fakePlan{version: 1}
	s := startServer(t, testConfig(), plan)
	tests := []struct {
		name      string
		ecs       netip.Prefix
		wantQuery netip.Prefix
		scope     uint8
	}{
		{"ipv4 /24", netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("198.51.100.0/24"), 24},
		{"ipv4 /20", netip.MustParsePrefix("198.51.96.0/20"), netip.MustParsePrefix("198.51.96.0/20"), 24},
		{"ipv6 /56", netip.MustParsePrefix("2001:db8:e:100::/56"), netip.MustParsePrefix("2001:db8:e:100::/56"), 24},
		{"source /0: no subnet, scope 0", netip.MustParsePrefix("0.0.0.0/0"), netip.Prefix{}, 0},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := exchange(t, s, network, "fight.ringside.test.", miekg.TypeA, withECS(tt.ecs))
				if got := plan.lastECS(); got != tt.wantQuery || plan.lastClient() != netip.MustParseAddr("127.0.0.1") {
					t.Fatalf("plan got ECS %v client %v", got, plan.lastClient())
				}
				e := ecsOf(r)
				if e == nil {
					t.Fatal("no ECS option in the response")
				}
				fam := uint16(1)
				if tt.ecs.Addr().Is6() {
					fam = 2
				}
				if e.Family != fam || int(e.SourceNetmask) != tt.ecs.Bits() || e.SourceScope != tt.scope ||
					!e.Address.Equal(net.IP(tt.ecs.Addr().AsSlice())) {
					t.Fatalf("ECS echo %v, want %v with scope %d", e, tt.ecs, tt.scope)
				}
			})
		}
	}
	t.Run("no ECS in query, none in answer", func(t *testing.T) {
		r := exchange(t, s, "udp", "fight.ringside.test.", miekg.TypeA, withEDNS(1232))
		if ecsOf(r) != nil || r.IsEdns0() == nil || r.IsEdns0().UDPSize() != 1232 {
			t.Fatalf("opt %v", r.IsEdns0())
		}
		if q := plan.lastECS(); q.IsValid() {
			t.Fatalf("plan got ECS %v", q)
		}
	})
	t.Run("NXDOMAIN does not depend on the subnet: scope 0", func(t *testing.T) {
		r := exchange(t, s, "udp", "nope.ringside.test.", miekg.TypeA, withECS(netip.MustParsePrefix("198.51.100.0/24")))
		if e := ecsOf(r); e == nil || e.SourceScope != 0 {
			t.Fatalf("ECS echo %v", e)
		}
	})
}

// TestCompiledOnce: answers are built once per plan version, name and
// choice; queries after that only choose.
func TestCompiledOnce(t *testing.T) {
	plan := &fakePlan{version: 1}
	cfg := testConfig()
	cfg.UDPListeners = 1
	s := startServer(t, cfg, plan)
	for range 50 {
		exchange(t, s, "udp", "fight.ringside.test.", miekg.TypeA, withECS(netip.MustParsePrefix("198.51.100.0/24")))
		exchange(t, s, "udp", "fight.ringside.test.", miekg.TypeA, withECS(netip.MustParsePrefix("203.0.113.0/24")))
	}
	if n := plan.answers.Load(); n != 2 {
		t.Fatalf("100 queries, 2 choices: %d answers built", n)
	}
	if n := plan.chooses.Load(); n != 100 {
		t.Fatalf("100 queries: %d chooses", n)
	}
}

func TestTruncation(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	tests := []struct {
		name      string
		qname     string
		opts      []queryOpt
		truncated bool
	}{
		{"30 AAAA fit in 1232 with EDNS", "medium.ringside.test.", []queryOpt{withEDNS(1232)}, false},
		{"30 AAAA do not fit in 512", "medium.ringside.test.", nil, true},
		{"60 AAAA exceed our 1232 cap despite 4096", "big.ringside.test.", []queryOpt{withEDNS(4096)}, true},
		{"a small answer fits", "fight.ringside.test.", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, s, "udp", tt.qname, miekg.TypeAAAA, tt.opts...)
			if r.Truncated != tt.truncated {
				t.Fatalf("TC=%v, want %v (%d answers)", r.Truncated, tt.truncated, len(r.Answer))
			}
			if r.Truncated && len(r.Answer) != 0 {
				t.Fatalf("truncated response carries %d answers", len(r.Answer))
			}
			if !r.Truncated {
				return
			}
			// The retry over TCP gets everything.
			full := exchange(t, s, "tcp", tt.qname, miekg.TypeAAAA, tt.opts...)
			want := 30
			if strings.HasPrefix(tt.qname, "big") {
				want = 60
			}
			if full.Truncated || len(full.Answer) != want {
				t.Fatalf("TCP: TC=%v, %d answers, want %d", full.Truncated, len(full.Answer), want)
			}
		})
	}
}

// TestGarbage sends thousands of random and mutated packets over UDP and
// TCP, then checks the server still answers.
func TestGarbage(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	rng := rand.New(rand.NewPCG(3, 4))
	valid, err := new(miekg.Msg).SetQuestion("fight.ringside.test.", miekg.TypeA).SetEdns0(1232, false).Pack()
	if err != nil {
		t.Fatal(err)
	}
	packet := func() []byte {
		if rng.IntN(2) == 0 {
			b := make([]byte, rng.IntN(600))
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			return b
		}
		b := slices.Clone(valid)
		for range 1 + rng.IntN(6) {
			b[rng.IntN(len(b))] = byte(rng.UintN(256))
		}
		if rng.IntN(4) == 0 {
			b = b[:rng.IntN(len(b))]
		}
		return b
	}
	udp, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for range 3000 {
		if _, err := udp.Write(packet()); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		p := packet()
		// Sometimes a lying length prefix (the server waits for bytes
		// that never come, then times out), sometimes an honest one.
		n, honest := len(p), rng.IntN(3) != 0
		if !honest {
			n = rng.IntN(65536)
		}
		c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		c.Write(append([]byte{byte(n >> 8), byte(n)}, p...))
		if honest {
			c.Read(make([]byte, 512))
		}
		c.Close()
	}
	for _, network := range []string{"udp", "tcp"} {
		r := exchange(t, s, network, "fight.ringside.test.", miekg.TypeA)
		if r.Rcode != miekg.RcodeSuccess || len(r.Answer) != 2 {
			t.Fatalf("%s after garbage: %v", network, r)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	// The default name server is inside the zone: it needs an address.
	if err := DefaultConfig().Validate(); err == nil || !strings.Contains(err.Error(), "ns1.ringside.test.: inside the zone") {
		t.Fatalf("default config without a name server address: %v", err)
	}
	bad := Config{Zone: "ringside.test", Listen: "nope", UDPListeners: -1, MaxUDPSize: 100}
	err := bad.Validate()
	for _, want := range []string{"Zone", "Listen", "UDPListeners", "NS", "TTL", "ReadTimeout", "MaxUDPSize", "MaxTCPConns"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	if _, err := New(testConfig(), Deps{}); err == nil || !strings.Contains(err.Error(), "Steerer") {
		t.Fatalf("New without steerer: %v", err)
	}
}

func TestListenBusyPort(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := testConfig()
	cfg.Listen = pc.LocalAddr().String()
	s, err := New(cfg, Deps{Steerer: &fakePlan{version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "dns: listen") {
		t.Fatalf("Run on a busy port: %v", err)
	}
}
