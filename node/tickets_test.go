package node

import (
	"bytes"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
)

// TestTicketKeys: the same document gives every node the same keys; the
// encrypting key changes every epoch and with the signing key, and the
// previous epoch's and the previous signing key's still decrypt.
func TestTicketKeys(t *testing.T) {
	k1 := &control.SigningKey{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}
	k2 := &control.SigningKey{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32)}
	at := time.Date(2026, 11, 30, 20, 30, 0, 0, time.UTC)
	if ticketKeys(control.SigningKeys{}, at) != nil {
		t.Fatal("keys without a signing key")
	}
	a := ticketKeys(control.SigningKeys{Current: k1}, at)
	b := ticketKeys(control.SigningKeys{Current: k1}, at.Add(10*time.Minute))
	if len(a) != 3 || a[0] != b[0] {
		t.Fatalf("same epoch, same document: %d keys, equal first: %v", len(a), a[0] == b[0])
	}
	next := ticketKeys(control.SigningKeys{Current: k1}, at.Add(time.Hour))
	if next[0] == a[0] || next[2] != a[0] || a[1] != next[0] {
		t.Fatal("the next epoch must encrypt with a new key and still decrypt the previous one (and be known ahead)")
	}
	rot := ticketKeys(control.SigningKeys{Current: k2, Previous: k1}, at)
	if len(rot) != 5 || rot[0] == a[0] || rot[3] != a[0] {
		t.Fatal("after a signing key rotation, a new key encrypts and the old one still decrypts")
	}
	if a[0] == [32]byte(k1.Secret) {
		t.Fatal("the ticket key is the signing secret itself")
	}
}
