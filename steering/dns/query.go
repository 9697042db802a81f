package dns

import (
	"encoding/binary"
	"net/netip"
)

// DNS wire constants used here (RFC 1035, 6891, 7871, 8945).
const (
	headerLen = 12

	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagCD = 1 << 4

	typeA     = 1
	typeNS    = 2
	typeCNAME = 5
	typeSOA   = 6
	typeAAAA  = 28
	typeOPT   = 41
	typeTKEY  = 249
	typeTSIG  = 250
	typeIXFR  = 251
	typeAXFR  = 252
	typeANY   = 255
	classIN   = 1
	classANY  = 255

	rcodeSuccess  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
	rcodeNotAuth  = 9
	rcodeBadVers  = 16 // extended: 1 in the OPT TTL's high byte
	tsigBadKey    = 17

	optECS = 8
)

// query is what the server reads of a query packet. It is parsed straight
// from the wire (no allocation), so that malformed options are seen as
// sent: miekg's unpacking pads or drops what RFC 7871 and 6891 want
// refused.
type query struct {
	id     uint16
	flags  uint16
	opcode int
	qdEnd  int // end of the question; 0 when there is none to echo
	qtype  uint16
	qclass uint16
	name   [255]byte // the question's name, lower case, wire form
	nameN  int

	edns    bool // an OPT RR (the first; a second is FORMERR)
	optOK   bool // the OPT RR parsed: answer with one
	udpSize uint16
	version uint8
	do      bool
	ecs     ecsOption

	tsig    bool
	tsigOff int // where the TSIG RR starts
}

// ecsOption is an EDNS client subnet option as the query sent it.
type ecsOption struct {
	present bool
	family  uint16
	source  uint8
	addr    [16]byte
	addrN   int          // address octets sent: ceil(source/8)
	prefix  netip.Prefix // invalid for source 0
}

// parse reads b into q and returns the rcode the packet earns before its
// name is looked at: rcodeSuccess to go on, rcodeFormErr or rcodeNotImp,
// or -1 to drop it (too short, or a response).
func (q *query) parse(b []byte) int {
	if len(b) < headerLen {
		return -1
	}
	q.id = binary.BigEndian.Uint16(b)
	q.flags = binary.BigEndian.Uint16(b[2:])
	if q.flags&flagQR != 0 {
		return -1 // never answer a response
	}
	q.opcode = int(q.flags>>11) & 0xf
	qd, an, ns, ar := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	if qd != 1 {
		return rcodeFormErr
	}
	off, ok := q.readQuestion(b)
	if !ok {
		return rcodeFormErr
	}
	q.qdEnd = off
	for range int(an) + int(ns) {
		if off, ok = skipRR(b, off); !ok {
			return rcodeFormErr
		}
	}
	for i := range int(ar) {
		start := off
		root := off < len(b) && b[off] == 0
		if off, ok = skipName(b, off); !ok || off+10 > len(b) {
			return rcodeFormErr
		}
		typ, class := binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])
		ttl := binary.BigEndian.Uint32(b[off+4:])
		rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
		rdata := off + 10
		if off = rdata + rdlen; off > len(b) {
			return rcodeFormErr
		}
		if q.tsig {
			return rcodeFormErr // TSIG must be the last record (RFC 8945 section 5.1)
		}
		switch typ {
		case typeOPT:
			if q.edns || !root {
				q.optOK = false
				return rcodeFormErr // RFC 6891 section 6.1.1: one OPT, owned by the root
			}
			q.edns, q.udpSize = true, class
			q.version, q.do = uint8(ttl>>16), ttl&0x8000 != 0
			q.optOK = true // bad options are FORMERR, with an OPT
			if !q.readOptions(b[rdata:off]) {
				return rcodeFormErr
			}
		case typeTSIG:
			q.tsig, q.tsigOff = true, start
			if i != int(ar)-1 {
				return rcodeFormErr
			}
		}
	}
	if q.opcode != 0 {
		return rcodeNotImp
	}
	return rcodeSuccess
}

// readQuestion reads the question's name (in lower case), type and class,
// and returns the offset after it. A compression pointer cannot occur in
// the first name of a message.
func (q *query) readQuestion(b []byte) (int, bool) {
	off, n := headerLen, 0
	for {
		if off >= len(b) {
			return 0, false
		}
		l := int(b[off])
		if l&0xc0 != 0 || n+l+1 > len(q.name) || off+1+l > len(b) {
			return 0, false
		}
		q.name[n] = byte(l)
		for i := 1; i <= l; i++ {
			c := b[off+i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			q.name[n+i] = c
		}
		n += l + 1
		off += l + 1
		if l == 0 {
			break
		}
	}
	if off+4 > len(b) {
		return 0, false
	}
	q.nameN = n
	q.qtype, q.qclass = binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])
	return off + 4, true
}

// readOptions reads the EDNS options of an OPT RR's data. A client subnet
// option must be exactly as RFC 7871 section 6 describes it.
func (q *query) readOptions(d []byte) bool {
	for len(d) > 0 {
		if len(d) < 4 {
			return false
		}
		code, n := binary.BigEndian.Uint16(d), int(binary.BigEndian.Uint16(d[2:]))
		if 4+n > len(d) {
			return false
		}
		if code == optECS {
			if q.ecs.present || !q.ecs.read(d[4:4+n]) {
				return false
			}
		}
		d = d[4+n:]
	}
	return true
}

// read parses a client subnet option: a known family, a source length
// within it, exactly the octets the length needs, no bits beyond it, and
// a zero scope.
func (e *ecsOption) read(d []byte) bool {
	if len(d) < 4 {
		return false
	}
	e.present = true
	e.family, e.source = binary.BigEndian.Uint16(d), d[2]
	scope, addr := d[3], d[4:]
	e.addrN = (int(e.source) + 7) / 8
	if scope != 0 || len(addr) != e.addrN {
		return false
	}
	var a netip.Addr
	switch e.family {
	case 0: // "no address", as some clients send /0
		return e.source == 0
	case 1:
		if e.source > 32 {
			return false
		}
		copy(e.addr[:], addr)
		a = netip.AddrFrom4([4]byte(e.addr[:4]))
	case 2:
		if e.source > 128 {
			return false
		}
		copy(e.addr[:], addr)
		a = netip.AddrFrom16(e.addr)
	default:
		return false
	}
	p := netip.PrefixFrom(a, int(e.source))
	if p.Masked().Addr() != a {
		return false // address bits beyond the source prefix
	}
	if e.source > 0 {
		e.prefix = p
	}
	return true
}

// skipName returns the offset after the (possibly compressed) name at off.
func skipName(b []byte, off int) (int, bool) {
	for n := 0; n < 128; n++ {
		if off >= len(b) {
			return 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(b)
		case l&0xc0 != 0:
			return 0, false
		}
		off += l + 1
	}
	return 0, false
}

// skipRR returns the offset after the resource record at off.
func skipRR(b []byte, off int) (int, bool) {
	off, ok := skipName(b, off)
	if !ok || off+10 > len(b) {
		return 0, false
	}
	end := off + 10 + int(binary.BigEndian.Uint16(b[off+8:]))
	return end, end <= len(b)
}

// readName appends the uncompressed wire form of the name at off to dst,
// following compression pointers, and returns the offset after the name
// where it was found.
func readName(dst, b []byte, off int) ([]byte, int, bool) {
	next := -1
	for hops := 0; hops < 64; hops++ {
		if off >= len(b) {
			return nil, 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			dst = append(dst, 0)
			if next < 0 {
				next = off + 1
			}
			return dst, next, len(dst) <= 255
		case l&0xc0 == 0xc0:
			if off+2 > len(b) {
				return nil, 0, false
			}
			if next < 0 {
				next = off + 2
			}
			off = int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			continue
		case l&0xc0 != 0 || off+1+l > len(b):
			return nil, 0, false
		}
		dst = append(dst, b[off:off+1+l]...)
		off += l + 1
	}
	return nil, 0, false
}
