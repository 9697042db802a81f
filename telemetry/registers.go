package telemetry

import "sync/atomic"

// registers is a Recorder's dense HyperLogLog for one series, written by
// many goroutines at once: four 8-bit registers per atomic word, raised by
// compare-and-swap (rarely: once a session is in, its register is already
// high enough and Record only loads), and a bitmap of the registers raised
// since the last drain, so a delta carries only those. 18 KiB.
type registers struct {
	words [hllM / 4]atomic.Uint32
	dirty [hllM / 64]atomic.Uint64
}

func (r *registers) add(h uint64) {
	idx, rho := hllPos(h)
	w := &r.words[idx/4]
	shift := (idx % 4) * 8
	for {
		old := w.Load()
		if uint8(old>>shift) >= rho {
			return
		}
		if w.CompareAndSwap(old, old&^(0xff<<shift)|uint32(rho)<<shift) {
			break
		}
	}
	r.dirty[idx/64].Or(1 << (idx % 64))
}

// drain appends the registers raised since the last drain (idx<<8 | rho,
// in index order) to dst. A register raised during the drain is sent now
// or next time, never lost: its dirty bit is set after the raise.
func (r *registers) drain(dst []uint32) []uint32 {
	for i := range r.dirty {
		if r.dirty[i].Load() == 0 {
			continue
		}
		bitsSet := r.dirty[i].Swap(0)
		for b := 0; bitsSet != 0; b++ {
			if bitsSet&1 != 0 {
				idx := uint32(i*64 + b)
				rho := uint8(r.words[idx/4].Load() >> ((idx % 4) * 8))
				dst = append(dst, idx<<8|uint32(rho))
			}
			bitsSet >>= 1
		}
	}
	return dst
}

// clear zeroes the registers for a new slot. Requests racing with it may
// land in either slot.
func (r *registers) clear() {
	for i := range r.words {
		if r.words[i].Load() != 0 {
			r.words[i].Store(0)
		}
	}
	for i := range r.dirty {
		r.dirty[i].Store(0)
	}
}
