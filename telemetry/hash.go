package telemetry

import (
	"encoding/binary"
	"math/bits"
)

// Hash64 is the hash of session ids in every sketch. It is part of the
// wire contract (all nodes must hash alike for their sketches to merge),
// so it is fixed, not seeded: 8 bytes at a time through a multiply-rotate
// mix, then the MurmurHash3 64-bit finalizer, whose avalanche gives the
// uniform high bits a HyperLogLog needs. Not a defence against a client
// choosing ids to collide: such a client can only make itself count less.
func Hash64(b []byte) uint64 {
	const (
		k1 = 0x9e3779b97f4a7c15
		k2 = 0xc2b2ae3d27d4eb4f
		k3 = 0x165667b19e3779f9
	)
	h := uint64(len(b))*k1 ^ k3
	for len(b) >= 8 {
		v := binary.LittleEndian.Uint64(b)
		h ^= bits.RotateLeft64(v*k2, 31) * k1
		h = bits.RotateLeft64(h, 27)*k1 + k3
		b = b[8:]
	}
	if len(b) > 0 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		h ^= bits.RotateLeft64(v*k2, 31) * k1
		h = bits.RotateLeft64(h, 27)*k1 + k3
	}
	return fmix64(h)
}

func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
