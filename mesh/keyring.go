package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/memberlist"
)

// Errors of the keyring methods.
var (
	// ErrNotEncrypted: this mesh was built without Config.SecretKey, so it
	// has no keyring; gossip cannot switch to encryption while it runs.
	ErrNotEncrypted = errors.New("mesh: gossip is not encrypted (no SecretKey): there is no keyring")
	// ErrKeySize: a key is not 16, 24 or 32 bytes (AES-128, -192, -256).
	ErrKeySize = errors.New("mesh: a key must be 16, 24 or 32 bytes")
	// ErrKeyNotInstalled: UseKey with a key that InstallKey has not added.
	ErrKeyNotInstalled = errors.New("mesh: the key is not installed")
	// ErrPrimaryKey: RemoveKey with the key gossip is encrypted with.
	ErrPrimaryKey = errors.New("mesh: the primary key cannot be removed")
)

// newKeyring holds Config.SecretKey as the only, primary key; nil without
// one (plain gossip).
func newKeyring(secret []byte) (*memberlist.Keyring, error) {
	if len(secret) == 0 {
		return nil, nil
	}
	kr, err := memberlist.NewKeyring(nil, slices.Clone(secret))
	if err != nil {
		return nil, fmt.Errorf("mesh: keyring: %w", err)
	}
	return kr, nil
}

// Keys returns the primary key (the one this node encrypts gossip with)
// and every installed key, the primary first; both nil when gossip is not
// encrypted. Every installed key decrypts. The results are copies.
func (m *Mesh) Keys() (primary []byte, all [][]byte) {
	if m.keyring == nil {
		return nil, nil
	}
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	for _, k := range m.keyring.GetKeys() {
		all = append(all, slices.Clone(k))
	}
	if len(all) > 0 {
		primary = slices.Clone(all[0])
	}
	return primary, all
}

// InstallKey adds key to the keyring: this node then decrypts gossip
// encrypted with it, and still encrypts with the primary. Installing a key
// twice is a no-op. Errors: ErrNotEncrypted, ErrKeySize.
func (m *Mesh) InstallKey(key []byte) error {
	if err := m.checkKey(key); err != nil {
		return err
	}
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	if err := m.keyring.AddKey(slices.Clone(key)); err != nil {
		return fmt.Errorf("mesh: install key: %w", err)
	}
	return nil
}

// UseKey makes an installed key the primary: this node encrypts
// everything it sends with it from now on. Every member must have
// installed it first, or they stop understanding this node. Using the
// primary again is a no-op. Errors: ErrNotEncrypted, ErrKeySize,
// ErrKeyNotInstalled.
func (m *Mesh) UseKey(key []byte) error {
	if err := m.checkKey(key); err != nil {
		return err
	}
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	if !m.installedLocked(key) {
		return ErrKeyNotInstalled
	}
	if err := m.keyring.UseKey(key); err != nil {
		return fmt.Errorf("mesh: use key: %w", err)
	}
	return nil
}

// RemoveKey drops a key that is not the primary: gossip encrypted with it
// is no longer understood, so a node holding only that key cannot join.
// Removing a key that is not installed is a no-op, so a rotation can be
// repeated. Errors: ErrNotEncrypted, ErrKeySize, ErrPrimaryKey.
//
// memberlist's Keyring.RemoveKey shifts the later keys down in place,
// under packets being decrypted with the same slice: remove the old key
// after the new one is primary (it is then last of two), as the rotation
// procedure does.
func (m *Mesh) RemoveKey(key []byte) error {
	if err := m.checkKey(key); err != nil {
		return err
	}
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	if bytes.Equal(m.keyring.GetPrimaryKey(), key) {
		return ErrPrimaryKey
	}
	if !m.installedLocked(key) {
		return nil
	}
	if err := m.keyring.RemoveKey(key); err != nil {
		return fmt.Errorf("mesh: remove key: %w", err)
	}
	return nil
}

// checkKey refuses key operations without a keyring and keys of the
// wrong size.
func (m *Mesh) checkKey(key []byte) error {
	if m.keyring == nil {
		return ErrNotEncrypted
	}
	if memberlist.ValidateKey(key) != nil {
		return fmt.Errorf("%w, not %d", ErrKeySize, len(key))
	}
	return nil
}

// installedLocked reports whether key is on the ring; keyMu is held.
func (m *Mesh) installedLocked(key []byte) bool {
	return slices.ContainsFunc(m.keyring.GetKeys(), func(k []byte) bool { return bytes.Equal(k, key) })
}
