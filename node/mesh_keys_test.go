package node_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	api "github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/node/nodetest"
)

// TestMeshKeyRotation: through one node's admin API, a new gossip key is
// installed, used and the old one removed on every member; the mesh stays
// whole, and a node with only the old key cannot join afterwards.
func TestMeshKeyRotation(t *testing.T) {
	// Key changes reach the members from a control node (the others refuse
	// them from any other certificate): node 1 forwards to the voter.
	c := nodetest.Start(t, nodetest.Options{N: 3, Voters: 1})
	oldRaw, _ := base64.StdEncoding.DecodeString(nodetest.GossipKey)
	newRaw := []byte("rotated-gossip-key-of-32-bytes!!")
	newKey := base64.StdEncoding.EncodeToString(newRaw)
	oldFP, newFP := api.KeyFingerprint(oldRaw), api.KeyFingerprint(newRaw)
	keysURL := c.URL(1) + "/admin/v1/mesh/keys"

	steps := []struct {
		op, key, primary, keys string
	}{
		{"install", newKey, oldFP, oldFP + "," + newFP},
		{"use", newKey, newFP, newFP + "," + oldFP},
		{"remove", nodetest.GossipKey, newFP, newFP},
	}
	for _, s := range steps {
		status, raw := keysCall(t, "POST", keysURL, `{"op":"`+s.op+`","key":"`+s.key+`"}`)
		var res api.MeshKeyResponse
		if json.Unmarshal([]byte(raw), &res) != nil || status != 200 || len(res.Nodes) != 3 || strings.Contains(raw, s.key) {
			t.Fatalf("%s: %d %s", s.op, status, raw)
		}
		status, raw = keysCall(t, "GET", keysURL, "")
		var view api.MeshKeysResponse
		if json.Unmarshal([]byte(raw), &view) != nil || status != 200 || len(view.Nodes) != 3 {
			t.Fatalf("GET after %s: %d %s", s.op, status, raw)
		}
		for id, v := range view.Nodes {
			if v.Primary != s.primary || strings.Join(v.Keys, ",") != s.keys {
				t.Fatalf("after %s, %s has %+v", s.op, id, v)
			}
		}
		c.WaitFor("every node lists all three after "+s.op, 10*time.Second, func() bool {
			for _, n := range c.Nodes {
				if len(n.Members()) != 3 {
					return false
				}
			}
			return true
		})
	}
	// The mistakes that split a mesh are refused.
	if status, raw := keysCall(t, "POST", keysURL, `{"op":"use","key":"`+nodetest.GossipKey+`"}`); status != 409 {
		t.Fatalf("use of the removed key: %d %s", status, raw)
	}
	stale := startJoiner(t, c, "stale", nodetest.GossipKey)
	fresh := startJoiner(t, c, "fresh", newKey)
	c.WaitFor("the node with the new key joins", 10*time.Second, func() bool {
		return len(c.Nodes[0].Members()) == 4 && len(fresh.Members()) == 4
	})
	if len(stale.Members()) != 1 {
		t.Fatalf("the node with the removed key lists %d members", len(stale.Members()))
	}
	for i, n := range c.Nodes {
		for _, m := range n.Members() {
			if m.ID == "stale" {
				t.Fatalf("node %d lists the node with the removed key", i)
			}
		}
	}
}

func keysCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+nodetest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
