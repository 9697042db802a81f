package token

// The token alphabet is base64url without padding (RFC 4648 section 5).
// Decoding is done by hand from a string: encoding/base64 wants a []byte,
// and converting the token would allocate on every Verify.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// decodeMap maps a character to its 6-bit value, or 0xff.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

func encodedLen(n int) int { return (n*8 + 5) / 6 }

func encode(src []byte) string {
	dst := make([]byte, 0, encodedLen(len(src)))
	var acc uint32
	bits := 0
	for _, b := range src {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 6 {
			bits -= 6
			dst = append(dst, alphabet[acc>>bits&0x3f])
		}
	}
	if bits > 0 {
		dst = append(dst, alphabet[acc<<(6-bits)&0x3f])
	}
	return string(dst)
}

// decode writes the bytes of s into dst and reports how many. It refuses
// characters outside the alphabet, a length that cannot be base64 (one
// character left over) and non-zero padding bits, so each byte string has
// exactly one token spelling.
func decode(dst []byte, s string) (int, bool) {
	if len(s)%4 == 1 || len(s)*6/8 > len(dst) {
		return 0, false
	}
	var acc uint32
	bits, n := 0, 0
	for i := 0; i < len(s); i++ {
		v := decodeMap[s[i]]
		if v == 0xff {
			return 0, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	if acc&(1<<bits-1) != 0 {
		return 0, false
	}
	return n, true
}
