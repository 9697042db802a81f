package dns

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

func testResponder(t testing.TB) *responder {
	z, err := newZone(testConfig(), time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	w := newResponder(z, &fakePlan{version: 1}, slog.New(slog.DiscardHandler))
	w.refresh()
	return w
}

// FuzzRespond feeds arbitrary packets to the responder: no panic; every
// response unpacks, answers the query's ID and fits the client's UDP
// buffer unless it is an error with the question only.
func FuzzRespond(f *testing.F) {
	for _, m := range []*miekg.Msg{
		new(miekg.Msg).SetQuestion("fight.ringside.test.", miekg.TypeA),
		new(miekg.Msg).SetQuestion("big.ringside.test.", miekg.TypeAAAA).SetEdns0(4096, true),
		new(miekg.Msg).SetQuestion("ringside.test.", miekg.TypeNS),
		new(miekg.Msg).SetQuestion("cdn.ringside.test.", miekg.TypeCNAME),
		new(miekg.Msg).SetQuestion("example.com.", miekg.TypeNS),
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(rawQuery(0, "fight.ringside.test.", typeA, optRR(1232, doBit, ecsRaw(1, 24, 0, 198, 51, 100))))
	f.Add(rawQuery(0, "fight.ringside.test.", typeA, optRR(1232, 0), optRR(512, 0)))
	w := testResponder(f)
	client := netip.MustParseAddr("192.0.2.53")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tcp := range []bool{false, true} {
			b := w.respond(data, client, tcp, nil)
			if b == nil {
				continue
			}
			m := new(miekg.Msg)
			if err := m.Unpack(b); err != nil {
				t.Fatalf("response does not unpack: %v\n% x", err, b)
			}
			if m.Id != uint16(data[0])<<8|uint16(data[1]) || !m.Response {
				t.Fatalf("response id %d, qr %v", m.Id, m.Response)
			}
			var q query
			q.parse(data)
			if !tcp && len(b) > w.udpLimit(&q) && len(m.Answer)+len(m.Ns) > 0 {
				t.Fatalf("UDP response of %d bytes, limit %d", len(b), w.udpLimit(&q))
			}
		}
	})
}

// BenchmarkRespond is the UDP worker's cost per query without the
// system calls: parse, look up, choose, copy, patch.
func BenchmarkRespond(b *testing.B) {
	for _, tc := range []struct {
		name string
		q    []byte
	}{
		{"A", rawQuery(flagRD, "fight.ringside.test.", typeA)},
		{"A+ECS", rawQuery(flagRD, "fight.ringside.test.", typeA, optRR(1232, 0, ecsRaw(1, 24, 0, 198, 51, 100)))},
		{"NXDOMAIN", rawQuery(flagRD, "nope.ringside.test.", typeA, optRR(1232, 0))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := testResponder(b)
			client := netip.MustParseAddr("192.0.2.53")
			out := make([]byte, 0, 1500)
			b.ReportAllocs()
			for b.Loop() {
				w.refresh()
				if len(w.respond(tc.q, client, false, out[:0])) == 0 {
					b.Fatal("no response")
				}
			}
		})
	}
}

// BenchmarkServerUDP is one query at a time through the loopback
// interface: mostly system calls (see bench/dnsperf for throughput).
func BenchmarkServerUDP(b *testing.B) {
	s := startServer(b, testConfig(), &fakePlan{version: 1})
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	q := rawQuery(flagRD, "fight.ringside.test.", typeA, optRR(1232, 0, ecsRaw(1, 24, 0, 198, 51, 100)))
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(q); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
