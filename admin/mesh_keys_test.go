package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/admin/admintest"
)

var (
	oldGossipKey = []byte("0123456789abcdef")
	newGossipKey = []byte("an-aes-256-key-for-the-rotation!")
)

const (
	oldKeyB64 = "MDEyMzQ1Njc4OWFiY2RlZg=="                     // oldGossipKey
	newKeyB64 = "YW4tYWVzLTI1Ni1rZXktZm9yLXRoZS1yb3RhdGlvbiE=" // newGossipKey
	oldKeyFP  = "9f9f5111f7b27a78"                             // sha256(oldGossipKey)[:8]
)

// newKeysEnv is newEnv whose nodes self and n2 both hold oldGossipKey.
func newKeysEnv(t *testing.T) (*env, *admintest.MeshKeys) {
	keys := admintest.NewMeshKeys(oldGossipKey, "self", "n2")
	return newEnv(t, func(_ *admin.Config, d *admin.Deps) { d.MeshKeys = keys }), keys
}

func keyOp(op, key string) string { return `{"op":"` + op + `","key":"` + key + `"}` }

func TestKeyFingerprint(t *testing.T) {
	if got := admin.KeyFingerprint(oldGossipKey); got != oldKeyFP {
		t.Fatalf("KeyFingerprint = %s, want %s", got, oldKeyFP)
	}
}

// TestMeshKeyRotation: install, use, remove through the API; each step
// reaches every node, and the key itself is never in an answer.
func TestMeshKeyRotation(t *testing.T) {
	e, keys := newKeysEnv(t)
	newFP := admin.KeyFingerprint(newGossipKey)
	steps := []struct {
		op      string
		key     string
		primary string
		ring    []string
	}{
		{admin.KeyInstall, newKeyB64, oldKeyFP, []string{oldKeyFP, newFP}},
		{admin.KeyUse, newKeyB64, newFP, []string{newFP, oldKeyFP}},
		{admin.KeyRemove, oldKeyB64, newFP, []string{newFP}},
	}
	for _, s := range steps {
		r := e.call(t, "POST", "/admin/v1/mesh/keys", adminToken, keyOp(s.op, s.key))
		var res admin.MeshKeyResponse
		r.decode(t, &res)
		if r.status != 200 || res.Op != s.op || len(res.Nodes) != 2 || !res.Nodes["self"].OK || !res.Nodes["n2"].OK {
			t.Fatalf("%s: %d %s", s.op, r.status, r.raw)
		}
		if strings.Contains(r.raw, s.key) || r.header.Get("Idempotency-Key") == "" {
			t.Fatalf("%s: the answer echoes the key or lacks the Idempotency-Key: %v %s", s.op, r.header, r.raw)
		}
		var view admin.MeshKeysResponse
		r = e.call(t, "GET", "/admin/v1/mesh/keys", roToken, "")
		r.decode(t, &view)
		for _, id := range []string{"self", "n2"} {
			v := view.Nodes[id]
			if r.status != 200 || v.Primary != s.primary || strings.Join(v.Keys, ",") != strings.Join(s.ring, ",") {
				t.Fatalf("after %s, %s: %d %s", s.op, id, r.status, r.raw)
			}
		}
		if strings.Contains(r.raw, oldKeyB64) || strings.Contains(r.raw, newKeyB64) {
			t.Fatalf("GET shows a key: %s", r.raw)
		}
	}
	if got := keys.Changes(); len(got) != 3 || string(got[2].Key) != string(oldGossipKey) {
		t.Fatalf("changes %+v", got)
	}
}

func TestMeshKeyRefusals(t *testing.T) {
	tests := []struct {
		name    string
		failing string // a node that cannot be asked
		body    string
		status  int
		want    string
	}{
		{"not JSON", "", `{`, 400, "mesh keys: bad JSON"},
		{"unknown field", "", `{"op":"install","key":"` + newKeyB64 + `","primary":true}`, 400, "primary"},
		{"unknown op", "", keyOp("rotate", newKeyB64), 422, `"field":"op"`},
		{"not base64", "", keyOp("install", "%%%"), 422, `"field":"key"`},
		{"wrong size", "", keyOp("install", "c2hvcnQ="), 422, "decodes to 5 bytes"},
		{"use before install", "", keyOp("use", newKeyB64), 409, "not installed on n2, self: install it on every node first"},
		{"remove the primary", "", keyOp("remove", oldKeyB64), 409, "still the primary on n2, self"},
		{"use with a node unasked", "n2", keyOp("use", oldKeyB64), 409, "cannot check the keyring of n2 (unreachable)"},
		{"remove with a node unasked", "n2", keyOp("remove", newKeyB64), 409, "cannot check the keyring of n2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, keys := newKeysEnv(t)
			if tt.failing != "" {
				keys.SetFailing(tt.failing, errors.New("unreachable"))
			}
			r := e.call(t, "POST", "/admin/v1/mesh/keys", adminToken, tt.body)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d with %q", r.status, r.raw, tt.status, tt.want)
			}
			if len(keys.Changes()) != 0 {
				t.Fatalf("a refused request changed keys: %+v", keys.Changes())
			}
		})
	}
}

// TestMeshKeyPartialFailure: a node that fails makes the answer 207, with
// its error; the others applied the step.
func TestMeshKeyPartialFailure(t *testing.T) {
	e, keys := newKeysEnv(t)
	keys.SetFailing("n2", errors.New("status 502: gone"))
	r := e.call(t, "POST", "/admin/v1/mesh/keys", adminToken, keyOp("install", newKeyB64))
	var res admin.MeshKeyResponse
	r.decode(t, &res)
	if r.status != 207 || !res.Nodes["self"].OK || res.Nodes["n2"].OK || res.Nodes["n2"].Error != "status 502: gone" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if len(keys.Ring("self")) != 2 || len(keys.Ring("n2")) != 1 {
		t.Fatalf("rings self %q, n2 %q", keys.Ring("self"), keys.Ring("n2"))
	}
	var view admin.MeshKeysResponse
	e.call(t, "GET", "/admin/v1/mesh/keys", adminToken, "").decode(t, &view)
	if view.Nodes["n2"].Error != "status 502: gone" || len(view.Nodes["self"].Keys) != 2 {
		t.Fatalf("view %+v", view)
	}
}

func TestMeshKeysWithoutMesh(t *testing.T) {
	e := newEnv(t) // no Deps.MeshKeys
	for _, m := range []string{"GET", "POST"} {
		if r := e.call(t, m, "/admin/v1/mesh/keys", adminToken, keyOp("install", newKeyB64)); r.status != 404 ||
			r.problem.Detail != "this node has no mesh" {
			t.Fatalf("%s: %d %s", m, r.status, r.raw)
		}
	}
	ke, _ := newKeysEnv(t)
	if r := ke.call(t, "POST", "/admin/v1/mesh/keys", roToken, keyOp("install", newKeyB64)); r.status != 403 {
		t.Fatalf("read-only token: %d %s", r.status, r.raw)
	}
}

func TestMeshKeyRequestParse(t *testing.T) {
	tests := []struct {
		req  admin.MeshKeyRequest
		size int
		want string
	}{
		{admin.MeshKeyRequest{Op: "install", Key: oldKeyB64}, 16, ""},
		{admin.MeshKeyRequest{Op: "use", Key: newKeyB64 + "\n"}, 32, ""},
		{admin.MeshKeyRequest{Op: "remove", Key: "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4"}, 24, ""},
		{admin.MeshKeyRequest{Op: "", Key: ""}, 0, `op: "": want install, use or remove; key: decodes to 0 bytes`},
	}
	for _, tt := range tests {
		key, err := tt.req.Parse()
		if tt.want == "" && (err != nil || len(key) != tt.size) || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: key of %d bytes, err %v; want %d bytes or %q", tt.req, len(key), err, tt.size, tt.want)
		}
	}
}
