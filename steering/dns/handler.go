package dns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	miekg "github.com/miekg/dns"
)

// maxChase bounds CNAME chains inside the zone.
const maxChase = 8

// handler answers one query. It implements miekg.Handler.
type handler struct {
	cfg    Config
	zone   string // canonical
	res    Resolver
	log    *slog.Logger
	serial uint32
}

func newHandler(cfg Config, res Resolver, log *slog.Logger, start time.Time) *handler {
	h := &handler{cfg: cfg, zone: miekg.CanonicalName(cfg.Zone), res: res, log: log, serial: cfg.Serial}
	if h.serial == 0 {
		h.serial = uint32(start.Unix())
	}
	return h
}

// ServeDNS answers req; a panic in answering becomes SERVFAIL, never a
// crashed server.
func (h *handler) ServeDNS(w miekg.ResponseWriter, req *miekg.Msg) {
	client, tcp := remote(w)
	var resp *miekg.Msg
	func() {
		defer func() {
			if r := recover(); r != nil {
				h.log.Error("panic answering a query", "panic", r, "client", client)
				resp = new(miekg.Msg).SetRcode(req, miekg.RcodeServerFailure)
			}
		}()
		resp = h.answer(req, client, tcp)
	}()
	if err := w.WriteMsg(resp); err != nil {
		h.log.Debug("write", "client", client, "err", err)
	}
}

// remote returns the client's address and whether the query came over TCP.
func remote(w miekg.ResponseWriter) (netip.Addr, bool) {
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap(), false
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// answer builds the response to req.
func (h *handler) answer(req *miekg.Msg, client netip.Addr, tcp bool) *miekg.Msg {
	resp := new(miekg.Msg)
	resp.SetReply(req)
	switch {
	case req.Opcode != miekg.OpcodeQuery:
		resp.Rcode = miekg.RcodeNotImplemented
		return resp
	case len(req.Question) != 1:
		resp.Rcode = miekg.RcodeFormatError
		return resp
	}
	opt := req.IsEdns0()
	if opt != nil {
		resp.SetEdns0(uint16(h.cfg.MaxUDPSize), false)
		if opt.Version() != 0 {
			resp.Rcode = miekg.RcodeBadVers
			return resp
		}
	}
	ecs, ecsOpt, ok := parseECS(opt)
	if !ok {
		resp.Rcode = miekg.RcodeFormatError
		return resp
	}
	q := req.Question[0]
	name := miekg.CanonicalName(q.Name)
	switch {
	case q.Qclass != miekg.ClassINET || !miekg.IsSubDomain(h.zone, name):
		resp.Rcode = miekg.RcodeRefused // not ours: no recursion, no referral
		return resp
	case q.Qtype == miekg.TypeAXFR || q.Qtype == miekg.TypeIXFR:
		resp.Rcode = miekg.RcodeRefused // no zone transfers
		return resp
	}
	resp.Authoritative = true
	scope := h.fill(resp, q.Qtype, name, client, ecs)
	if ecsOpt != nil {
		echoECS(resp, ecsOpt, scope)
	}
	if !tcp {
		h.truncate(resp, opt)
	}
	return resp
}

// fill answers a question for name in the zone and returns the ECS scope
// of the answer.
func (h *handler) fill(resp *miekg.Msg, qtype uint16, name string, client netip.Addr, ecs netip.Prefix) int {
	if name == h.zone {
		switch qtype {
		case miekg.TypeSOA:
			resp.Answer = append(resp.Answer, h.soa(h.cfg.TTL))
			return 0
		case miekg.TypeNS:
			resp.Answer = append(resp.Answer, h.ns()...)
			return 0
		}
	}
	qt := TypeOther
	switch qtype {
	case miekg.TypeA:
		qt = TypeA
	case miekg.TypeAAAA:
		qt = TypeAAAA
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ResolveTimeout)
	defer cancel()
	scope := 0
	target := name
	for range maxChase {
		ans, err := h.res.Resolve(ctx, Query{Name: target, Relative: h.relative(target), Type: qt, Client: client, ECS: ecs})
		if err != nil {
			h.log.Warn("resolver failed", "name", target, "err", err)
			resp.Rcode, resp.Answer = miekg.RcodeServerFailure, nil
			return 0
		}
		scope = max(scope, ans.ECSScope)
		switch {
		case ans.NXDomain && target != h.zone:
			resp.Rcode = miekg.RcodeNameError
			resp.Ns = append(resp.Ns, h.soa(h.cfg.NegativeTTL))
			return scope
		case ans.CNAME != "" && target != h.zone:
			cname := miekg.CanonicalName(ans.CNAME)
			resp.Answer = append(resp.Answer, &miekg.CNAME{Hdr: h.hdr(target, miekg.TypeCNAME), Target: cname})
			if qtype == miekg.TypeCNAME || !miekg.IsSubDomain(h.zone, cname) {
				return scope
			}
			target = cname
			continue
		}
		if !h.addrs(resp, target, qt, ans.Addrs) {
			resp.Ns = append(resp.Ns, h.soa(h.cfg.NegativeTTL)) // NODATA
		}
		return scope
	}
	h.log.Warn("CNAME chain too long", "name", name)
	resp.Rcode, resp.Answer = miekg.RcodeServerFailure, nil
	return 0
}

// addrs appends the A or AAAA records of addrs that match qt and reports
// whether there were any.
func (h *handler) addrs(resp *miekg.Msg, name string, qt QType, addrs []netip.Addr) bool {
	n := len(resp.Answer)
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case qt == TypeA && a.Is4():
			resp.Answer = append(resp.Answer, &miekg.A{Hdr: h.hdr(name, miekg.TypeA), A: a.AsSlice()})
		case qt == TypeAAAA && a.Is6():
			resp.Answer = append(resp.Answer, &miekg.AAAA{Hdr: h.hdr(name, miekg.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	return len(resp.Answer) > n
}

func (h *handler) relative(name string) string {
	return strings.TrimSuffix(strings.TrimSuffix(name, h.zone), ".")
}

func (h *handler) hdr(name string, t uint16) miekg.RR_Header {
	return miekg.RR_Header{Name: name, Rrtype: t, Class: miekg.ClassINET, Ttl: seconds(h.cfg.TTL)}
}

func (h *handler) soa(ttl time.Duration) *miekg.SOA {
	return &miekg.SOA{
		Hdr: miekg.RR_Header{Name: h.zone, Rrtype: miekg.TypeSOA, Class: miekg.ClassINET, Ttl: seconds(ttl)},
		Ns:  miekg.Fqdn(h.cfg.NS[0]), Mbox: miekg.Fqdn(h.cfg.Hostmaster), Serial: h.serial,
		Refresh: seconds(h.cfg.Refresh), Retry: seconds(h.cfg.Retry), Expire: seconds(h.cfg.Expire),
		Minttl: seconds(h.cfg.NegativeTTL),
	}
}

func (h *handler) ns() []miekg.RR {
	out := make([]miekg.RR, 0, len(h.cfg.NS))
	for _, n := range h.cfg.NS {
		out = append(out, &miekg.NS{Hdr: h.hdr(h.zone, miekg.TypeNS), Ns: miekg.Fqdn(n)})
	}
	return out
}

// truncate fits a UDP response into the client's buffer: 512 bytes
// without EDNS0, else the advertised size capped at MaxUDPSize. A response
// that does not fit is sent with TC and no records, so the client retries
// over TCP instead of using a partial answer.
func (h *handler) truncate(resp *miekg.Msg, opt *miekg.OPT) {
	size := miekg.MinMsgSize
	if opt != nil {
		size = min(max(int(opt.UDPSize()), miekg.MinMsgSize), h.cfg.MaxUDPSize)
	}
	resp.Compress = true
	if resp.Len() <= size {
		return
	}
	resp.Truncated = true
	resp.Answer, resp.Ns = nil, nil
	extra := resp.Extra[:0]
	for _, rr := range resp.Extra {
		if rr.Header().Rrtype == miekg.TypeOPT {
			extra = append(extra, rr)
		}
	}
	resp.Extra = extra
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }

var _ miekg.Handler = (*handler)(nil)
