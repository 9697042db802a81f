package llcrowd

import (
	"encoding/binary"
	"io"

	"github.com/ringside-live/ringside/bench/originsim"
)

// bodyCheck verifies a part body as it streams in: every byte
// (originsim's verifier) on the turns a player checks in full, otherwise
// its header (the seed of its path and its size) and its length, which
// catch a body served under the wrong path, a truncated one and an
// extended one at a fraction of the cost.
type bodyCheck interface {
	io.Writer
	OK() bool
	Written() int
}

func newBodyCheck(path string, full bool) bodyCheck {
	if full {
		return originsim.NewVerifier(path)
	}
	return &headCheck{seed: originsim.Seed(path)}
}

// headCheck checks an originsim body's 16-byte header and length.
type headCheck struct {
	seed uint64
	head [originsim.MinSize]byte
	n    int
}

func (h *headCheck) Write(p []byte) (int, error) {
	if h.n < len(h.head) {
		copy(h.head[h.n:], p)
	}
	h.n += len(p)
	return len(p), nil
}

func (h *headCheck) OK() bool {
	return h.n >= len(h.head) && binary.BigEndian.Uint64(h.head[:8]) == h.seed &&
		binary.BigEndian.Uint64(h.head[8:]) == uint64(h.n)
}

func (h *headCheck) Written() int { return h.n }

var _ bodyCheck = (*headCheck)(nil)
