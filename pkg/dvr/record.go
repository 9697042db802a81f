package dvr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// logMagic starts every index log: format name and version.
const logMagic = "RSDVRLG1"

// Framing of one record: payload length (uint32 LE), CRC-32C of the
// payload (uint32 LE), payload.
const (
	frameLen  = 8
	maxRecord = 16 << 10 // larger than any valid payload (see names.go bounds)
)

// Record kinds: the first byte of a payload.
const (
	kindPut    byte = 1 // a media segment and its metadata
	kindInit   byte = 2 // an init segment
	kindDel    byte = 3 // a segment or init segment left (evicted, dropped)
	kindPin    byte = 4 // a clip pin, created or replaced
	kindUnpin  byte = 5 // a pin removed
	kindPolicy byte = 6 // the event's window and byte cap
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is one decoded log record; which fields mean something depends on
// kind (see appendRecord).
type record struct {
	kind      byte
	seq       uint64 // put, init, del: the body file's number
	path      string // put, init, del
	rendition string // put
	msn       uint64 // put
	dur       int64  // put: nanoseconds
	pdt       int64  // put: Unix nanoseconds
	disc      bool   // put
	dsn       uint64 // put: discontinuity sequence number (absent in older logs: 0)
	mapPath   string // put
	ctype     string // put, init
	size      int64  // put, init
	name      string // pin, unpin
	from, to  int64  // pin: Unix nanoseconds
	window    int64  // policy: nanoseconds
	maxBytes  int64  // policy
}

// appendRecord appends r, framed, to b.
func appendRecord(b []byte, r *record) []byte {
	start := len(b)
	b = append(b, make([]byte, frameLen)...)
	b = append(b, r.kind)
	switch r.kind {
	case kindPut:
		b = binary.AppendUvarint(b, r.seq)
		b = appendString(b, r.path)
		b = appendString(b, r.rendition)
		b = binary.AppendUvarint(b, r.msn)
		b = binary.AppendVarint(b, r.dur)
		b = binary.AppendVarint(b, r.pdt)
		b = append(b, boolByte(r.disc))
		b = appendString(b, r.mapPath)
		b = appendString(b, r.ctype)
		b = binary.AppendVarint(b, r.size)
		b = binary.AppendUvarint(b, r.dsn)
	case kindInit:
		b = binary.AppendUvarint(b, r.seq)
		b = appendString(b, r.path)
		b = appendString(b, r.ctype)
		b = binary.AppendVarint(b, r.size)
	case kindDel:
		b = binary.AppendUvarint(b, r.seq)
		b = appendString(b, r.path)
	case kindPin:
		b = appendString(b, r.name)
		b = binary.AppendVarint(b, r.from)
		b = binary.AppendVarint(b, r.to)
	case kindUnpin:
		b = appendString(b, r.name)
	case kindPolicy:
		b = binary.AppendVarint(b, r.window)
		b = binary.AppendVarint(b, r.maxBytes)
	}
	payload := b[start+frameLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// errBadHeader: the file does not start with logMagic. A crash cannot
// cause it (logs are created whole by rename), so Open refuses to guess.
var errBadHeader = errors.New("not a dvr index log (bad header)")

// replay decodes a whole log. It returns the records of the longest valid
// prefix, the length of that prefix in bytes, and why it stopped early (nil
// if the whole input is valid). A torn header (a prefix of logMagic) gives
// no records, valid 0 and a nil error: the log is empty.
func replay(data []byte) (recs []record, valid int, err error) {
	if len(data) < len(logMagic) {
		if string(data) == logMagic[:len(data)] {
			return nil, 0, nil
		}
		return nil, 0, errBadHeader
	}
	if string(data[:len(logMagic)]) != logMagic {
		return nil, 0, errBadHeader
	}
	off := len(logMagic)
	for off < len(data) {
		rest := data[off:]
		if len(rest) < frameLen {
			return recs, off, fmt.Errorf("torn record frame at offset %d", off)
		}
		n := int(binary.LittleEndian.Uint32(rest))
		sum := binary.LittleEndian.Uint32(rest[4:])
		if n == 0 || n > maxRecord {
			return recs, off, fmt.Errorf("bad record length %d at offset %d", n, off)
		}
		if len(rest) < frameLen+n {
			return recs, off, fmt.Errorf("torn record at offset %d (%d of %d bytes)", off, len(rest)-frameLen, n)
		}
		payload := rest[frameLen : frameLen+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			return recs, off, fmt.Errorf("record checksum mismatch at offset %d", off)
		}
		r, derr := decodeRecord(payload)
		if derr != nil {
			return recs, off, fmt.Errorf("record at offset %d: %w", off, derr)
		}
		recs = append(recs, r)
		off += frameLen + n
	}
	return recs, off, nil
}

// decoder reads one payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("bad %s", what)
	}
}

func (d *decoder) byte1(what string) byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) flag(what string) bool {
	switch d.byte1(what) {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(what)
	return false
}

func decodeRecord(p []byte) (record, error) {
	d := &decoder{b: p}
	r := record{kind: d.byte1("kind")}
	switch r.kind {
	case kindPut:
		r.seq = d.uvarint("seq")
		r.path = d.str("path")
		r.rendition = d.str("rendition")
		r.msn = d.uvarint("msn")
		r.dur = d.varint("duration")
		r.pdt = d.varint("pdt")
		r.disc = d.flag("discontinuity")
		r.mapPath = d.str("map")
		r.ctype = d.str("content type")
		r.size = d.varint("size")
		if len(d.b) > 0 { // added after the first format: optional
			r.dsn = d.uvarint("discontinuity sequence")
		}
	case kindInit:
		r.seq = d.uvarint("seq")
		r.path = d.str("path")
		r.ctype = d.str("content type")
		r.size = d.varint("size")
	case kindDel:
		r.seq = d.uvarint("seq")
		r.path = d.str("path")
	case kindPin:
		r.name = d.str("name")
		r.from = d.varint("from")
		r.to = d.varint("to")
	case kindUnpin:
		r.name = d.str("name")
	case kindPolicy:
		r.window = d.varint("window")
		r.maxBytes = d.varint("max bytes")
	default:
		return r, fmt.Errorf("unknown record kind %d", r.kind)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return r, d.err
}
