package node

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/token"
)

// steerNode runs one node with every role, a single-voter control plane
// and a pull event, and applies cmds once it leads.
func steerNode(t *testing.T, originURL string) *Node {
	t.Helper()
	n := startNode(t, func(c *Config) {
		c.Node.Roles = []string{RoleEdge, RoleShield, RoleControl, RoleSteer}
		c.Control.DataDir, c.Control.RaftBind, c.Control.Profile = t.TempDir(), "127.0.0.1:0", "test"
		c.Control.Bootstrap = []PeerConfig{{ID: "t1"}}
		c.Steering.TTL = Duration(2 * time.Second)
		c.Events = []EventConfig{{ID: "fight", PullURL: originURL}}
	})
	waitFor(t, "seeded", 20*time.Second, func() bool { return n.docVersion.Load() >= 1 })
	return n
}

func apply(t *testing.T, n *Node, typ string, payload any) {
	t.Helper()
	cmd, err := control.NewCommand(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.store.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	waitFor(t, "applied", 5*time.Second, func() bool { return n.docVersion.Load() >= res.Version })
}

func playJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	r := do(t, "GET", url, "", nil)
	var m map[string]any
	json.Unmarshal([]byte(r.body), &m)
	if r.status != 200 {
		m = map[string]any{"detail": r.body}
	}
	return r.status, m
}

// TestPlaybackTokensAndBlackout: /play hands out a signed token; an edge
// refuses a missing, forged, expired or out-of-scope token with 403 and
// serves a valid one (carrying it on every URI of a playlist); a client in a
// blacked-out region gets 451.
func TestPlaybackTokensAndBlackout(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".m3u8") {
			w.Write([]byte(mediaPL(5, 2)))
			return
		}
		w.Write([]byte("segment"))
	}))
	defer origin.Close()
	n := steerNode(t, origin.URL)
	secret := []byte("0123456789abcdef0123456789abcdef")
	apply(t, n, control.CmdRotateSigningKey, control.SigningKey{ID: "k1", Secret: secret})
	apply(t, n, control.CmdPutEvent, control.Event{ID: "fight", State: control.StateLive, PullURL: origin.URL, RequireToken: true})
	base := "http://" + n.HTTPAddr()

	st, play := playJSON(t, base+"/play/fight?session=s1")
	tok, _ := play["token"].(string)
	if st != 200 || tok == "" {
		t.Fatalf("/play: %d %v", st, play)
	}
	key := token.Key{ID: "k1", Secret: secret}
	expired, _ := token.Sign(key, token.Claims{Event: "fight", PathPrefix: "/live/fight/", Expires: time.Now().Add(-time.Minute)})
	otherEvent, _ := token.Sign(key, token.Claims{Event: "other", PathPrefix: "/live/other/", Expires: time.Now().Add(time.Hour)})
	forged, _ := token.Sign(token.Key{ID: "k1", Secret: []byte("ffffffffffffffffffffffffffffffff")},
		token.Claims{Event: "fight", PathPrefix: "/live/fight/", Expires: time.Now().Add(time.Hour)})
	for _, tc := range []struct{ name, tok, want string }{
		{"missing", "", "needs a playback token"},
		{"forged", forged, "signature"},
		{"expired", expired, "expired"},
		{"out of scope", otherEvent, "another event"},
		{"garbage", "not-a-token", "malformed"},
	} {
		url := base + "/live/fight/0/index.m3u8"
		if tc.tok != "" {
			url += "?token=" + tc.tok
		}
		if r := do(t, "GET", url, "", nil); r.status != 403 || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s token: %d %s", tc.name, r.status, r.body)
		}
	}
	r := do(t, "GET", base+"/live/fight/0/index.m3u8?token="+tok, "", nil)
	if r.status != 200 || !strings.Contains(r.body, "index5.ts?token=") {
		t.Fatalf("valid token: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/live/fight/0/index5.ts?token="+tok, "", nil); r.status != 200 || r.body != "segment" {
		t.Fatalf("segment with token: %d", r.status)
	}

	// Blackout: the test client is 127.0.0.1.
	apply(t, n, control.CmdPutRegion, control.Region{Name: "loopback", CIDRs: mustPrefixes("127.0.0.0/8")})
	apply(t, n, control.CmdPutEvent, control.Event{ID: "fight", State: control.StateLive, PullURL: origin.URL,
		BlackoutRegions: []string{"loopback"}})
	if st, m := playJSON(t, base+"/play/fight"); st != 451 || !strings.Contains(m["detail"].(string), "loopback") {
		t.Fatalf("blacked-out /play: %d %v", st, m)
	}
	if r := do(t, "GET", base+"/r/live/fight/master.m3u8", "", nil); r.status != 451 {
		t.Fatalf("blacked-out redirect: %d", r.status)
	}
	apply(t, n, control.CmdSetEventState, control.EventStateArgs{ID: "fight", State: control.StateEnded})
	if st, _ := playJSON(t, base+"/play/fight"); st != 403 {
		t.Fatalf("ended event: %d", st)
	}
	if st, _ := playJSON(t, base+"/play/nope"); st != 404 {
		t.Fatalf("unknown event: %d", st)
	}
}

func mustPrefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}
