package token

import "crypto/sha256"

const blockSize = 64 // SHA-256 block size

// sum returns HMAC-SHA256(secret, msg) (RFC 2104) without allocating, for
// messages up to maxRaw bytes: crypto/hmac allocates two hash states per
// call, which Verify cannot afford on every request. Longer messages (only
// Sign could pass one) fall back to a heap buffer.
func sum(secret, msg []byte) [sha256.Size]byte {
	var k [blockSize]byte
	if len(secret) > blockSize {
		h := sha256.Sum256(secret)
		copy(k[:], h[:])
	} else {
		copy(k[:], secret)
	}
	var stack [blockSize + maxRaw]byte
	inner := stack[:0]
	if blockSize+len(msg) > len(stack) {
		inner = make([]byte, 0, blockSize+len(msg))
	}
	for _, c := range k {
		inner = append(inner, c^0x36)
	}
	inner = append(inner, msg...)
	ih := sha256.Sum256(inner)
	var outer [blockSize + sha256.Size]byte
	for i, c := range k {
		outer[i] = c ^ 0x5c
	}
	copy(outer[blockSize:], ih[:])
	return sha256.Sum256(outer[:])
}
