package dns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	miekg "github.com/miekg/dns"
)

// zone is the static part of the zone, from the Config: apex, SOA, NS
// and the name servers' addresses, in wire form.
type zone struct {
	apex         []byte // lower-case wire form of the zone's name
	ttl, negTTL  uint32
	udpMax       uint16
	soaRdataTail []byte // serial, refresh, retry, expire, minimum
	mname, rname []byte // wire
	ns           []nameServer
}

// nameServer is one NS record of the zone.
type nameServer struct {
	wire  []byte
	rel   string // relative to the zone, dotted; "" when outside it
	addrs []netip.Addr
}

func newZone(cfg Config, start time.Time) (*zone, error) {
	z := &zone{ttl: seconds(cfg.TTL), negTTL: seconds(min(cfg.TTL, cfg.NegativeTTL)), udpMax: uint16(cfg.MaxUDPSize)}
	var err error
	if z.apex, err = wireName(canonical(cfg.Zone)); err != nil {
		return nil, err
	}
	if z.mname, err = wireName(cfg.NS[0].Name); err != nil {
		return nil, err
	}
	if z.rname, err = wireName(cfg.Hostmaster); err != nil {
		return nil, err
	}
	serial := cfg.Serial
	if serial == 0 {
		serial = uint32(start.Unix())
	}
	for _, v := range []uint32{serial, seconds(cfg.Refresh), seconds(cfg.Retry), seconds(cfg.Expire), seconds(cfg.NegativeTTL)} {
		z.soaRdataTail = binary.BigEndian.AppendUint32(z.soaRdataTail, v)
	}
	zoneText := canonical(cfg.Zone)
	for _, ns := range cfg.NS {
		w, err := wireName(ns.Name)
		if err != nil {
			return nil, err
		}
		n := nameServer{wire: w}
		if name := canonical(ns.Name); inZone(name, zoneText) {
			n.rel = strings.TrimSuffix(strings.TrimSuffix(name, zoneText), ".")
			n.addrs = ns.Addrs
		}
		z.ns = append(z.ns, n)
	}
	return z, nil
}

// wireName returns the uncompressed wire form of a domain name.
func wireName(s string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := miekg.PackDomainName(miekg.Fqdn(s), buf, 0, nil, false)
	if err != nil {
		return nil, fmt.Errorf("dns: name %q: %w", s, err)
	}
	return buf[:n], nil
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }

// template is the wire form of an answer after the question: the
// response to one (name, choice, query type), copied for every query.
type template struct {
	rcode      uint16
	aa         bool
	an, ns, ar uint16
	body       []byte
}

// builder writes the records of a template. Names inside the zone are
// compressed against the question, which the response copies from the
// query: qname is at offset 12, the apex at apex.
type builder struct {
	z          *zone
	b          []byte
	an, ns, ar uint16
	apex       uint16 // compression pointer to the apex in the question
}

const selfPtr = 0xc000 | headerLen // the question's name

func newBuilder(z *zone, qnameLen int) *builder {
	return &builder{z: z, apex: uint16(0xc000 | (headerLen + qnameLen - len(z.apex)))}
}

// name writes a wire name: relative labels and a pointer to the apex for
// a name inside the zone, else in full.
func (bd *builder) name(w []byte) {
	if len(w) >= len(bd.z.apex) && string(w[len(w)-len(bd.z.apex):]) == string(bd.z.apex) {
		// The suffix must start at a label boundary.
		for i := 0; i < len(w); i += int(w[i]) + 1 {
			if i == len(w)-len(bd.z.apex) {
				bd.b = append(bd.b, w[:i]...)
				bd.b = binary.BigEndian.AppendUint16(bd.b, bd.apex)
				return
			}
			if w[i] == 0 {
				break
			}
		}
	}
	bd.b = append(bd.b, w...)
}

// rr starts a record and returns where its RDLENGTH goes (see end).
func (bd *builder) rr(owner uint16, ownerWire []byte, typ uint16, ttl uint32) int {
	if ownerWire != nil {
		bd.name(ownerWire)
	} else {
		bd.b = binary.BigEndian.AppendUint16(bd.b, owner)
	}
	bd.b = binary.BigEndian.AppendUint16(bd.b, typ)
	bd.b = binary.BigEndian.AppendUint16(bd.b, classIN)
	bd.b = binary.BigEndian.AppendUint32(bd.b, ttl)
	bd.b = append(bd.b, 0, 0)
	return len(bd.b)
}

func (bd *builder) end(rdata int) {
	binary.BigEndian.PutUint16(bd.b[rdata-2:], uint16(len(bd.b)-rdata))
}

// soa writes the SOA record, owned by the apex.
func (bd *builder) soa(owner uint16, ttl uint32) {
	at := bd.rr(owner, nil, typeSOA, ttl)
	bd.name(bd.z.mname)
	bd.name(bd.z.rname)
	bd.b = append(bd.b, bd.z.soaRdataTail...)
	bd.end(at)
}

// addrs writes the A (or AAAA) records of addrs, owned by owner, and
// reports how many.
func (bd *builder) addrs(owner uint16, ownerWire []byte, typ uint16, addrs []netip.Addr) uint16 {
	var n uint16
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case typ == typeA && a.Is4():
			at := bd.rr(owner, ownerWire, typeA, bd.z.ttl)
			b := a.As4()
			bd.b = append(bd.b, b[:]...)
			bd.end(at)
		case typ == typeAAAA && a.Is6():
			at := bd.rr(owner, ownerWire, typeAAAA, bd.z.ttl)
			b := a.As16()
			bd.b = append(bd.b, b[:]...)
			bd.end(at)
		default:
			continue
		}
		n++
	}
	return n
}

// anyType is the one RRset an ANY query gets (RFC 8482 section 4.1):
// the addresses of the first family the name has.
func anyType(addrs []netip.Addr) uint16 {
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return typeA
		}
	}
	if len(addrs) > 0 {
		return typeAAAA
	}
	return 0
}

// category is the query type as far as answers differ: every other type
// gets the same answer (NODATA, or the CNAME).
func category(qtype uint16) uint16 {
	switch qtype {
	case typeA, typeAAAA, typeCNAME, typeNS, typeSOA, typeANY:
		return qtype
	}
	return 0
}

// build returns the answer of one name for one choice and category; e
// is nil for a name that does not exist.
func (w *responder) build(e *entry, choice int, cat uint16, qnameLen int) *template {
	z := w.z
	bd := newBuilder(z, qnameLen)
	t := &template{aa: true}
	apexOwner := bd.apex
	switch {
	case e == nil:
		t.rcode = rcodeNXDomain
	case e.kind == kindApex:
		apexOwner = selfPtr
		switch cat {
		case typeSOA, typeANY:
			bd.soa(selfPtr, z.ttl)
			bd.an++
		case typeNS:
			for _, ns := range z.ns {
				at := bd.rr(selfPtr, nil, typeNS, z.ttl)
				bd.name(ns.wire)
				bd.end(at)
				bd.an++
			}
			for _, ns := range z.ns { // glue (RFC 1034 section 4.3.2)
				bd.ar += bd.addrs(0, ns.wire, typeA, ns.addrs)
				bd.ar += bd.addrs(0, ns.wire, typeAAAA, ns.addrs)
			}
		case typeA, typeAAAA:
			if e.idx >= 0 {
				bd.an += bd.addrs(selfPtr, nil, cat, w.plan.Answer(int(e.idx), choice).Addrs)
			}
		}
	case e.kind == kindPlan:
		ans := w.plan.Answer(int(e.idx), choice)
		if ans.CNAME != "" {
			target, err := wireName(ans.CNAME)
			if err != nil {
				return &template{rcode: rcodeServFail}
			}
			at := bd.rr(selfPtr, nil, typeCNAME, z.ttl)
			bd.name(target)
			bd.end(at)
			bd.an++
			break
		}
		if cat == typeANY {
			cat = anyType(ans.Addrs)
		}
		if cat == typeA || cat == typeAAAA {
			bd.an += bd.addrs(selfPtr, nil, cat, ans.Addrs)
		}
	case e.kind == kindNS:
		addrs := z.ns[e.idx].addrs
		if cat == typeANY {
			cat = anyType(addrs)
		}
		if cat == typeA || cat == typeAAAA {
			bd.an += bd.addrs(selfPtr, nil, cat, addrs)
		}
	}
	if bd.an == 0 && (t.rcode == rcodeSuccess || t.rcode == rcodeNXDomain) {
		// NXDOMAIN or NODATA: the SOA for negative caching, with the TTL
		// min(SOA TTL, MINIMUM) (RFC 2308 section 3).
		bd.ar = 0
		bd.b = bd.b[:0]
		bd.soa(apexOwner, z.negTTL)
		bd.ns = 1
	}
	t.an, t.ns, t.ar, t.body = bd.an, bd.ns, bd.ar, bd.b
	return t
}
