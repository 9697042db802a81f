package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// HyperLogLog parameters: precision 14 (16384 registers, a standard error
// of 1.04/sqrt(16384) = 0.81%) over the 64-bit Hash64, so a register holds
// a rank of 1..51.
const (
	hllP      = 14
	hllM      = 1 << hllP
	hllQ      = 64 - hllP
	hllMaxRho = hllQ + 1
	// sparseMax is the number of sparse entries (4 bytes each) above
	// which a sketch turns dense (one byte per register, 16 KiB): half
	// the dense size.
	sparseMax = hllM / 8
)

// ErrSketch is returned for a serialized sketch that does not decode.
var ErrSketch = errors.New("telemetry: bad sketch")

// hllPos splits a hash into a register index (the top 14 bits) and the
// rank of the first 1 bit in the other 50 (51 when they are all zero).
func hllPos(h uint64) (idx uint32, rho uint8) {
	r := bits.LeadingZeros64(h<<hllP|1<<(hllP-1)) + 1
	return uint32(h >> hllQ), uint8(r)
}

// Sketch is a HyperLogLog distinct counter (precision 14, 64-bit hash) that
// starts sparse (a sorted list of the registers set, 4 bytes each) and
// turns dense (16 KiB) past 2048 of them, so a small audience costs little.
// Merging is a register-wise maximum: exact as a union, whatever the order.
// Not safe for concurrent use.
type Sketch struct {
	sparse []uint32 // idx<<8 | rho, sorted by idx, while dense is nil
	dense  []uint8  // hllM registers once the sketch is dense
}

// NewSketch returns an empty sketch.
func NewSketch() *Sketch { return &Sketch{} }

// Add counts the id b.
func (s *Sketch) Add(b []byte) { s.AddHash(Hash64(b)) }

// AddHash counts an id by its Hash64.
func (s *Sketch) AddHash(h uint64) { idx, rho := hllPos(h); s.set(idx, rho) }

// set raises register idx to rho; idx < hllM and 0 < rho <= hllMaxRho.
func (s *Sketch) set(idx uint32, rho uint8) bool {
	if s.dense != nil {
		if s.dense[idx] >= rho {
			return false
		}
		s.dense[idx] = rho
		return true
	}
	i, found := slices.BinarySearchFunc(s.sparse, idx, func(e, idx uint32) int {
		return int(e>>8) - int(idx)
	})
	if found {
		if uint8(s.sparse[i]) >= rho {
			return false
		}
		s.sparse[i] = idx<<8 | uint32(rho)
		return true
	}
	s.sparse = slices.Insert(s.sparse, i, idx<<8|uint32(rho))
	if len(s.sparse) > sparseMax {
		s.toDense()
	}
	return true
}

func (s *Sketch) toDense() {
	s.dense = make([]uint8, hllM)
	for _, e := range s.sparse {
		s.dense[e>>8] = uint8(e)
	}
	s.sparse = nil
}

// Reset empties s, releasing a dense array.
func (s *Sketch) Reset() {
	s.sparse, s.dense = s.sparse[:0], nil
}

// Empty reports whether nothing was added.
func (s *Sketch) Empty() bool { return s.dense == nil && len(s.sparse) == 0 }

// Merge adds every id counted by o to s.
func (s *Sketch) Merge(o *Sketch) {
	if o.dense != nil {
		if s.dense == nil {
			s.toDense()
		}
		for i, r := range o.dense {
			s.dense[i] = max(s.dense[i], r)
		}
		return
	}
	for _, e := range o.sparse {
		s.set(e>>8, uint8(e))
	}
}

// each calls fn for every register that is set, in index order.
func (s *Sketch) each(fn func(idx uint32, rho uint8)) {
	if s.dense != nil {
		for i, r := range s.dense {
			if r != 0 {
				fn(uint32(i), r)
			}
		}
		return
	}
	for _, e := range s.sparse {
		fn(e>>8, uint8(e))
	}
}

// Bytes is the memory the registers take.
func (s *Sketch) Bytes() int {
	if s.dense != nil {
		return cap(s.dense)
	}
	return 4 * cap(s.sparse)
}

// Estimate returns the estimated number of distinct ids, by Ertl's
// improved estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017): unbiased over the whole range without the
// empirical bias tables of HyperLogLog++.
func (s *Sketch) Estimate() uint64 {
	var c [hllMaxRho + 1]int
	if s.dense != nil {
		for _, r := range s.dense {
			c[r]++
		}
	} else {
		c[0] = hllM - len(s.sparse)
		for _, e := range s.sparse {
			c[uint8(e)]++
		}
	}
	return estimate(&c)
}

func estimate(c *[hllMaxRho + 1]int) uint64 {
	const m = float64(hllM)
	if c[0] == hllM {
		return 0
	}
	z := m * hllTau(1-float64(c[hllMaxRho])/m)
	for k := hllQ; k >= 1; k-- {
		z = 0.5 * (z + float64(c[k]))
	}
	z += m * hllSigma(float64(c[0])/m)
	alpha := 1 / (2 * math.Ln2)
	return uint64(math.Round(alpha * m * m / z))
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zp := z
		z += x * y
		y += y
		if z == zp {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zp := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == zp {
			return z / 3
		}
	}
}

// Sketch serialization: a version byte, the precision, then either
// 's' + uvarint count + (uvarint index gap, rank byte) per register set, or
// 'd' + the 16384 ranks packed in 6 bits each (12 KiB).
const sketchVersion = 1

// AppendBinary appends the serialized sketch to b.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, sketchVersion, hllP)
	if s.dense == nil {
		b = append(b, 's')
		return appendSparse(b, s.sparse), nil
	}
	b = append(b, 'd')
	return appendPacked(b, s.dense), nil
}

// MarshalBinary serializes the sketch.
func (s *Sketch) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s with a serialized sketch. A bad one yields an
// error wrapping ErrSketch.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	if len(b) < 3 || b[0] != sketchVersion || b[1] != hllP {
		return fmt.Errorf("%w: header", ErrSketch)
	}
	s.Reset()
	var n int
	var err error
	switch b[2] {
	case 's':
		n, err = readSparse(b[3:], s.set)
	case 'd':
		n, err = readPacked(b[3:], s)
	default:
		err = fmt.Errorf("%w: kind %d", ErrSketch, b[2])
	}
	if err != nil {
		s.Reset()
		return err
	}
	if n != len(b)-3 {
		s.Reset()
		return fmt.Errorf("%w: %d trailing bytes", ErrSketch, len(b)-3-n)
	}
	return nil
}

func appendSparse(b []byte, entries []uint32) []byte {
	b = binary.AppendUvarint(b, uint64(len(entries)))
	prev := uint32(0)
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(e>>8-prev))
		b = append(b, uint8(e))
		prev = e >> 8
	}
	return b
}

// readSparse reads what appendSparse wrote, calling set for each register,
// and returns the bytes read.
func readSparse(b []byte, set func(idx uint32, rho uint8) bool) (int, error) {
	cnt, off := binary.Uvarint(b)
	if off <= 0 || cnt > hllM || cnt*2 > uint64(len(b)-off) {
		return 0, fmt.Errorf("%w: register count", ErrSketch)
	}
	idx := uint64(0)
	for i := uint64(0); i < cnt; i++ {
		gap, n := binary.Uvarint(b[off:])
		if n <= 0 || off+n >= len(b) {
			return 0, fmt.Errorf("%w: register index", ErrSketch)
		}
		off += n
		if i > 0 && gap == 0 || gap >= hllM || idx+gap >= hllM {
			return 0, fmt.Errorf("%w: register index", ErrSketch)
		}
		idx += gap
		rho := b[off]
		off++
		if rho == 0 || rho > hllMaxRho {
			return 0, fmt.Errorf("%w: rank %d", ErrSketch, rho)
		}
		set(uint32(idx), rho)
	}
	return off, nil
}

// appendPacked packs 16384 ranks (< 64) in 6 bits each: 4 in 3 bytes.
func appendPacked(b []byte, regs []uint8) []byte {
	for i := 0; i < len(regs); i += 4 {
		v := uint32(regs[i]) | uint32(regs[i+1])<<6 | uint32(regs[i+2])<<12 | uint32(regs[i+3])<<18
		b = append(b, byte(v), byte(v>>8), byte(v>>16))
	}
	return b
}

const packedLen = hllM / 4 * 3

func readPacked(b []byte, s *Sketch) (int, error) {
	if len(b) < packedLen {
		return 0, fmt.Errorf("%w: short dense sketch", ErrSketch)
	}
	s.dense = make([]uint8, hllM)
	s.sparse = nil
	for i := 0; i < hllM; i += 4 {
		j := i / 4 * 3
		v := uint32(b[j]) | uint32(b[j+1])<<8 | uint32(b[j+2])<<16
		for k := 0; k < 4; k++ {
			r := uint8(v >> (6 * k) & 63)
			if r > hllMaxRho {
				return 0, fmt.Errorf("%w: rank %d", ErrSketch, r)
			}
			s.dense[i+k] = r
		}
	}
	return packedLen, nil
}
