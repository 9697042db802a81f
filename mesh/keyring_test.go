package mesh

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

var (
	oldKey = []byte("0123456789abcdef")                 // AES-128
	newKey = []byte("an-aes-256-key-for-the-rotation!") // AES-256
)

func withKey(k []byte) func(*Config) { return func(c *Config) { c.SecretKey = k } }

// TestKeyRotation: install the new key everywhere, use it everywhere,
// remove the old one everywhere; the mesh stays whole throughout, and a
// node that has only the old key cannot join afterwards.
func TestKeyRotation(t *testing.T) {
	nodes := cluster(t, withKey(oldKey), "node-a", "node-b", "node-c")
	var events []<-chan Event
	for _, n := range nodes {
		ch, cancel := n.Subscribe(64)
		t.Cleanup(cancel)
		events = append(events, ch)
	}
	steps := []struct {
		name        string
		do          func(*Mesh) error
		primary     []byte
		keys        [][]byte
		gossipProbe float64 // a Load node-a gossips after the step, which all must see
	}{
		{"install new", func(m *Mesh) error { return m.InstallKey(newKey) }, oldKey, [][]byte{oldKey, newKey}, 0.2},
		{"use new", func(m *Mesh) error { return m.UseKey(newKey) }, newKey, [][]byte{newKey, oldKey}, 0.3},
		{"remove old", func(m *Mesh) error { return m.RemoveKey(oldKey) }, newKey, [][]byte{newKey}, 0.4},
	}
	for _, s := range steps {
		for _, n := range nodes {
			if err := s.do(n.Mesh); err != nil {
				t.Fatalf("%s on %s: %v", s.name, n.id, err)
			}
			primary, all := n.Keys()
			if !bytes.Equal(primary, s.primary) || !equalKeys(all, s.keys) {
				t.Fatalf("%s on %s: Keys = %q, %q; want %q, %q", s.name, n.id, primary, all, s.primary, s.keys)
			}
		}
		gossipLoad(t, nodes, s.gossipProbe) // traffic still flows, under the step's keys
		for _, n := range nodes {
			waitMembers(t, n, "node-a", "node-b", "node-c")
		}
	}

	// A member with only the removed key is not understood any more.
	stale := startNode(t, "node-old", func(c *Config) { c.SecretKey = oldKey; c.Seeds = []string{nodes[0].Addr()} })
	never(t, time.Second, "a node with the removed key joined", func() bool {
		select {
		case <-stale.Joined():
			return true
		default:
		}
		return len(stale.Members()) != 1 || len(nodes[0].Members()) != 3
	})
	// One with the new key joins.
	fresh := startNode(t, "node-new", func(c *Config) { c.SecretKey = newKey; c.Seeds = []string{nodes[1].Addr()} })
	for _, n := range append(nodes, fresh) {
		waitMembers(t, n, "node-a", "node-b", "node-c", "node-new")
	}

	// Nobody saw anyone fail or leave during the rotation.
	for i, ch := range events {
		for len(ch) > 0 {
			if ev := <-ch; ev.Type == EventFail || ev.Type == EventLeave {
				t.Errorf("%s saw %s %s during the rotation", nodes[i].id, ev.Member.ID, ev.Type)
			}
		}
	}
}

// gossipLoad has node 0 gossip a new Load and waits until every node has
// it: proof that the members understand one another.
func gossipLoad(t *testing.T, nodes []*testNode, load float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := nodes[0].UpdateMeta(ctx, func(m *Meta) { m.Load = load }); err != nil {
		t.Fatalf("UpdateMeta: %v", err)
	}
	for _, n := range nodes {
		poll.Until(t, n.id+" to see node-a's new load", waitTimeout, func() bool {
			for _, m := range n.Members() {
				if m.ID == nodes[0].id {
					return m.Load == load
				}
			}
			return false
		})
	}
}

func equalKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestKeyringErrors(t *testing.T) {
	encrypted, err := New(func() Config { c := TestConfig(); c.SecretKey = oldKey; return c }(), testMeta("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New(TestConfig(), testMeta("node-b"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    *Mesh
		do   func(*Mesh) error
		want error // nil: success
	}{
		{"install short key", encrypted, func(m *Mesh) error { return m.InstallKey([]byte("short")) }, ErrKeySize},
		{"use unknown key", encrypted, func(m *Mesh) error { return m.UseKey(newKey) }, ErrKeyNotInstalled},
		{"remove the primary", encrypted, func(m *Mesh) error { return m.RemoveKey(oldKey) }, ErrPrimaryKey},
		{"remove an unknown key", encrypted, func(m *Mesh) error { return m.RemoveKey(newKey) }, nil},
		{"use the primary", encrypted, func(m *Mesh) error { return m.UseKey(oldKey) }, nil},
		{"install twice", encrypted, func(m *Mesh) error { m.InstallKey(newKey); return m.InstallKey(newKey) }, nil},
		{"remove a 17-byte key", encrypted, func(m *Mesh) error { return m.RemoveKey(make([]byte, 17)) }, ErrKeySize},
		{"install without a keyring", plain, func(m *Mesh) error { return m.InstallKey(newKey) }, ErrNotEncrypted},
		{"use without a keyring", plain, func(m *Mesh) error { return m.UseKey(newKey) }, ErrNotEncrypted},
		{"remove without a keyring", plain, func(m *Mesh) error { return m.RemoveKey(newKey) }, ErrNotEncrypted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(tt.m)
			if !errors.Is(err, tt.want) || (err != nil && !bytes.HasPrefix([]byte(err.Error()), []byte("mesh: "))) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	primary, all := encrypted.Keys()
	if !bytes.Equal(primary, oldKey) || !equalKeys(all, [][]byte{oldKey, newKey}) {
		t.Fatalf("Keys = %q, %q", primary, all)
	}
	primary[0], all[1][0] = 'X', 'X' // copies: the ring is untouched
	if p, a := encrypted.Keys(); !bytes.Equal(p, oldKey) || !equalKeys(a, [][]byte{oldKey, newKey}) {
		t.Fatalf("Keys after mutating its results = %q, %q", p, a)
	}
	if p, a := plain.Keys(); p != nil || a != nil {
		t.Fatalf("plain Keys = %q, %q", p, a)
	}
}
