package node

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/control"
)

// tokenOrigin serves a master playlist, an MPD, media playlists and
// segments for a pull event.
func tokenOrigin(t *testing.T) *httptest.Server {
	master := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n0/index.m3u8\n"
	mpd := `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" profiles="urn:mpeg:dash:profile:isoff-live:2011" minimumUpdatePeriod="PT2S">
 <Period id="0" start="PT0S"><AdaptationSet id="0" contentType="video"><Representation id="0" bandwidth="800000"/></AdaptationSet></Period>
</MPD>
`
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "master.m3u8"):
			w.Write([]byte(master))
		case strings.HasSuffix(r.URL.Path, ".m3u8"):
			w.Write([]byte(mediaPL(5, 2)))
		case strings.HasSuffix(r.URL.Path, ".mpd"):
			w.Write([]byte(mpd))
		default:
			w.Write([]byte("segment"))
		}
	}))
	t.Cleanup(origin.Close)
	return origin
}

// tokenEventNode is a steer node with a signing key, the region
// "loopback" (the test client, 127.0.0.1) and the live require_token
// event "fight".
func tokenEventNode(t *testing.T) (n *Node, base string, fight control.Event) {
	origin := tokenOrigin(t)
	n = steerNode(t, origin.URL)
	apply(t, n, control.CmdRotateSigningKey, control.SigningKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	apply(t, n, control.CmdPutRegion, control.Region{Name: "loopback", CIDRs: mustPrefixes("127.0.0.0/8")})
	fight = control.Event{ID: "fight", State: control.StateLive, PullURL: origin.URL, RequireToken: true}
	apply(t, n, control.CmdPutEvent, fight)
	return n, "http://" + n.HTTPAddr(), fight
}

func playToken(t *testing.T, base, event, session string) string {
	t.Helper()
	st, play := playJSON(t, base+"/play/"+event+"?session="+session)
	tok, _ := play["token"].(string)
	if st != 200 || tok == "" {
		t.Fatalf("/play/%s: %d %v", event, st, play)
	}
	return url.QueryEscape(tok)
}

// TestTokenRulesAtTheEdge: a token handed out while the event was live
// and the region allowed stops opening the event's files when the region
// is blacked out (451), when the client's region is no longer the one it
// was issued for, when the event ends (410), and for another session; a
// revocation of the event's tokens refuses every token issued before it.
func TestTokenRulesAtTheEdge(t *testing.T) {
	n, base, fight := tokenEventNode(t)
	tok := playToken(t, base, "fight", "s1")
	media := base + "/live/fight/0/index.m3u8?token=" + tok
	expect := func(what, url string, status int, detail string) {
		t.Helper()
		r := do(t, "GET", url, "", nil)
		if r.status != status || !strings.Contains(r.body, detail) {
			t.Errorf("%s: %d %.80s, want %d %q", what, r.status, r.body, status, detail)
		}
	}
	expect("valid token", media, 200, "index5.ts?token=")
	expect("same session", media+"&session=s1", 200, "index5.ts?token=")
	expect("other session", media+"&session=s2", 403, "session")

	blackout := fight
	blackout.BlackoutRegions = []string{"loopback"}
	apply(t, n, control.CmdPutEvent, blackout)
	expect("blacked out after issue", media, 451, "blacked out")
	expect("blacked-out segment", base+"/live/fight/0/index5.ts?token="+tok, 451, "blacked out")
	apply(t, n, control.CmdPutEvent, fight)
	expect("blackout lifted", media, 200, "index5.ts")

	// The client's address now falls in another region than the one the
	// token was issued for.
	apply(t, n, control.CmdPutRegion, control.Region{Name: "loopback", CIDRs: mustPrefixes("10.0.0.0/8")})
	apply(t, n, control.CmdPutRegion, control.Region{Name: "home", CIDRs: mustPrefixes("127.0.0.0/8")})
	expect("region moved", media, 403, "region")
	apply(t, n, control.CmdPutRegion, control.Region{Name: "loopback", CIDRs: mustPrefixes("127.0.0.0/8")})
	apply(t, n, control.CmdDeleteRegion, control.RegionRef{Name: "home"})
	expect("region back", media, 200, "index5.ts")

	// An operator revokes every token of the event: the old one is
	// refused, a new one from /play works.
	apply(t, n, "revoke_tokens", control.EventRef{ID: "fight"})
	expect("revoked", media, 403, "revoked")
	tok = playToken(t, base, "fight", "s1")
	media = base + "/live/fight/0/index.m3u8?token=" + tok
	expect("issued after the revocation", media, 200, "index5.ts")

	apply(t, n, control.CmdSetEventState, control.EventStateArgs{ID: "fight", State: control.StateEnded})
	expect("ended", media, 410, "ended")
}

// TestTokenRequiredOnRedirectAndSteeredMaster: for a require_token event,
// /r/ and the steered master and MPD want a valid token (they mint none),
// and pass it on; the steered master's session is the token's.
func TestTokenRequiredOnRedirectAndSteeredMaster(t *testing.T) {
	_, base, _ := tokenEventNode(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) (int, string, string) {
		t.Helper()
		resp, err := noRedirect.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if st, loc, _ := get(base + "/r/live/fight/master.m3u8"); st != 403 {
		t.Fatalf("/r/ without a token: %d %s, want 403", st, loc)
	}
	if st, _, _ := get(base + "/r/live/fight/master.m3u8?token=forged"); st != 403 {
		t.Fatalf("/r/ with a bad token: %d, want 403", st)
	}
	tok := playToken(t, base, "fight", "s1")
	if st, loc, _ := get(base + "/r/live/fight/master.m3u8?token=" + tok); st != 302 || !strings.Contains(loc, "token="+tok) {
		t.Fatalf("/r/ with a token: %d %s", st, loc)
	}
	for _, file := range []string{"master.m3u8", "manifest.mpd"} {
		if st, _, body := get(base + "/s/live/fight/" + file + "?session=s1"); st != 403 {
			t.Fatalf("steered %s without a token: %d %s, want 403", file, st, body)
		}
	}
	st, _, body := get(base + "/s/live/fight/master.m3u8?token=" + tok)
	if st != 200 || !strings.Contains(body, "/steer/fight?session=s1") || !strings.Contains(body, "index.m3u8?token="+tok) {
		t.Fatalf("steered master with a token: %d\n%s", st, body)
	}
	if st, _, body := get(base + "/s/live/fight/master.m3u8?session=s2&token=" + tok); st != 403 {
		t.Fatalf("steered master for another session: %d %s", st, body)
	}
	if st, _, body := get(base + "/s/live/fight/manifest.mpd?token=" + tok); st != 200 {
		t.Fatalf("steered MPD with a token: %d %s", st, body)
	}
}

// TestTokenSurvivesTwoRotations: a token signed before two rotations in a
// row still plays: retired keys stay until the tokens they signed expire.
func TestTokenSurvivesTwoRotations(t *testing.T) {
	n, base, _ := tokenEventNode(t)
	tok := playToken(t, base, "fight", "s1")
	apply(t, n, control.CmdRotateSigningKey, control.SigningKey{ID: "k2", Secret: []byte("0123456789abcdef0123456789abcde2")})
	apply(t, n, control.CmdRotateSigningKey, control.SigningKey{ID: "k3", Secret: []byte("0123456789abcdef0123456789abcde3")})
	if r := do(t, "GET", base+"/live/fight/0/index.m3u8?token="+tok, "", nil); r.status != 200 {
		t.Fatalf("a token of k1 after two rotations: %d %s", r.status, r.body)
	}
}

// TestTokenCacheControl: what carries a viewer's token or session is
// never stored by a cache: the token-rewritten playlist, the steered
// master and the steered MPD all say no-store.
func TestTokenCacheControl(t *testing.T) {
	_, base, _ := tokenEventNode(t)
	tok := playToken(t, base, "fight", "s1")
	for _, path := range []string{
		"/live/fight/0/index.m3u8?token=" + tok,
		"/live/fight/master.m3u8?token=" + tok,
		"/s/live/fight/master.m3u8?token=" + tok,
		"/s/live/fight/manifest.mpd?token=" + tok,
	} {
		r := do(t, "GET", base+path, "", nil)
		if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d Cache-Control %q, want no-store", path, r.status, r.header.Get("Cache-Control"))
		}
	}
}
