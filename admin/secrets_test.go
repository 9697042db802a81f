package admin_test

import (
	"strings"
	"testing"
)

// TestStreamKeysWriteOnly: no read gives a stream key out (an event, the
// list, the config, a write's result); a PUT may send back the reference
// a read showed to keep that key, and a reference to no key is refused.
func TestStreamKeysWriteOnly(t *testing.T) {
	e := newEnv(t)
	const key, key2 = "secret-stream-key-0001", "secret-stream-key-0002"
	w := e.call(t, "POST", "/admin/v1/events", adminToken, `{"id":"fight","stream_keys":["`+key+`"]}`)
	if w.status != 200 || strings.Contains(w.raw, key) {
		t.Fatalf("create: %d %s", w.status, w.raw)
	}
	for _, path := range []string{"/admin/v1/events/fight", "/admin/v1/events", "/admin/v1/config"} {
		r := e.call(t, "GET", path, adminToken, "")
		if r.status != 200 || strings.Contains(r.raw, key) || !strings.Contains(r.raw, "sha256:") {
			t.Fatalf("%s gives the key out or no reference: %d %s", path, r.status, r.raw)
		}
	}
	var ev struct {
		StreamKeys []string `json:"stream_keys"`
	}
	e.call(t, "GET", "/admin/v1/events/fight", adminToken, "").decode(t, &ev)
	ref := ev.StreamKeys[0]
	// GET, add a key, PUT: the reference keeps the first key.
	r := e.call(t, "PUT", "/admin/v1/events/fight", adminToken, `{"stream_keys":["`+ref+`","`+key2+`"]}`)
	if r.status != 200 || strings.Contains(r.raw, key2) {
		t.Fatalf("put with a reference: %d %s", r.status, r.raw)
	}
	if got := e.control.Current().Events["fight"].StreamKeys; len(got) != 2 || got[0] != key || got[1] != key2 {
		t.Fatalf("stored keys %v, want the first key kept and the second added", got)
	}
	r = e.call(t, "PUT", "/admin/v1/events/fight", adminToken, `{"stream_keys":["sha256:0000000000000000"]}`)
	if r.status != 422 || !strings.Contains(r.raw, "stream_keys[0]") {
		t.Fatalf("unknown reference: %d %s", r.status, r.raw)
	}
}
