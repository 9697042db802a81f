package dns

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

func testHandler() *handler {
	return newHandler(testConfig(), &fakeResolver{}, slog.New(slog.DiscardHandler), time.Unix(1, 0))
}

// TestMalformedECS: RFC 7871 section 7.1.1, a bad client subnet option is
// a format error.
func TestMalformedECS(t *testing.T) {
	tests := []struct {
		name string
		ecs  *miekg.EDNS0_SUBNET
		want int
	}{
		{"bits beyond the source prefix", &miekg.EDNS0_SUBNET{Family: 1, SourceNetmask: 16, Address: net.ParseIP("10.1.2.3")}, miekg.RcodeFormatError},
		{"scope set in a query", &miekg.EDNS0_SUBNET{Family: 1, SourceNetmask: 24, SourceScope: 24, Address: net.ParseIP("10.1.2.0")}, miekg.RcodeFormatError},
		{"ipv4 length 33", &miekg.EDNS0_SUBNET{Family: 1, SourceNetmask: 33, Address: net.ParseIP("10.1.2.0")}, miekg.RcodeFormatError},
		{"unknown family", &miekg.EDNS0_SUBNET{Family: 7, SourceNetmask: 8, Address: net.ParseIP("10.0.0.0")}, miekg.RcodeFormatError},
		{"family 0 with a length", &miekg.EDNS0_SUBNET{Family: 0, SourceNetmask: 8}, miekg.RcodeFormatError},
		{"family 0 length 0 (dig)", &miekg.EDNS0_SUBNET{Family: 0}, miekg.RcodeSuccess},
		{"good", &miekg.EDNS0_SUBNET{Family: 1, SourceNetmask: 24, Address: net.ParseIP("10.1.2.0")}, miekg.RcodeSuccess},
	}
	h := testHandler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := new(miekg.Msg).SetQuestion("fight.live.ringside.test.", miekg.TypeA).SetEdns0(1232, false)
			tt.ecs.Code = miekg.EDNS0SUBNET
			req.IsEdns0().Option = append(req.IsEdns0().Option, tt.ecs)
			resp := h.answer(req, netip.MustParseAddr("192.0.2.53"), false)
			if resp.Rcode != tt.want {
				t.Fatalf("rcode %s, want %s", miekg.RcodeToString[resp.Rcode], miekg.RcodeToString[tt.want])
			}
			if _, err := resp.Pack(); err != nil {
				t.Fatalf("response does not pack: %v", err)
			}
		})
	}
	t.Run("two ECS options", func(t *testing.T) {
		req := new(miekg.Msg).SetQuestion("fight.live.ringside.test.", miekg.TypeA).SetEdns0(1232, false)
		for range 2 {
			req.IsEdns0().Option = append(req.IsEdns0().Option, &miekg.EDNS0_SUBNET{Code: miekg.EDNS0SUBNET, Family: 1, SourceNetmask: 8, Address: net.ParseIP("10.0.0.0")})
		}
		if resp := h.answer(req, netip.Addr{}, false); resp.Rcode != miekg.RcodeFormatError {
			t.Fatalf("rcode %s", miekg.RcodeToString[resp.Rcode])
		}
	})
	t.Run("no question", func(t *testing.T) {
		req := new(miekg.Msg)
		if resp := h.answer(req, netip.Addr{}, false); resp.Rcode != miekg.RcodeFormatError {
			t.Fatalf("rcode %s", miekg.RcodeToString[resp.Rcode])
		}
	})
}

// FuzzHandler feeds arbitrary packets to the handler: whatever unpacks
// must be answered without a panic, with a response that packs and fits
// the client's UDP buffer.
func FuzzHandler(f *testing.F) {
	for _, m := range []*miekg.Msg{
		new(miekg.Msg).SetQuestion("fight.live.ringside.test.", miekg.TypeA),
		new(miekg.Msg).SetQuestion("big.ringside.test.", miekg.TypeAAAA).SetEdns0(4096, false),
		new(miekg.Msg).SetQuestion("ringside.test.", miekg.TypeSOA),
		new(miekg.Msg).SetQuestion("alias.ringside.test.", miekg.TypeCNAME),
		new(miekg.Msg).SetQuestion("example.com.", miekg.TypeNS),
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ecs := new(miekg.Msg).SetQuestion("fight.live.ringside.test.", miekg.TypeA).SetEdns0(1232, false)
	ecs.IsEdns0().Option = append(ecs.IsEdns0().Option, &miekg.EDNS0_SUBNET{Code: miekg.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("198.51.100.0")})
	if b, err := ecs.Pack(); err == nil {
		f.Add(b)
	}
	h := testHandler()
	client := netip.MustParseAddr("192.0.2.53")
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(miekg.Msg)
		if req.Unpack(data) != nil {
			return
		}
		for _, tcp := range []bool{false, true} {
			resp := h.answer(req, client, tcp)
			b, err := resp.Pack()
			if err != nil {
				t.Fatalf("response to %v does not pack: %v\n%v", req, err, resp)
			}
			limit := miekg.MinMsgSize
			if opt := req.IsEdns0(); opt != nil {
				limit = min(max(int(opt.UDPSize()), miekg.MinMsgSize), h.cfg.MaxUDPSize)
			}
			// A response can only outgrow the buffer by its records:
			// without them it is the query's question and OPT.
			if !tcp && len(b) > limit && (len(resp.Answer) > 0 || len(resp.Ns) > 0) {
				t.Fatalf("UDP response of %d bytes, limit %d", len(b), limit)
			}
		}
	})
}

// recorder is a ResponseWriter that keeps the last message.
type recorder struct {
	msg    *miekg.Msg
	remote net.Addr
}

func (r *recorder) LocalAddr() net.Addr         { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (r *recorder) RemoteAddr() net.Addr        { return r.remote }
func (r *recorder) WriteMsg(m *miekg.Msg) error { r.msg = m; return nil }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) Close() error                { return nil }
func (r *recorder) TsigStatus() error           { return nil }
func (r *recorder) TsigTimersOnly(bool)         {}
func (r *recorder) Hijack()                     {}

func BenchmarkServeDNS(b *testing.B) {
	h := testHandler()
	req := new(miekg.Msg).SetQuestion("fight.live.ringside.test.", miekg.TypeA).SetEdns0(1232, false)
	req.IsEdns0().Option = append(req.IsEdns0().Option, &miekg.EDNS0_SUBNET{Code: miekg.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("198.51.100.0")})
	w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 53), Port: 5353}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(w, req)
	}
	if len(w.msg.Answer) != 2 {
		b.Fatal(w.msg)
	}
}

// BenchmarkServeDNSPacked adds what the server does around the handler:
// unpack the query, pack the answer.
func BenchmarkServeDNSPacked(b *testing.B) {
	h := testHandler()
	req := new(miekg.Msg).SetQuestion("fight.live.ringside.test.", miekg.TypeA).SetEdns0(1232, false)
	raw, _ := req.Pack()
	w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 53), Port: 5353}}
	b.ReportAllocs()
	for b.Loop() {
		m := new(miekg.Msg)
		if err := m.Unpack(raw); err != nil {
			b.Fatal(err)
		}
		h.ServeDNS(w, m)
		if _, err := w.msg.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}
