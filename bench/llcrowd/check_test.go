package llcrowd

import (
	"bytes"
	"testing"

	"github.com/ringside-live/ringside/bench/originsim"
)

func TestBodyCheck(t *testing.T) {
	const path = "r0/12.3.m4s"
	good := originsim.Body(path, 30000)
	flipped := bytes.Clone(good)
	flipped[5000] ^= 1
	tests := []struct {
		name       string
		path       string
		body       []byte
		full, head bool // want OK from the full and the header check
	}{
		{"good", path, good, true, true},
		{"another part's body", "r0/12.2.m4s", good, false, false},
		{"truncated", path, good[:len(good)-1], false, false},
		{"extended", path, append(bytes.Clone(good), 0), false, false},
		{"header only", path, good[:originsim.MinSize], false, false},
		{"a payload byte flipped", path, flipped, false, true}, // only the full check sees it
		{"empty", path, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, full := range []bool{true, false} {
				c := newBodyCheck(tt.path, full)
				for rest := tt.body; len(rest) > 0; { // in pieces, as the network splits it
					n := min(len(rest), 7)
					_, _ = c.Write(rest[:n])
					rest = rest[n:]
				}
				want := tt.head
				if full {
					want = tt.full
				}
				if c.OK() != want || (want || !full) && c.Written() != len(tt.body) {
					t.Fatalf("full=%v: OK %v (want %v), written %d", full, c.OK(), want, c.Written())
				}
			}
		})
	}
}
