package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Labels name a series.
type Labels struct {
	Event     string `json:"event,omitempty"`
	Region    string `json:"region,omitempty"`
	Pathway   string `json:"pathway,omitempty"`
	Rendition string `json:"rendition,omitempty"`
}

func compareLabels(a, b Labels) int {
	if c := strings.Compare(a.Event, b.Event); c != 0 {
		return c
	}
	if c := strings.Compare(a.Region, b.Region); c != 0 {
		return c
	}
	if c := strings.Compare(a.Pathway, b.Pathway); c != 0 {
		return c
	}
	return strings.Compare(a.Rendition, b.Rendition)
}

// Delta is what one node recorded in about one second: per series, the
// counters and startup histogram of that second and the sketch registers
// raised in the current slot. Deltas are additive (two for the same second
// add up) and idempotent for sessions (a register is a maximum), and carry
// no state between them: a lost delta loses its second's counts, nothing
// else.
type Delta struct {
	Epoch       uint64 // the node's run (RecorderConfig.Epoch)
	Seq         uint64 // 1, 2, ... within an epoch
	Second      int64  // Unix second the counts belong to
	SlotSeconds uint32 // sketch slot width
	Overflow    uint64 // observations that went to the overflow series
	series      []seriesDelta
}

type seriesDelta struct {
	labels Labels
	c      [numCounters]uint64
	h      [numBuckets]uint64
	slot   int64    // sketch slot of regs
	regs   []uint32 // idx<<8 | rho, ascending idx
}

// Len returns the number of series in d.
func (d *Delta) Len() int { return len(d.series) }

// Limits of a delta accepted from the network.
const (
	// MaxDeltaBytes bounds an encoded delta: 1024 series each with a full
	// sketch (the worst second of a flash crowd) is about 13 MiB.
	MaxDeltaBytes = 16 << 20
	// MaxDeltaSeries bounds the series of one delta.
	MaxDeltaSeries = 1 << 16
)

// ErrDelta is wrapped by every error decoding a delta.
var ErrDelta = errors.New("telemetry: bad delta")

// Wire format, version 1 (integers are unsigned LEB128 varints unless
// noted; all counts are bounded by the bytes that remain):
//
//	"RT" 1
//	epoch seq second(zigzag) slot_seconds overflow
//	nstrings { len bytes }               label strings, each once
//	nseries {
//	  event region pathway rendition     indexes into the strings
//	  mask { value }                     counters: bit i set = counter i follows
//	  mask { value }                     startup histogram buckets, likewise
//	  kind                               0: no sketch update
//	                                     1: slot(zigzag) n { index gap, rank byte }
//	                                     2: slot(zigzag) 12288 bytes, 16384 6-bit ranks
//	}
const (
	deltaVersion   = 1
	regsNone       = 0
	regsSparse     = 1
	regsPacked     = 2
	packedAtUpdate = packedLen / 2 // sparse costs about 2 bytes a register
)

// AppendBinary appends d's encoding to b.
func (d *Delta) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, 'R', 'T', deltaVersion)
	b = binary.AppendUvarint(b, d.Epoch)
	b = binary.AppendUvarint(b, d.Seq)
	b = binary.AppendVarint(b, d.Second)
	b = binary.AppendUvarint(b, uint64(d.SlotSeconds))
	b = binary.AppendUvarint(b, d.Overflow)
	strs := map[string]uint64{}
	var order []string
	for i := range d.series {
		l := &d.series[i].labels
		for _, s := range [4]string{l.Event, l.Region, l.Pathway, l.Rendition} {
			if _, ok := strs[s]; !ok {
				if len(s) > 255 {
					return nil, fmt.Errorf("telemetry: encode delta: label %.20q... is %d bytes", s, len(s))
				}
				strs[s] = uint64(len(order))
				order = append(order, s)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(order)))
	for _, s := range order {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(d.series)))
	var regs [hllM]uint8
	for i := range d.series {
		sd := &d.series[i]
		l := &sd.labels
		for _, s := range [4]string{l.Event, l.Region, l.Pathway, l.Rendition} {
			b = binary.AppendUvarint(b, strs[s])
		}
		b = appendMasked(b, sd.c[:])
		b = appendMasked(b, sd.h[:])
		switch {
		case len(sd.regs) == 0:
			b = append(b, regsNone)
		case len(sd.regs) < packedAtUpdate:
			b = append(b, regsSparse)
			b = binary.AppendVarint(b, sd.slot)
			b = appendSparse(b, sd.regs)
		default:
			b = append(b, regsPacked)
			b = binary.AppendVarint(b, sd.slot)
			clear(regs[:])
			for _, e := range sd.regs {
				regs[e>>8] = uint8(e)
			}
			b = appendPacked(b, regs[:])
		}
	}
	return b, nil
}

// MarshalBinary encodes d.
func (d *Delta) MarshalBinary() ([]byte, error) { return d.AppendBinary(nil) }

func appendMasked(b []byte, v []uint64) []byte {
	var mask uint64
	for i, x := range v {
		if x != 0 {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, mask)
	for _, x := range v {
		if x != 0 {
			b = binary.AppendUvarint(b, x)
		}
	}
	return b
}

// DecodeDelta decodes a delta received from the network. Every problem is
// an error wrapping ErrDelta, never a panic; memory is bounded by the
// input's length (at most MaxDeltaBytes).
func DecodeDelta(b []byte) (*Delta, error) {
	if len(b) > MaxDeltaBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrDelta, len(b), MaxDeltaBytes)
	}
	if len(b) < 3 || b[0] != 'R' || b[1] != 'T' || b[2] != deltaVersion {
		return nil, fmt.Errorf("%w: not a version %d delta", ErrDelta, deltaVersion)
	}
	r := &reader{b: b, off: 3}
	d := &Delta{Epoch: r.uvarint(), Seq: r.uvarint(), Second: r.varint()}
	if ss := r.uvarint(); ss >= 1 && ss <= 60 {
		d.SlotSeconds = uint32(ss)
	} else {
		r.fail("slot_seconds: %d", ss)
	}
	d.Overflow = r.uvarint()
	strs := make([]string, r.count(4*MaxDeltaSeries, "strings"))
	for i := range strs {
		n := int(r.count(255, "label length"))
		strs[i] = string(r.bytes(n))
	}
	d.series = make([]seriesDelta, r.count(MaxDeltaSeries, "series"))
	for i := range d.series {
		sd := &d.series[i]
		var l [4]string
		for j := range l {
			k := r.uvarint()
			if k >= uint64(len(strs)) {
				r.fail("label index %d of %d", k, len(strs))
				break
			}
			l[j] = strs[k]
		}
		sd.labels = Labels{l[0], l[1], l[2], l[3]}
		r.masked(sd.c[:])
		r.masked(sd.h[:])
		switch kind := r.byte(); kind {
		case regsNone:
		case regsSparse:
			sd.slot = r.varint()
			if r.err != nil {
				break
			}
			n, err := readSparse(r.b[r.off:], func(idx uint32, rho uint8) bool {
				sd.regs = append(sd.regs, idx<<8|uint32(rho))
				return true
			})
			if err != nil {
				r.fail("series %d sketch: %v", i, err)
			}
			r.off += n
		case regsPacked:
			sd.slot = r.varint()
			if r.err != nil {
				break
			}
			var s Sketch
			n, err := readPacked(r.b[r.off:], &s)
			if err != nil {
				r.fail("series %d sketch: %v", i, err)
			}
			r.off += n
			s.each(func(idx uint32, rho uint8) { sd.regs = append(sd.regs, idx<<8|uint32(rho)) })
		default:
			r.fail("series %d: sketch kind %d", i, kind)
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if r.err == nil && r.off != len(b) {
		r.fail("%d trailing bytes", len(b)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return d, nil
}

// reader decodes varints with a sticky error.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrDelta, fmt.Sprintf(format, args...))
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint at byte %d", r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint at byte %d", r.off)
		return 0
	}
	r.off += n
	return v
}

// count reads a count of at most limit items, each taking at least a
// byte, so that a forged count cannot make the decoder allocate more than
// the input's size.
func (r *reader) count(limit uint64, what string) uint64 {
	v := r.uvarint()
	if r.err == nil && (v > limit || v > uint64(len(r.b)-r.off)) {
		r.fail("%s: %d", what, v)
		return 0
	}
	return v
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.fail("short by %d bytes", n-(len(r.b)-r.off))
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *reader) byte() byte {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *reader) masked(dst []uint64) {
	mask := r.uvarint()
	if mask>>len(dst) != 0 {
		r.fail("mask %#x has bits beyond %d values", mask, len(dst))
		return
	}
	for i := range dst {
		if mask&(1<<i) != 0 {
			dst[i] = r.uvarint()
		}
	}
}
