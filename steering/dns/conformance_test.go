package dns

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// The conformance tests send packets built by hand where miekg's client
// would pack a well-formed query (or read a response leniently) and so
// hide the defect: ISC's EDNS compliance checks, RFCs 1034, 2308, 3225,
// 4035, 6891, 7766, 7871, 8020, 8482 and 8945.

// rawQuery builds a query: header flags, one question, and the given
// additional records (already in wire form).
func rawQuery(flags uint16, qname string, qtype uint16, additional ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0xbeef)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, 0, 1, 0, 0, 0, 0, 0, byte(len(additional)))
	w, err := wireName(qname)
	if err != nil {
		panic(err)
	}
	b = append(b, w...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, classIN)
	for _, rr := range additional {
		b = append(b, rr...)
	}
	return b
}

// optRR is an OPT record: buffer size, the TTL word (extended rcode,
// version, DO and Z flags) and options.
func optRR(size uint16, ttl uint32, options ...[]byte) []byte {
	var rdata []byte
	for _, o := range options {
		rdata = append(rdata, o...)
	}
	b := []byte{0, 0, typeOPT}
	b = binary.BigEndian.AppendUint16(b, size)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

// ecsRaw is a client subnet option with exactly the address octets given.
func ecsRaw(family uint16, source, scope uint8, addr ...byte) []byte {
	b := []byte{0, optECS}
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(addr)))
	b = binary.BigEndian.AppendUint16(b, family)
	b = append(b, source, scope)
	return append(b, addr...)
}

func unpack(t *testing.T, b []byte) *miekg.Msg {
	t.Helper()
	m := new(miekg.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatalf("response does not unpack: %v (% x)", err, b)
	}
	return m
}

const doBit = 0x8000

// TestNSGlue: ns1.{zone} has the configured addresses, and an NS answer
// carries them as glue (a name server named inside its own zone without
// an address is a lame delegation).
func TestNSGlue(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	r := exchange(t, s, "udp", "ringside.test.", miekg.TypeNS, withEDNS(1232))
	var glue []string
	for _, rr := range r.Extra {
		switch v := rr.(type) {
		case *miekg.A:
			glue = append(glue, v.Hdr.Name+" "+v.A.String())
		case *miekg.AAAA:
			glue = append(glue, v.Hdr.Name+" "+v.AAAA.String())
		}
	}
	if want := []string{"ns1.ringside.test. 192.0.2.53", "ns1.ringside.test. 2001:db8::53"}; !slices.Equal(glue, want) {
		t.Fatalf("glue %v, want %v", glue, want)
	}
	for _, tc := range []struct {
		qtype uint16
		want  []string
	}{{miekg.TypeA, []string{"192.0.2.53"}}, {miekg.TypeAAAA, []string{"2001:db8::53"}}, {miekg.TypeANY, []string{"192.0.2.53"}}} {
		r := exchange(t, s, "udp", "NS1.ringside.test.", tc.qtype)
		checkResponse(t, r, miekg.RcodeSuccess, true, tc.want, false)
	}
	checkResponse(t, exchange(t, s, "udp", "ns1.ringside.test.", miekg.TypeMX), miekg.RcodeSuccess, true, nil, true)

	cfg := testConfig()
	cfg.NS = []NameServer{{Name: "ns1.ringside.test."}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "needs an address") {
		t.Fatalf("in-zone NS without an address: %v", err)
	}
}

// TestNothingBelow: RFC 8020, a name that does not exist has nothing
// below it, and a name below an existing one does not exist either; the
// ancestors of a name exist (empty non-terminals answer NODATA).
func TestNothingBelow(t *testing.T) {
	cfg := testConfig()
	cfg.NS = append(cfg.NS, NameServer{Name: "a.dns.ringside.test.", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.54")}})
	s := startServer(t, cfg, &fakePlan{version: 1})
	for _, tc := range []struct {
		name  string
		rcode int
		want  []string
	}{
		{"live.nope.ringside.test.", miekg.RcodeNameError, nil},
		{"demo.x.y.ringside.test.", miekg.RcodeNameError, nil},
		{"x.live.ringside.test.", miekg.RcodeNameError, nil},
		{"www.fight.ringside.test.", miekg.RcodeNameError, nil},
		{"a.b.c.demo.ringside.test.", miekg.RcodeNameError, nil},
		{"fight.fight.ringside.test.", miekg.RcodeNameError, nil},
		{"x.ns1.ringside.test.", miekg.RcodeNameError, nil},
		{"dns.ringside.test.", miekg.RcodeSuccess, nil}, // empty non-terminal
		{"a.dns.ringside.test.", miekg.RcodeSuccess, []string{"192.0.2.54"}},
		{"b.dns.ringside.test.", miekg.RcodeNameError, nil},
		{"live.ringside.test.", miekg.RcodeSuccess, []string{"192.0.2.11", "192.0.2.12"}},
	} {
		for _, network := range []string{"udp", "tcp"} {
			r := exchange(t, s, network, tc.name, miekg.TypeA)
			if r.Rcode != tc.rcode || !slices.Equal(answers(r), tc.want) || (tc.want == nil && len(r.Ns) != 1) {
				t.Errorf("%s %s: %s %v, authority %v; want %s %v", network, tc.name, miekg.RcodeToString[r.Rcode], answers(r), r.Ns,
					miekg.RcodeToString[tc.rcode], tc.want)
			}
		}
	}
}

// TestNegativeTTL: RFC 2308 section 3, the SOA of a negative answer
// has the TTL min(SOA TTL, MINIMUM): 20 with a 20 s TTL and MINIMUM 30;
// 10 with MINIMUM 10.
func TestNegativeTTL(t *testing.T) {
	for _, tc := range []struct {
		neg  time.Duration
		want uint32
	}{{30 * time.Second, 20}, {10 * time.Second, 10}} {
		cfg := testConfig()
		cfg.NegativeTTL = tc.neg
		s := startServer(t, cfg, &fakePlan{version: 1})
		for _, name := range []string{"nope.ringside.test.", "demo.ringside.test.", "ringside.test."} {
			r := exchange(t, s, "udp", name, miekg.TypeTXT)
			if len(r.Ns) != 1 || r.Ns[0].Header().Ttl != tc.want || r.Ns[0].(*miekg.SOA).Minttl != uint32(tc.neg/time.Second) {
				t.Fatalf("MINIMUM %v, %s: authority %v, want TTL %d", tc.neg, name, r.Ns, tc.want)
			}
		}
	}
}

// TestANY: RFC 8482, ANY gets one RRset of the name (not NODATA, not
// everything).
func TestANY(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"fight.ringside.test.", []string{"192.0.2.11", "192.0.2.12"}},
		{"v6only.ringside.test.", []string{"2001:db8::1"}},
		{"cdn.ringside.test.", []string{"CNAME fight.cdn-a.example."}},
		{"ringside.test.", []string{"SOA ns1.ringside.test. hostmaster.ringside.test. 2026031401"}},
	} {
		for _, network := range []string{"udp", "tcp"} {
			r := exchange(t, s, network, tc.name, miekg.TypeANY)
			checkResponse(t, r, miekg.RcodeSuccess, true, tc.want, false)
		}
	}
}

// TestMalformedECS: RFC 7871 section 6, a client subnet option with too
// few or too many address octets, a source length beyond the family,
// bits beyond the source length, a scope in a query, an unknown family
// or two options is FORMERR (miekg's packer would have fixed most of
// these before sending, and its unpacker pads short addresses).
func TestMalformedECS(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	tests := []struct {
		name string
		opts [][]byte
		want int
	}{
		{"/24 with 4 octets", [][]byte{ecsRaw(1, 24, 0, 198, 51, 100, 0)}, rcodeFormErr},
		{"/24 with 2 octets", [][]byte{ecsRaw(1, 24, 0, 198, 51)}, rcodeFormErr},
		{"/0 with an octet", [][]byte{ecsRaw(1, 0, 0, 0)}, rcodeFormErr},
		{"ipv4 /33", [][]byte{ecsRaw(1, 33, 0, 198, 51, 100, 0, 0)}, rcodeFormErr},
		{"ipv6 /129", [][]byte{ecsRaw(2, 129, 0, make([]byte, 17)...)}, rcodeFormErr},
		{"ipv6 /56 with 16 octets", [][]byte{ecsRaw(2, 56, 0, make([]byte, 16)...)}, rcodeFormErr},
		{"bits beyond the source", [][]byte{ecsRaw(1, 20, 0, 198, 51, 100)}, rcodeFormErr},
		{"scope in a query", [][]byte{ecsRaw(1, 24, 24, 198, 51, 100)}, rcodeFormErr},
		{"unknown family", [][]byte{ecsRaw(3, 8, 0, 10)}, rcodeFormErr},
		{"shorter than its header", [][]byte{{0, optECS, 0, 2, 0, 1}}, rcodeFormErr},
		{"option longer than the OPT", [][]byte{{0, optECS, 0, 40, 0, 1, 24, 0}}, rcodeFormErr},
		{"two options", [][]byte{ecsRaw(1, 24, 0, 198, 51, 100), ecsRaw(1, 24, 0, 198, 51, 100)}, rcodeFormErr},
		{"good /24", [][]byte{ecsRaw(1, 24, 0, 198, 51, 100)}, rcodeSuccess},
		{"good /20", [][]byte{ecsRaw(1, 20, 0, 198, 51, 96)}, rcodeSuccess},
		{"good /0", [][]byte{ecsRaw(1, 0, 0)}, rcodeSuccess},
		{"family 0 /0 (dig)", [][]byte{ecsRaw(0, 0, 0)}, rcodeSuccess},
		{"good ipv6 /56", [][]byte{ecsRaw(2, 56, 0, 0x20, 1, 0xd, 0xb8, 0, 0xe, 1)}, rcodeSuccess},
		{"unknown option ignored", [][]byte{{0xfd, 0xe9, 0, 2, 1, 2}, ecsRaw(1, 24, 0, 198, 51, 100)}, rcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := unpack(t, exchangeRaw(t, s, rawQuery(0, "fight.ringside.test.", typeA, optRR(1232, 0, tt.opts...))))
			if r.Rcode != tt.want {
				t.Fatalf("rcode %s, want %s", miekg.RcodeToString[r.Rcode], miekg.RcodeToString[tt.want])
			}
			if r.IsEdns0() == nil {
				t.Fatal("no OPT in the response to an EDNS query")
			}
			if tt.want == rcodeFormErr && (len(r.Answer) > 0 || ecsOf(r) != nil) {
				t.Fatalf("FORMERR with answers or an ECS echo: %v", r)
			}
		})
	}
	t.Run("echo keeps the octets sent", func(t *testing.T) {
		b := exchangeRaw(t, s, rawQuery(0, "fight.ringside.test.", typeA, optRR(1232, 0, ecsRaw(1, 20, 0, 198, 51, 96))))
		want := ecsRaw(1, 20, 24, 198, 51, 96) // source 20, scope 24, three octets
		if !strings.HasSuffix(string(b), string(want)) {
			t.Fatalf("response ends % x, want the option % x", b[len(b)-len(want):], want)
		}
	})
}

// TestTwoOPT: RFC 6891 section 6.1.1, a query with two OPT RRs is
// FORMERR (miekg's IsEdns0 reads one and ignores the other).
func TestTwoOPT(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	r := unpack(t, exchangeRaw(t, s, rawQuery(0, "fight.ringside.test.", typeA, optRR(1232, 0), optRR(1232, 0))))
	if r.Rcode != rcodeFormErr || len(r.Answer) != 0 {
		t.Fatalf("two OPT RRs: %s with %d answers", miekg.RcodeToString[r.Rcode], len(r.Answer))
	}
	// An OPT owned by another name than the root is FORMERR too.
	bad := optRR(1232, 0)
	bad = append([]byte{1, 'x'}, bad...)
	r = unpack(t, exchangeRaw(t, s, rawQuery(0, "fight.ringside.test.", typeA, bad)))
	if r.Rcode != rcodeFormErr {
		t.Fatalf("OPT not at the root: %s", miekg.RcodeToString[r.Rcode])
	}
}

// TestDOBit: RFC 3225, the DO bit is copied into the response's OPT;
// the OPT's other flags (Z) are not.
func TestDOBit(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	for _, tc := range []struct {
		name  string
		ttl   uint32
		qname string
		do    bool
	}{
		{"DO on an answer", doBit, "fight.ringside.test.", true},
		{"DO on NXDOMAIN", doBit, "nope.ringside.test.", true},
		{"DO on REFUSED", doBit, "example.com.", true},
		{"DO and Z bits", doBit | 0x7fff, "fight.ringside.test.", true},
		{"no DO", 0, "fight.ringside.test.", false},
		{"Z bits only", 0x1234, "fight.ringside.test.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := unpack(t, exchangeRaw(t, s, rawQuery(0, tc.qname, typeA, optRR(1232, tc.ttl))))
			opt := r.IsEdns0()
			if opt == nil {
				t.Fatal("no OPT")
			}
			if opt.Do() != tc.do || opt.Hdr.Ttl&0x7fff != 0 {
				t.Fatalf("OPT flags %#x, want DO %v and no Z", opt.Hdr.Ttl&0xffff, tc.do)
			}
		})
	}
}

// TestResponseFlags: a response never carries the query's TC, RA, AD or
// Z bits; RD is copied, CD is copied into answers (RFC 4035 section
// 3.1.6) but FORMERR and NOTIMP echo nothing of the query but RD.
func TestResponseFlags(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	const tc, rd, ra, z, ad, cd = 1 << 9, 1 << 8, 1 << 7, 1 << 6, 1 << 5, 1 << 4
	all := uint16(tc | rd | ra | z | ad | cd)
	twoQuestions := rawQuery(all, "fight.ringside.test.", typeA)
	twoQuestions[5] = 2
	noQuestion := rawQuery(all, "fight.ringside.test.", typeA)[:headerLen]
	noQuestion[5] = 0
	for _, tt := range []struct {
		name   string
		packet []byte
		want   uint16 // flags after QR and opcode, rcode included
	}{
		{"answer", rawQuery(all, "fight.ringside.test.", typeA), flagAA | rd | cd},
		{"NXDOMAIN", rawQuery(all, "nope.ringside.test.", typeA), flagAA | rd | cd | rcodeNXDomain},
		{"REFUSED", rawQuery(all, "example.com.", typeA), rd | cd | rcodeRefused},
		{"NOTIMP (NOTIFY)", rawQuery(all|4<<11, "ringside.test.", typeSOA), 4<<11 | rd | rcodeNotImp},
		{"NOTIMP (opcode 15)", rawQuery(all|15<<11, "ringside.test.", typeSOA), 15<<11 | rd | rcodeNotImp},
		{"FORMERR: two questions", twoQuestions, rd | rcodeFormErr},
		{"FORMERR: no question", noQuestion, rd | rcodeFormErr},
		{"FORMERR: bad ECS", rawQuery(all, "fight.ringside.test.", typeA, optRR(1232, 0, ecsRaw(1, 24, 0, 1, 2, 3, 4))), rd | rcodeFormErr},
		{"no RD, no CD", rawQuery(tc|ra|ad|z, "fight.ringside.test.", typeA), flagAA},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := exchangeRaw(t, s, tt.packet)
			got := binary.BigEndian.Uint16(b[2:])
			if got&flagQR == 0 || got&^flagQR != tt.want {
				t.Fatalf("flags %016b, want QR|%016b", got, tt.want)
			}
		})
	}
}

// TestTSIG: RFC 8945 section 5.2.1, a signed query for a key the server
// does not hold is NOTAUTH with an unsigned TSIG RR saying BADKEY, not an
// unsigned answer.
func TestTSIG(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	m := new(miekg.Msg).SetQuestion("fight.ringside.test.", miekg.TypeA)
	m.Id = 4242
	signed := time.Now().Unix()
	m.SetTsig("transfer.key.", miekg.HmacSHA256, 300, signed)
	packet, _, err := miekg.TsigGenerate(m, "c2VjcmV0c2VjcmV0c2VjcmV0", "", false)
	if err != nil {
		t.Fatal(err)
	}
	r := unpack(t, exchangeRaw(t, s, packet))
	if r.Rcode != miekg.RcodeNotAuth || len(r.Answer) != 0 {
		t.Fatalf("signed query: %s with %d answers", miekg.RcodeToString[r.Rcode], len(r.Answer))
	}
	ts, ok := r.Extra[len(r.Extra)-1].(*miekg.TSIG)
	if !ok {
		t.Fatalf("no TSIG RR last in the response: %v", r.Extra)
	}
	if ts.Hdr.Name != "transfer.key." || ts.Algorithm != miekg.HmacSHA256 || ts.Error != miekg.RcodeBadKey ||
		ts.MACSize != 0 || ts.OrigId != 4242 || ts.TimeSigned != uint64(signed) || ts.Fudge != 300 {
		t.Fatalf("TSIG %v", ts)
	}
	// TSIG must be the last record.
	notLast := append(packet[:len(packet):len(packet)], optRR(1232, 0)...)
	notLast[11]++
	if r := unpack(t, exchangeRaw(t, s, notLast)); r.Rcode != rcodeFormErr {
		t.Fatalf("TSIG before OPT: %s", miekg.RcodeToString[r.Rcode])
	}
}

// TestTCPConnectionCap: idle TCP clients hold at most MaxTCPConns
// connections (one more is closed at once); when they leave, nothing is
// left behind, and the server still answers.
func TestTCPConnectionCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxTCPConns = 8
	s := startServer(t, cfg, &fakePlan{version: 1})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 30 {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	eventually(t, "8 connections held", func() bool { return s.openTCP() == 8 })
	closed := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
			closed++
		}
	}
	if closed != 22 || s.openTCP() != 8 {
		t.Fatalf("30 idle clients, cap 8: %d closed by the server, %d open", closed, s.openTCP())
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	eventually(t, "every connection gone", func() bool { return s.openTCP() == 0 })
	r := exchange(t, s, "tcp", "fight.ringside.test.", miekg.TypeA)
	checkResponse(t, r, miekg.RcodeSuccess, true, []string{"192.0.2.11", "192.0.2.12"}, false)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestTCPPipelined: several queries on one connection, answered in order
// (RFC 7766 section 6.2.1.1).
func TestTCPPipelined(t *testing.T) {
	s := startServer(t, testConfig(), &fakePlan{version: 1})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var all []byte
	names := []string{"fight.ringside.test.", "nope.ringside.test.", "ringside.test."}
	for _, n := range names {
		q := rawQuery(0, n, typeA)
		all = append(append(all, byte(len(q)>>8), byte(len(q))), q...)
	}
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var l [2]byte
		if _, err := readFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, int(l[0])<<8|int(l[1]))
		if _, err := readFull(c, b); err != nil {
			t.Fatal(err)
		}
		if r := unpack(t, b); r.Question[0].Name != n {
			t.Fatalf("answer for %s, want %s", r.Question[0].Name, n)
		}
	}
}
