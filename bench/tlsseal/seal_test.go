package tlsseal

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// recordPlaintext is the largest TLS record payload (RFC 8446 5.1), what
// crypto/tls and nginx (ssl_buffer_size 16k) send in bulk.
const recordPlaintext = 16384

func BenchmarkSealRecord(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	plain := make([]byte, recordPlaintext)
	out := make([]byte, 0, recordPlaintext+aead.Overhead())
	header := []byte{23, 3, 3, 0x40, 0x11} // a TLS 1.3 record header as additional data
	b.SetBytes(recordPlaintext)
	b.ReportAllocs()
	for b.Loop() {
		out = aead.Seal(out[:0], nonce, plain, header)
	}
}
