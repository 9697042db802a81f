package bmff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by ParseInit, Scanner.Write and
// Scanner.Close wraps exactly one of them and names the box and its byte
// offset.
var (
	// ErrMalformed: the bytes break a rule of ISO/IEC 14496-12 (a box smaller
	// than its header, a child larger than its parent, an mdat with no moof
	// before it, a missing mandatory box).
	ErrMalformed = errors.New("bmff: malformed")
	// ErrTruncated: the input ended inside a box, or a field runs past the
	// end of its box.
	ErrTruncated = errors.New("bmff: truncated")
	// ErrLimit: a size or count is larger than Config allows (or than any
	// sane live stream would use).
	ErrLimit = errors.New("bmff: limit exceeded")
)

// boxError is a failure at one box. It matches its kind with errors.Is.
type boxError struct {
	kind error
	box  string // path such as "moof/traf/trun", or "" for the stream
	off  int64  // byte offset of the box in its input, -1 if unknown
	msg  string
}

func (e *boxError) Error() string {
	switch {
	case e.box == "" && e.off < 0:
		return fmt.Sprintf("bmff: %s", e.msg)
	case e.box == "":
		return fmt.Sprintf("bmff: at offset %d: %s", e.off, e.msg)
	case e.off < 0:
		return fmt.Sprintf("bmff: %s: %s", e.box, e.msg)
	}
	return fmt.Sprintf("bmff: %s at offset %d: %s", e.box, e.off, e.msg)
}

func (e *boxError) Unwrap() error { return e.kind }

func errorf(kind error, box string, off int64, format string, args ...any) error {
	return &boxError{kind: kind, box: box, off: off, msg: fmt.Sprintf(format, args...)}
}

// fourcc is a box or sample-entry type as a big-endian integer, so that the
// hot path compares integers rather than strings.
type fourcc uint32

func fcc(s string) fourcc {
	return fourcc(uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3]))
}

// String renders the four characters, escaping anything not printable so
// that hostile input cannot put control bytes into logs.
func (f fourcc) String() string {
	b := [4]byte{byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%08x", uint32(f))
		}
	}
	return string(b[:])
}

var (
	typFtyp = fcc("ftyp")
	typMoov = fcc("moov")
	typMvhd = fcc("mvhd")
	typMvex = fcc("mvex")
	typTrex = fcc("trex")
	typTrak = fcc("trak")
	typTkhd = fcc("tkhd")
	typMdia = fcc("mdia")
	typMdhd = fcc("mdhd")
	typHdlr = fcc("hdlr")
	typMinf = fcc("minf")
	typStbl = fcc("stbl")
	typStsd = fcc("stsd")
	typSinf = fcc("sinf")
	typFrma = fcc("frma")
	typMoof = fcc("moof")
	typMfhd = fcc("mfhd")
	typTraf = fcc("traf")
	typTfhd = fcc("tfhd")
	typTfdt = fcc("tfdt")
	typTrun = fcc("trun")
	typMdat = fcc("mdat")
	typPrft = fcc("prft")
	typMfra = fcc("mfra")
	typMeta = fcc("meta")
	typUUID = fcc("uuid")
)

// boxIter walks the boxes packed in b (the payload of a container, or a
// whole file). Sizes are checked against what is left, so a child can
// never reach past its parent; size 0 means "to the end of b" and size 1
// a 64-bit largesize. The usertype of a uuid box stays in body.
type boxIter struct {
	b    []byte
	base int64 // offset of b[0] in the input, for error messages
	// path holds the types of the enclosing boxes, outermost first, kept
	// as integers so that descending allocates nothing; it becomes a
	// string only in an error message.
	path  [maxPath]fourcc
	depth int
	off   int64 // offset of the current box
	typ   fourcc
	body  []byte
	err   error
}

func (it *boxIter) next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	it.off = it.base
	if len(it.b) < 8 {
		it.err = errorf(ErrTruncated, it.parentName(), it.off, "%d bytes left, too few for a box header", len(it.b))
		return false
	}
	size := uint64(binary.BigEndian.Uint32(it.b))
	it.typ = fourcc(binary.BigEndian.Uint32(it.b[4:]))
	hdr := uint64(8)
	switch size {
	case 0:
		size = uint64(len(it.b))
	case 1:
		if len(it.b) < 16 {
			it.err = errorf(ErrTruncated, it.name(), it.off, "largesize header cut short")
			return false
		}
		size, hdr = binary.BigEndian.Uint64(it.b[8:]), 16
	}
	if size < hdr {
		it.err = errorf(ErrMalformed, it.name(), it.off, "size %d is smaller than its %d-byte header", size, hdr)
		return false
	}
	if size > uint64(len(it.b)) {
		it.err = errorf(ErrTruncated, it.name(), it.off, "size %d but only %d bytes left", size, len(it.b))
		return false
	}
	it.body = it.b[hdr:size]
	it.b = it.b[size:]
	it.base += int64(size)
	return true
}

// maxPath is the deepest path recorded; the parsers descend at most
// moov/trak/mdia/minf/stbl/stsd/<entry>/sinf/frma.
const maxPath = 10

// parentName is the path of the enclosing box, "" at the top level.
func (it *boxIter) parentName() string {
	var sb strings.Builder
	for i, t := range it.path[:it.depth] {
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(t.String())
	}
	return sb.String()
}

// name is the path of the current box, for error messages.
func (it *boxIter) name() string {
	if p := it.parentName(); p != "" {
		return p + "/" + it.typ.String()
	}
	return it.typ.String()
}

// bodyOff is the offset of the current box's payload.
func (it *boxIter) bodyOff() int64 {
	return it.base - int64(len(it.body))
}

// child returns an iterator over the current box's payload, skipping skip
// bytes first (a full box header, a sample entry's fixed fields).
func (it *boxIter) child(skip int) boxIter {
	c := boxIter{path: it.path, depth: it.depth, base: it.bodyOff()}
	if c.depth < maxPath {
		c.path[c.depth] = it.typ
		c.depth++
	}
	if skip > len(it.body) {
		c.err = errorf(ErrTruncated, c.parentName(), it.off, "payload of %d bytes, need %d", len(it.body), skip)
		return c
	}
	c.b, c.base = it.body[skip:], c.base+int64(skip)
	return c
}

// cursor reads big-endian fields; reading past the end sets short and
// returns zeros, so parsers check once at the end instead of per field.
type cursor struct {
	b     []byte
	short bool
}

func (c *cursor) take(n int) []byte {
	if c.short || n > len(c.b) || n < 0 {
		c.short = true
		return nil
	}
	p := c.b[:n]
	c.b = c.b[n:]
	return p
}

func (c *cursor) skip(n int) { c.take(n) }

func (c *cursor) u8() uint8 {
	if p := c.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if p := c.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if p := c.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if p := c.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// fullBox reads the version and flags of a FullBox.
func (c *cursor) fullBox() (version uint8, flags uint32) {
	v := c.u32()
	return uint8(v >> 24), v & 0xffffff
}
