package originsim

import (
	"encoding/binary"
	"io"
)

// A body is a 16-byte header followed by a keyed pseudo-random stream:
//
//	[0:8)   FNV-1a 64 of the path, big endian (the seed)
//	[8:16)  the body size in bytes, big endian
//	[16:n)  little-endian words mix(seed, i) for word index i = offset/8
//
// Every byte is a function of (path, size, offset), so a generator can start
// anywhere (paced writes, ranges) and a verifier can check a body as it
// streams in without buffering it. The header lets a verifier catch a body
// served under the wrong path, a truncated body and an extended one.
const headerLen = 16

// MinSize is the smallest body size: the header alone.
const MinSize = headerLen

// Seed returns the seed of the body of path.
func Seed(path string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a 64, inlined: hash/fnv allocates
	for i := 0; i < len(path); i++ {
		h ^= uint64(path[i])
		h *= 1099511628211
	}
	return h
}

// mix is the splitmix64 finaliser of seed+i*golden: cheap, and every output
// bit depends on both inputs.
func mix(seed, i uint64) uint64 {
	z := seed + i*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// byteAt returns byte off of the body with the given seed and size.
func byteAt(seed uint64, size, off int) byte {
	switch {
	case off < 8:
		return byte(seed >> (56 - 8*off))
	case off < headerLen:
		return byte(uint64(size) >> (56 - 8*(off-8)))
	default:
		return byte(mix(seed, uint64(off/8)) >> (8 * (off % 8)))
	}
}

// fill writes the body bytes [off, off+len(dst)) into dst.
func fill(dst []byte, seed uint64, size, off int) {
	i := 0
	for i < len(dst) {
		pos := off + i
		if pos >= headerLen && pos%8 == 0 && len(dst)-i >= 8 {
			binary.LittleEndian.PutUint64(dst[i:], mix(seed, uint64(pos/8)))
			i += 8
			continue
		}
		dst[i] = byteAt(seed, size, pos)
		i++
	}
}

// Body returns the body of the segment at path (relative to the event root,
// e.g. "r0/seg12.ts") with the given size. Sizes below MinSize are raised
// to MinSize.
func Body(path string, size int) []byte {
	size = max(size, MinSize)
	b := make([]byte, size)
	fill(b, Seed(path), size, 0)
	return b
}

// Verify reports whether body is exactly the body Body would return for
// path, whatever its size: the header names the path and the size.
func Verify(path string, body []byte) bool {
	v := Verifier{seed: Seed(path)}
	_, _ = v.Write(body)
	return v.OK()
}

// Reader streams the body of one segment. It is not safe for concurrent use.
type Reader struct {
	seed uint64
	size int
	off  int
}

// NewReader returns a Reader of the body of path with the given size.
func NewReader(path string, size int) *Reader {
	return &Reader{seed: Seed(path), size: max(size, MinSize)}
}

// Len returns the number of bytes not yet read.
func (r *Reader) Len() int { return r.size - r.off }

// Read fills p with the next bytes of the body.
func (r *Reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := min(len(p), r.size-r.off)
	fill(p[:n], r.seed, r.size, r.off)
	r.off += n
	return n, nil
}

// Verifier checks a body as it is written to it, without keeping it. It is
// not safe for concurrent use.
type Verifier struct {
	seed uint64
	size int // declared by the header; valid once off >= headerLen
	off  int
	bad  bool
}

// NewVerifier returns a Verifier for the body of path.
func NewVerifier(path string) *Verifier { return &Verifier{seed: Seed(path)} }

// Write checks p against the expected bytes. It never fails: call OK at the
// end of the body.
func (v *Verifier) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !v.bad {
		switch {
		case v.off < 8:
			v.bad = p[0] != byte(v.seed>>(56-8*v.off))
		case v.off < headerLen:
			v.size = v.size<<8 | int(p[0])
		case v.off >= v.size:
			v.bad = true // longer than declared
		case v.off%8 == 0 && len(p) >= 8 && v.size-v.off >= 8:
			v.bad = binary.LittleEndian.Uint64(p) != mix(v.seed, uint64(v.off/8))
			v.off += 8
			p = p[8:]
			continue
		default:
			v.bad = p[0] != byteAt(v.seed, v.size, v.off)
		}
		v.off++
		p = p[1:]
	}
	return n, nil
}

// OK reports whether everything written so far is one whole, correct body.
func (v *Verifier) OK() bool {
	return !v.bad && v.off >= headerLen && v.off == v.size
}

// Written returns the number of bytes checked so far.
func (v *Verifier) Written() int { return v.off }

var (
	_ io.Reader = (*Reader)(nil)
	_ io.Writer = (*Verifier)(nil)
)
