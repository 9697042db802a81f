package originsim

import (
	"bytes"
	"hash/fnv"
	"io"
	"testing"
)

func TestBodyVerify(t *testing.T) {
	const path = "r0/seg12.ts"
	good := Body(path, 1000)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		path string
		body []byte
		want bool
	}{
		{"good", path, good, true},
		{"min size", path, Body(path, MinSize), true},
		{"odd size", path, Body(path, 1001), true},
		{"other path", "r0/seg13.ts", good, false},
		{"flipped header seed", path, flip(3), false},
		{"flipped header size", path, flip(12), false},
		{"flipped first payload byte", path, flip(16), false},
		{"flipped last byte", path, flip(len(good) - 1), false},
		{"truncated", path, good[:len(good)-1], false},
		{"extended", path, append(bytes.Clone(good), 0), false},
		{"header only of a longer body", path, good[:MinSize], false},
		{"empty", path, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.path, tt.body); got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBodyDeterministic(t *testing.T) {
	a, b := Body("r1/seg7.ts", 4096), Body("r1/seg7.ts", 4096)
	if !bytes.Equal(a, b) {
		t.Fatal("same path and size gave different bodies")
	}
	if c := Body("r1/seg8.ts", 4096); bytes.Equal(a[MinSize:], c[MinSize:]) {
		t.Fatal("different paths gave the same payload")
	}
}

// The Reader and the Verifier must agree with Body and Verify whatever the
// chunking, since the network splits bodies anywhere.
func TestStreamingMatchesWhole(t *testing.T) {
	const path, size = "r2/seg99.ts", 10007
	want := Body(path, size)
	for _, chunk := range []int{1, 3, 7, 8, 9, 16, 4096, 20000} {
		r := NewReader(path, size)
		var got bytes.Buffer
		v := NewVerifier(path)
		buf := make([]byte, chunk)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			_, _ = v.Write(buf[:n])
			if err == io.EOF {
				break
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("chunk %d: reader differs from Body", chunk)
		}
		if !v.OK() || v.Written() != size {
			t.Fatalf("chunk %d: verifier OK=%v written=%d", chunk, v.OK(), v.Written())
		}
	}
}

func BenchmarkBody(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	for b.Loop() {
		_ = Body("r2/seg123456.ts", 1<<20)
	}
}

func BenchmarkReader(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		r := NewReader("r2/seg123456.ts", 1<<20)
		for r.Len() > 0 {
			_, _ = r.Read(buf)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	body := Body("r2/seg123456.ts", 1<<20)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !Verify("r2/seg123456.ts", body) {
			b.Fatal("mismatch")
		}
	}
}

func TestSeedIsFNV1a(t *testing.T) {
	h := fnv.New64a()
	_, _ = io.WriteString(h, "r0/seg12.ts")
	if Seed("r0/seg12.ts") != h.Sum64() {
		t.Fatal("Seed is not FNV-1a 64")
	}
}
