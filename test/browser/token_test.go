//go:build unix

package browser

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// tokenEvent is the event of the token case: it requires a playback token
// and is pulled from the demo's own event over the node's HTTP listener,
// so it is live as soon as "demo" is, without a second encoder.
const tokenEvent = "paid"

// addTokenEvent gives the demo's control plane a signing key and the
// token event, through the admin API.
func (d *demo) addTokenEvent(t *testing.T) {
	t.Helper()
	d.adminWrite(t, "signing-keys/rotate", nil)
	d.adminWrite(t, "events", map[string]any{"id": tokenEvent, "title": "Ringside demo event, tokens required",
		"state": "live", "pull_url": d.base + "/live/demo", "require_token": true})
}

// adminWrite POSTs body to the admin API's path, retrying while the
// control plane answers 503 (no leader yet). Its Idempotency-Key makes a
// retry of a write that did commit harmless.
func (d *demo) adminWrite(t *testing.T, path string, body any) {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	header := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"},
		"Idempotency-Key": {"browser-test-" + path}}
	var (
		code int
		resp []byte
		err  error
	)
	eventually(20*time.Second, func() bool {
		code, resp, err = do(d.client, http.MethodPost, d.admin+path, header, b)
		return err == nil && code != http.StatusServiceUnavailable
	})
	if err != nil || code < 200 || code > 299 {
		t.Fatalf("POST %s%s: %d %s (%v)", d.admin, path, code, resp, err)
	}
}

// playbackToken gets a token for the token event from the playback API
// over HTTPS and checks that the node enforces it: the master playlist is
// refused (403) without the token and served with it.
func (d *demo) playbackToken(t *testing.T) string {
	t.Helper()
	body, err := get(d.client, d.tlsBase+"/play/"+tokenEvent)
	if err != nil {
		t.Fatalf("the playback API: %v", err)
	}
	var play struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &play); err != nil || play.Token == "" {
		t.Fatalf("the playback API gave no token for %s (%v): %s", tokenEvent, err, body)
	}
	master := d.tlsBase + "/live/" + tokenEvent + "/master.m3u8"
	if code, resp, err := do(d.client, http.MethodGet, master, nil, nil); err != nil || code != http.StatusForbidden {
		t.Fatalf("GET %s without a token: %d %s (%v), want 403", master, code, resp, err)
	}
	var last error
	if !eventually(20*time.Second, func() bool {
		_, last = get(d.client, master+"?token="+url.QueryEscape(play.Token))
		return last == nil
	}) {
		t.Fatalf("GET %s with the token: %v", master, last)
	}
	return play.Token
}
