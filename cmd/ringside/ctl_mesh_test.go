package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/admin"
)

// TestCtlMeshKeys: a whole rotation with ctl against the admin API over a
// fake keyring of two nodes; the key never shows in ctl's output.
func TestCtlMeshKeys(t *testing.T) {
	f := newFakeNode(t)
	auth := []string{"--addr", f.URL, "--token", fakeToken}
	oldKey := base64.StdEncoding.EncodeToString([]byte(fakeGossipKey))
	newRaw := []byte("an-aes-256-key-for-the-rotation!")
	newKey := base64.StdEncoding.EncodeToString(newRaw)
	oldFP, newFP := admin.KeyFingerprint([]byte(fakeGossipKey)), admin.KeyFingerprint(newRaw)
	dir := t.TempDir()
	newFile, oldFile := filepath.Join(dir, "new.key"), filepath.Join(dir, "old.key")
	os.WriteFile(newFile, []byte(newKey+"\n"), 0o600) // as `base64` writes it
	os.WriteFile(oldFile, []byte(oldKey), 0o600)

	steps := []struct {
		args []string
		code int
		out  string // in stdout (code 0) or stderr
		sent bool   // a request reached the node
	}{
		{[]string{"mesh", "keys", "list"}, 0, "self  " + oldFP + "  " + oldFP, true},
		{[]string{"mesh", "keys", "use", "--key-file", newFile}, 1, "409 Conflict: key " + newFP + " is not installed on n2, self", true},
		{[]string{"mesh", "keys", "install", "--key-file", newFile}, 0, "key " + newFP + " installed on 2 of 2 nodes", true},
		{[]string{"mesh", "keys", "list"}, 0, "n2    " + oldFP + "  " + oldFP + "," + newFP, true},
		{[]string{"mesh", "keys", "use", "--key-file=" + newFile}, 0, "key " + newFP + " is now the primary on 2 of 2 nodes", true},
		{[]string{"mesh", "keys", "remove", oldKey}, 0, "key " + oldFP + " removed on 2 of 2 nodes", true},
		{[]string{"mesh", "keys", "remove", "--key-file", newFile}, 1, "still the primary on n2, self", true},
		{[]string{"mesh", "keys", "install"}, 2, "give the key once", false},
		{[]string{"mesh", "keys", "install", "--key-file", oldFile, oldKey}, 2, "give the key once", false},
		{[]string{"mesh", "keys", "install", "c2hvcnQ="}, 2, "decodes to 5 bytes", false},
		{[]string{"mesh", "keys", "install", "--key-file", filepath.Join(dir, "missing")}, 2, "--key-file", false},
		{[]string{"mesh", "keys", "install", "--force", oldKey}, 2, "unknown flag --force", false},
		{[]string{"mesh", "keys", "rotate"}, 2, "mesh keys list", false},
		{[]string{"mesh"}, 2, "mesh keys list", false},
	}
	for _, s := range steps {
		code, out, errs, _ := ctlAgainst(t, append(auth, s.args...)...)
		got := out
		if s.code != 0 {
			got = errs
		}
		if code != s.code || !strings.Contains(got, s.out) {
			t.Fatalf("ctl %v: exit %d, stdout %q, stderr %q; want exit %d with %q", s.args, code, out, errs, s.code, s.out)
		}
		if strings.Contains(out+errs, oldKey) || strings.Contains(out+errs, newKey) {
			t.Fatalf("ctl %v shows a key: %s %s", s.args, out, errs)
		}
		if reqs := f.requests(); (len(reqs) > 0) != s.sent || s.sent && reqs[len(reqs)-1].uri != "/admin/v1/mesh/keys" {
			t.Fatalf("ctl %v sent %+v", s.args, reqs)
		}
	}
	if ring := f.keys.Ring("n2"); len(ring) != 1 || string(ring[0]) != string(newRaw) {
		t.Fatalf("n2's ring after the rotation: %q", ring)
	}

	code, out, errs, _ := ctlAgainst(t, append(auth, "-o", "json", "mesh", "keys", "list")...)
	var res admin.MeshKeysResponse
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Nodes["self"].Primary != newFP || len(res.Nodes) != 2 {
		t.Fatalf("list -o json: %d %s %s", code, out, errs)
	}
}

// TestCtlMeshKeysPartialFailure: a node that fails a step makes ctl exit
// 1 and name it; the table says how far the step got.
func TestCtlMeshKeysPartialFailure(t *testing.T) {
	f := newFakeNode(t)
	f.keys.SetFailing("n2", errors.New("connection refused"))
	newKey := base64.StdEncoding.EncodeToString([]byte("another-16-bytes"))
	code, out, errs, _ := ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "mesh", "keys", "install", newKey)
	if code != 1 || !strings.Contains(out, "on 1 of 2 nodes") || !strings.Contains(out, "n2 failed: connection refused") ||
		!strings.Contains(errs, "install failed on n2: repeat the command") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _, _ = ctlAgainst(t, "--addr", f.URL, "--token", fakeToken, "mesh", "keys", "list")
	if code != 0 || !strings.Contains(out, "error: connection refused") || !strings.Contains(out, "keyrings differ") {
		t.Fatalf("list: exit %d, %q", code, out)
	}
}
