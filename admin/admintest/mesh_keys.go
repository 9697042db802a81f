package admintest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/ringside-live/ringside/admin"
)

// MeshKeys is a fake admin.MeshKeys: one keyring per node, with the rules
// of a real one (use needs the key installed, the primary cannot be
// removed). A node set failing refuses every change and cannot be asked
// for its keys.
type MeshKeys struct {
	mu      sync.Mutex
	rings   map[string][][]byte // by node id, the primary first
	failing map[string]error
	changes []KeyChange
}

// KeyChange is one ChangeKey call.
type KeyChange struct {
	Op  string
	Key []byte
}

// NewMeshKeys returns the nodes ids, each with primary as its only key.
func NewMeshKeys(primary []byte, ids ...string) *MeshKeys {
	f := &MeshKeys{rings: map[string][][]byte{}, failing: map[string]error{}}
	for _, id := range ids {
		f.rings[id] = [][]byte{slices.Clone(primary)}
	}
	return f
}

// SetFailing makes node id answer err (nil: answer again).
func (f *MeshKeys) SetFailing(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failing, id)
		return
	}
	f.failing[id] = err
}

// Ring is node id's keys, the primary first.
func (f *MeshKeys) Ring(id string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rings[id])
}

// Changes are the ChangeKey calls so far.
func (f *MeshKeys) Changes() []KeyChange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.changes)
}

// Keys implements admin.MeshKeys.
func (f *MeshKeys) Keys(context.Context) map[string]admin.KeyringView {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]admin.KeyringView{}
	for id, ring := range f.rings {
		if err := f.failing[id]; err != nil {
			out[id] = admin.KeyringView{Error: err.Error()}
			continue
		}
		v := admin.KeyringView{Primary: admin.KeyFingerprint(ring[0])}
		for _, k := range ring {
			v.Keys = append(v.Keys, admin.KeyFingerprint(k))
		}
		out[id] = v
	}
	return out
}

// ChangeKey implements admin.MeshKeys.
func (f *MeshKeys) ChangeKey(_ context.Context, op string, key []byte) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, KeyChange{Op: op, Key: slices.Clone(key)})
	out := map[string]error{}
	for id, ring := range f.rings {
		if err := f.failing[id]; err != nil {
			out[id] = err
			continue
		}
		f.rings[id], out[id] = changeRing(ring, op, key)
	}
	return out
}

// changeRing applies op to one ring.
func changeRing(ring [][]byte, op string, key []byte) ([][]byte, error) {
	i := slices.IndexFunc(ring, func(k []byte) bool { return bytes.Equal(k, key) })
	switch {
	case op == admin.KeyInstall && i < 0:
		return append(ring, slices.Clone(key)), nil
	case op == admin.KeyInstall:
		return ring, nil
	case op == admin.KeyUse && i < 0:
		return ring, errors.New("the key is not installed")
	case op == admin.KeyUse:
		return append([][]byte{ring[i]}, slices.Delete(slices.Clone(ring), i, i+1)...), nil
	case op == admin.KeyRemove && i == 0:
		return ring, errors.New("the primary key cannot be removed")
	case op == admin.KeyRemove && i > 0:
		return slices.Delete(ring, i, i+1), nil
	case op == admin.KeyRemove:
		return ring, nil
	}
	return ring, errors.New("unknown op " + op)
}
