package dns

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"strings"
)

// responder turns query packets into response packets. Each UDP worker
// owns one (no locks on the query path); its answers are compiled once per
// plan version into templates, so a query costs a parse, a map lookup, the
// plan's Choose and a copy.
type responder struct {
	z    *zone
	src  Steerer
	log  *slog.Logger
	plan Plan
	ver  uint64
	// names maps every name that exists (relative, dotted, lower case)
	// to its entry; everything else in the zone is NXDOMAIN.
	names map[string]*entry
	cache map[tkey]*template
	rel   [255]byte // scratch: the relative name of the query
}

// entry is one name of the zone.
type entry struct {
	id   int32
	kind uint8
	idx  int32 // Plan name index (kindPlan, kindApex: -1 without one), or NS index
}

const (
	kindApex  = iota + 1 // the zone's apex
	kindPlan             // a name of the plan
	kindNS               // a name server's name inside the zone
	kindEmpty            // an empty non-terminal: exists, holds nothing
)

// tkey identifies a template: entry, choice and category; a name that
// does not exist has id -1 and its length as the choice (the SOA is
// compressed against the question).
type tkey struct {
	id     int32
	choice int32
	cat    uint16
}

// maxTemplates bounds a responder's cache within one plan version.
const maxTemplates = 1 << 14

func newResponder(z *zone, src Steerer, log *slog.Logger) *responder {
	return &responder{z: z, src: src, log: log}
}

// refresh loads the current plan and, when its version changed, forgets
// every template.
func (w *responder) refresh() {
	p := w.src.Plan()
	if w.names != nil && p.Version() == w.ver {
		return
	}
	w.plan, w.ver = p, p.Version()
	w.names = make(map[string]*entry)
	w.cache = make(map[tkey]*template)
	add := func(name string, e entry) {
		e.id = int32(len(w.names))
		w.names[name] = &e
	}
	add("", entry{kind: kindApex, idx: -1})
	for i, n := range p.Names() {
		if n == "" {
			w.names[""].idx = int32(i)
			continue
		}
		add(strings.ToLower(n), entry{kind: kindPlan, idx: int32(i)})
	}
	for i, ns := range w.z.ns {
		if ns.rel != "" {
			if e := w.names[ns.rel]; e != nil {
				*e = entry{id: e.id, kind: kindNS, idx: int32(i)}
			} else {
				add(ns.rel, entry{kind: kindNS, idx: int32(i)})
			}
		}
	}
	// Every ancestor of a name exists (RFC 8020): the missing ones are
	// empty non-terminals.
	var ents []string
	for n := range w.names {
		for i := strings.IndexByte(n, '.'); i >= 0; i = strings.IndexByte(n, '.') {
			n = n[i+1:]
			ents = append(ents, n)
		}
	}
	for _, n := range ents {
		if w.names[n] == nil {
			add(n, entry{kind: kindEmpty, idx: -1})
		}
	}
}

// respond appends the response to the query b to out and returns it, or
// nil when the packet gets no response.
func (w *responder) respond(b []byte, client netip.Addr, tcp bool, out []byte) (resp []byte) {
	var q query
	switch rc := q.parse(b); rc {
	case rcodeSuccess:
	case -1:
		return nil
	default:
		return w.fail(out, b, &q, rc)
	}
	switch {
	case q.edns && q.version != 0:
		return w.fail(out, b, &q, rcodeBadVers)
	case q.tsig:
		return w.notAuth(out, b, &q)
	case q.qtype == typeOPT || q.qtype == typeTSIG || q.qtype == typeTKEY:
		return w.fail(out, b, &q, rcodeFormErr)
	case q.qclass != classIN || q.qtype == typeAXFR || q.qtype == typeIXFR:
		return w.fail(out, b, &q, rcodeRefused)
	}
	rel, ok := w.relative(&q)
	if !ok {
		return w.fail(out, b, &q, rcodeRefused) // not ours: no recursion, no referral
	}
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("panic answering a query", "panic", r, "client", client)
			resp = w.fail(out, b, &q, rcodeServFail)
		}
	}()
	e := w.names[string(rel)]
	key := tkey{id: -1, choice: int32(q.nameN)}
	var choice, scope int
	if e != nil {
		if e.idx >= 0 && (e.kind == kindPlan || e.kind == kindApex) {
			choice, scope = w.plan.Choose(int(e.idx), client, q.ecs.prefix)
		}
		key = tkey{id: e.id, choice: int32(choice), cat: category(q.qtype)}
	}
	t := w.cache[key]
	if t == nil {
		t = w.build(e, choice, key.cat, q.nameN)
		if len(w.cache) >= maxTemplates {
			clear(w.cache)
		}
		w.cache[key] = t
	}
	return w.answer(out, b, &q, t, scope, tcp)
}

// relative returns the query's name relative to the zone, dotted ("" for
// the apex), and false when the name is outside the zone. A label holding
// a dot cannot name anything here: it becomes a name that does not exist.
func (w *responder) relative(q *query) ([]byte, bool) {
	name, apex := q.name[:q.nameN], w.z.apex
	cut := len(name) - len(apex)
	if cut < 0 || string(name[cut:]) != string(apex) {
		return nil, false
	}
	rel := w.rel[:0]
	i := 0
	for i < cut {
		l := int(name[i])
		if i > 0 {
			rel = append(rel, '.')
		}
		label := name[i+1 : i+1+l]
		for _, c := range label {
			if c == '.' {
				c = 0 // never in a name of the plan
			}
			rel = append(rel, c)
		}
		i += l + 1
	}
	return rel, i == cut // else the apex matched in the middle of a label
}

// header appends a response header.
func header(out []byte, id, flags, qd, an, ns, ar uint16) []byte {
	out = binary.BigEndian.AppendUint16(out, id)
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, qd)
	out = binary.BigEndian.AppendUint16(out, an)
	out = binary.BigEndian.AppendUint16(out, ns)
	return binary.BigEndian.AppendUint16(out, ar)
}

// flags of a response to q: QR, the opcode, RD copied; CD copied (RFC
// 4035 section 3.1.6) except in FORMERR and NOTIMP, which answer nothing
// of the query; TC, RA, AD and Z never.
func (q *query) respFlags(rcode int) uint16 {
	f := flagQR | uint16(q.opcode)<<11 | q.flags&flagRD | uint16(rcode&0xf)
	if rcode != rcodeFormErr && rcode != rcodeNotImp {
		f |= q.flags & flagCD
	}
	return f
}

// udpLimit is the largest UDP response q may get: 512 without EDNS, else
// its buffer size within [512, MaxUDPSize].
func (w *responder) udpLimit(q *query) int {
	if !q.edns {
		return 512
	}
	return min(max(int(q.udpSize), 512), int(w.z.udpMax))
}

// answer writes the response from template t.
func (w *responder) answer(out, b []byte, q *query, t *template, scope int, tcp bool) []byte {
	optLen := 0
	echo := q.ecs.present && q.optOK
	if q.optOK {
		optLen = 11
		if echo {
			optLen += 8 + q.ecs.addrN
		}
	}
	flags := q.respFlags(int(t.rcode))
	if t.aa {
		flags |= flagAA
	}
	an, ns, ar, body := t.an, t.ns, t.ar, t.body
	limit := 65535
	if !tcp {
		limit = w.udpLimit(q)
	}
	if q.qdEnd+len(body)+optLen > limit {
		// Too big: TC and no records, so the client retries over TCP
		// instead of using a partial answer.
		flags |= flagTC
		an, ns, ar, body = 0, 0, 0, nil
	}
	if q.optOK {
		ar++
	}
	out = header(out, q.id, flags, 1, an, ns, ar)
	out = append(out, b[headerLen:q.qdEnd]...)
	out = append(out, body...)
	if q.optOK {
		out = w.opt(out, q, 0, echo, scope)
	}
	return out
}

// opt appends the response's OPT RR: our buffer size, the extended rcode,
// the DO bit copied (RFC 3225), and the client subnet echoed with the
// answer's scope (RFC 7871 section 7.2.1).
func (w *responder) opt(out []byte, q *query, extRcode uint8, echo bool, scope int) []byte {
	var flags byte
	if q.do {
		flags = 0x80
	}
	out = append(out, 0, 0, typeOPT, byte(w.z.udpMax>>8), byte(w.z.udpMax), extRcode, 0, flags, 0)
	if !echo {
		return append(out, 0, 0)
	}
	e := &q.ecs
	maxBits := 32
	if e.family == 2 {
		maxBits = 128
	}
	if e.source == 0 || e.family == 0 {
		scope = 0
	}
	n := e.addrN
	out = append(out, 0, byte(8+n), 0, optECS, 0, byte(4+n), byte(e.family>>8), byte(e.family), e.source, byte(min(max(scope, 0), maxBits)))
	return append(out, e.addr[:n]...)
}

// fail writes an error response: the question when there is one, the OPT
// RR when the query had a good one, no records.
func (w *responder) fail(out, b []byte, q *query, rcode int) []byte {
	var qd, ar uint16
	if q.qdEnd > 0 {
		qd = 1
	}
	if q.optOK {
		ar = 1
	}
	out = header(out, q.id, q.respFlags(rcode), qd, 0, 0, ar)
	if qd == 1 {
		out = append(out, b[headerLen:q.qdEnd]...)
	}
	if q.optOK {
		out = w.opt(out, q, uint8(rcode>>4), false, 0)
	}
	return out
}

// notAuth answers a TSIG-signed query: the server holds no keys, so it is
// NOTAUTH with an unsigned TSIG RR saying BADKEY (RFC 8945 sections 5.2.1
// and 5.3.2): key name, algorithm, time and fudge as the query sent them,
// an empty MAC, the query's original ID.
func (w *responder) notAuth(out, b []byte, q *query) []byte {
	var nameBuf, algBuf [256]byte
	key, off, ok := readName(nameBuf[:0], b, q.tsigOff)
	if !ok || off+10 > len(b) {
		return w.fail(out, b, q, rcodeFormErr)
	}
	end := off + 10 + int(binary.BigEndian.Uint16(b[off+8:]))
	alg, p, ok := readName(algBuf[:0], b, off+10)
	if !ok || p+10 > end || end > len(b) {
		return w.fail(out, b, q, rcodeFormErr)
	}
	timeFudge := b[p : p+8]
	macEnd := p + 10 + int(binary.BigEndian.Uint16(b[p+8:]))
	if macEnd+2 > end {
		return w.fail(out, b, q, rcodeFormErr)
	}
	origID := b[macEnd : macEnd+2]
	var ar uint16 = 1
	if q.optOK {
		ar++
	}
	out = header(out, q.id, q.respFlags(rcodeNotAuth), 1, 0, 0, ar)
	out = append(out, b[headerLen:q.qdEnd]...)
	if q.optOK {
		out = w.opt(out, q, 0, false, 0)
	}
	out = append(out, key...)
	out = append(out, 0, typeTSIG, 0, classANY, 0, 0, 0, 0)
	rdlen := len(alg) + 8 + 2 + 2 + 2 + 2
	out = append(out, byte(rdlen>>8), byte(rdlen))
	out = append(out, alg...)
	out = append(out, timeFudge...)
	out = append(out, 0, 0) // MAC size
	out = append(out, origID...)
	out = append(out, 0, tsigBadKey, 0, 0) // error, other len
	return out
}
