package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/mesh"
)

// meshKeysPath is the internal route that reads or changes one node's
// gossip keyring. It takes admin.MeshKeyRequest; the op opListKeys (no
// key) only reads. Every answer is the node's admin.KeyringView.
const meshKeysPath = "/internal/v1/mesh/keys"

// opListKeys asks a peer for its keyring (internal route only).
const opListKeys = "list"

// adminMeshKeys is admin.MeshKeys over this node's gossip keyring and, for
// every other member, its internal mesh keys route.
type adminMeshKeys struct{ n *running }

func (k adminMeshKeys) Keys(ctx context.Context) map[string]admin.KeyringView {
	out := map[string]admin.KeyringView{k.n.cfg.Node.ID: k.n.keyringView()}
	body, _ := json.Marshal(admin.MeshKeyRequest{Op: opListKeys})
	var mu sync.Mutex
	k.n.meshKeysFanOut(ctx, body, func(id string, answer []byte, err error) {
		var v admin.KeyringView
		if err == nil {
			err = json.Unmarshal(answer, &v)
		}
		if err != nil {
			v = admin.KeyringView{Error: peerKeyError(err).Error()}
		}
		mu.Lock()
		out[id] = v
		mu.Unlock()
	})
	return out
}

func (k adminMeshKeys) ChangeKey(ctx context.Context, op string, key []byte) map[string]error {
	out := map[string]error{k.n.cfg.Node.ID: k.n.changeMeshKey(op, key)}
	body, _ := json.Marshal(admin.MeshKeyRequest{Op: op, Key: base64.StdEncoding.EncodeToString(key)})
	var mu sync.Mutex
	k.n.meshKeysFanOut(ctx, body, func(id string, _ []byte, err error) {
		mu.Lock()
		out[id] = peerKeyError(err)
		mu.Unlock()
	})
	return out
}

// meshKeysFanOut POSTs body to the mesh keys route of every other member,
// in parallel, and hands each answer to each.
func (n *running) meshKeysFanOut(ctx context.Context, body []byte, each func(id string, answer []byte, err error)) {
	var wg sync.WaitGroup
	for _, m := range n.members() {
		if m.ID == n.cfg.Node.ID {
			continue
		}
		wg.Go(func() {
			answer, err := n.internalCall(ctx, m.MeshAddr, meshKeysPath, body)
			each(m.ID, answer, err)
		})
	}
	wg.Wait()
}

// internalMeshKeys answers another node's read or change of this node's
// gossip keyring (POST meshKeysPath) with the keyring as it is now.
func (n *running) internalMeshKeys(ctx *fasthttp.RequestCtx) {
	if n.mesh == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node has no mesh")
		return
	}
	var req admin.MeshKeyRequest
	if err := strictJSON(ctx.PostBody(), &req); err != nil {
		problem(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if req.Op != opListKeys || req.Key != "" {
		key, err := req.Parse()
		if err != nil {
			problem(ctx, fasthttp.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := n.changeMeshKey(req.Op, key); err != nil {
			status := fasthttp.StatusInternalServerError
			if errors.Is(err, mesh.ErrKeyNotInstalled) || errors.Is(err, mesh.ErrPrimaryKey) || errors.Is(err, mesh.ErrNotEncrypted) {
				status = fasthttp.StatusConflict
			}
			problem(ctx, status, err.Error())
			return
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, n.keyringView())
}

// changeMeshKey applies one key operation to this node's keyring.
func (n *running) changeMeshKey(op string, key []byte) error {
	var err error
	switch op {
	case admin.KeyInstall:
		err = n.mesh.InstallKey(key)
	case admin.KeyUse:
		err = n.mesh.UseKey(key)
	case admin.KeyRemove:
		err = n.mesh.RemoveKey(key)
	default:
		err = fmt.Errorf("node: unknown gossip key op %q", op)
	}
	log := n.log.With("component", "mesh")
	if err != nil {
		log.Warn("gossip key not changed", "op", op, "key", admin.KeyFingerprint(key), "err", err)
		return err
	}
	log.Info("gossip key changed", "op", op, "key", admin.KeyFingerprint(key))
	return nil
}

// keyringView is this node's keyring as fingerprints.
func (n *running) keyringView() admin.KeyringView {
	primary, all := n.mesh.Keys()
	var v admin.KeyringView
	if primary != nil {
		v.Primary = admin.KeyFingerprint(primary)
	}
	for _, k := range all {
		v.Keys = append(v.Keys, admin.KeyFingerprint(k))
	}
	return v
}

// peerProblem is a peer's refusal: the detail of the problem+json it
// answered, in place of the whole "status N: {...}" of internalCall.
type peerProblem struct {
	detail string
	err    error
}

func (p *peerProblem) Error() string { return p.detail }
func (p *peerProblem) Unwrap() error { return p.err }

// peerKeyError shortens an internal call's error to the peer's problem
// detail when it answered one; nil stays nil.
func peerKeyError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "status ") {
		return err
	}
	_, body, _ := strings.Cut(msg, ": ")
	var p struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal([]byte(body), &p) != nil || p.Detail == "" {
		return err
	}
	return &peerProblem{detail: p.Detail, err: err}
}

var _ admin.MeshKeys = adminMeshKeys{}
