package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// MeshKeys is the gossip keyring of every member of the mesh, and the
// rotation steps the API takes on all of them.
type MeshKeys interface {
	// Keys is every member's keyring by node id, this node included; a
	// member that could not be asked has KeyringView.Error set.
	Keys(ctx context.Context) map[string]KeyringView
	// ChangeKey applies op (KeyInstall, KeyUse or KeyRemove) with key
	// here and on every other member, in parallel. The map has one entry
	// per node: nil where it was applied.
	ChangeKey(ctx context.Context, op string, key []byte) map[string]error
}

const noMesh = "this node has no mesh"

// listMeshKeys answers every member's keyring as fingerprints. Asking
// the members is an internal call only a control voter may make: any
// other node forwards the request to one.
func (a *API) listMeshKeys(c *call) {
	if a.meshKeys == nil {
		writeProblem(c.w, http.StatusNotFound, noMesh)
		return
	}
	if a.forwardToVoter(c) {
		return
	}
	out := MeshKeysResponse{Nodes: a.meshKeys.Keys(c.ctx)}
	if out.Nodes == nil {
		out.Nodes = map[string]KeyringView{}
	}
	writeJSON(c.w, http.StatusOK, out)
}

// changeMeshKey installs, uses or removes a gossip key on every member:
// 200 when all applied it, 207 when some failed. A use or remove that
// would cut members off (the key missing somewhere, still primary
// somewhere, or a member that cannot be asked) is refused with 409 before
// any node changes. The members take key changes only from a control
// voter: any other node forwards the request to one.
func (a *API) changeMeshKey(c *call) {
	if a.meshKeys == nil {
		writeProblem(c.w, http.StatusNotFound, noMesh)
		return
	}
	if a.forwardToVoter(c) {
		return
	}
	var req MeshKeyRequest
	if err := strictJSON(c.body, &req); err != nil {
		writeProblem(c.w, http.StatusBadRequest, "mesh keys: "+err.Error())
		return
	}
	key, err := req.Parse()
	if err != nil {
		var fields []FieldError
		if fe := (*keyRequestError)(nil); errors.As(err, &fe) {
			fields = fe.Fields
		}
		writeProblem(c.w, http.StatusUnprocessableEntity, err.Error(), fields...)
		return
	}
	fp := KeyFingerprint(key)
	if req.Op != KeyInstall {
		if blocked := keyStepBlocked(a.meshKeys.Keys(c.ctx), req.Op, fp); blocked != "" {
			writeProblem(c.w, http.StatusConflict, blocked)
			return
		}
	}
	out := MeshKeyResponse{Fingerprint: fp, Op: req.Op, Nodes: map[string]MeshKeyResult{}}
	status := http.StatusOK
	for id, err := range a.meshKeys.ChangeKey(c.ctx, req.Op, key) {
		if err != nil {
			out.Nodes[id] = MeshKeyResult{Error: err.Error()}
			status = http.StatusMultiStatus
			continue
		}
		out.Nodes[id] = MeshKeyResult{OK: true}
	}
	writeJSON(c.w, status, out)
}

// keyStepBlocked says why a use or remove of the key with fingerprint fp
// would cut members off, or "" when it is safe: every member must have
// the key before any uses it, and none may use it when it is removed.
func keyStepBlocked(views map[string]KeyringView, op, fp string) string {
	var unasked, blocked []string
	for _, id := range slices.Sorted(maps.Keys(views)) {
		v := views[id]
		switch {
		case v.Error != "":
			unasked = append(unasked, fmt.Sprintf("%s (%s)", id, v.Error))
		case op == KeyUse && !slices.Contains(v.Keys, fp):
			blocked = append(blocked, id)
		case op == KeyRemove && v.Primary == fp:
			blocked = append(blocked, id)
		}
	}
	var why []string
	if len(blocked) > 0 && op == KeyUse {
		why = append(why, fmt.Sprintf("key %s is not installed on %s: install it on every node first", fp, strings.Join(blocked, ", ")))
	}
	if len(blocked) > 0 && op == KeyRemove {
		why = append(why, fmt.Sprintf("key %s is still the primary on %s: use the new key on every node first", fp, strings.Join(blocked, ", ")))
	}
	if len(unasked) > 0 {
		why = append(why, fmt.Sprintf("cannot check the keyring of %s: retry once every member answers", strings.Join(unasked, ", ")))
	}
	return strings.Join(why, "; ")
}
