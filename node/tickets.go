package node

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/ringside-live/ringside/control"
)

// Session tickets let a player resume TLS without a full handshake. For a
// resumption to work on any edge, every edge must hold the same ticket
// keys, and they must rotate. The one secret every player-facing node
// already holds, and only those verified nodes (it comes from the control
// plane over mutual TLS), is the document's playback signing key: ticket
// keys are derived from it with HKDF under their own label (domain
// separation: knowing a ticket key says nothing about the signing key), one
// per hour. A node encrypts with the current hour's key and decrypts with
// the previous and next hours' (clock skew between edges) and with those
// of the previous signing key, so rotating the signing key (ringside ctl
// keys rotate) also replaces every ticket key. Without a signing key, each
// node keeps crypto/tls's own random keys (resumption on that node only).

// ticketEpoch is how long one ticket key encrypts new tickets; a ticket
// stays usable for about two epochs.
const ticketEpoch = time.Hour

const ticketLabel = "ringside tls session tickets v1"

// ticketKeys derives the ticket keys of the document's signing keys at
// now: the current epoch's key of the current signing key first (it
// encrypts), then the ones that may still decrypt. nil without a key.
func ticketKeys(d control.SigningKeys, now time.Time) [][32]byte {
	epoch := now.Unix() / int64(ticketEpoch/time.Second)
	var keys [][32]byte
	for i, k := range []*control.SigningKey{d.Current, d.Previous} {
		if k == nil || len(k.Secret) == 0 {
			continue
		}
		epochs := []int64{epoch, epoch + 1, epoch - 1}
		if i > 0 {
			epochs = []int64{epoch, epoch - 1}
		}
		for _, e := range epochs {
			var info [8]byte
			binary.BigEndian.PutUint64(info[:], uint64(e))
			b, err := hkdf.Key(sha256.New, k.Secret, []byte(ticketLabel), string(info[:]), 32)
			if err != nil {
				continue // cannot happen for 32 bytes of SHA-256
			}
			keys = append(keys, [32]byte(b))
		}
	}
	return keys
}

// tickets keeps the HTTPS listener's ticket keys derived from the
// document being served, re-derived when the document changes and at
// every epoch.
type tickets struct {
	n    *running
	mu   sync.Mutex
	keys control.SigningKeys
}

// set takes the signing keys of a newly applied document.
func (t *tickets) set(keys control.SigningKeys) {
	t.mu.Lock()
	t.keys = keys
	t.mu.Unlock()
	t.apply()
}

func (t *tickets) apply() {
	t.mu.Lock()
	keys := ticketKeys(t.keys, time.Now())
	t.mu.Unlock()
	if len(keys) > 0 {
		t.n.https.SetTicketKeys(keys)
	}
}

// run re-derives the keys at each epoch boundary until the node stops.
func (t *tickets) run() {
	for {
		wait := time.Until(time.Now().Truncate(ticketEpoch).Add(ticketEpoch))
		select {
		case <-t.n.ctx.Done():
			return
		case <-time.After(wait):
			t.apply()
		}
	}
}
