package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/token"
	"github.com/ringside-live/ringside/route"

	"github.com/ringside-live/ringside/pkg/poll"
)

// steerNode runs one node with every role, a single-voter control plane
// and a pull event, and applies cmds once it leads.
func steerNode(t *testing.T, originURL string, mods ...func(*Config)) *Node {
	t.Helper()
	n := startNode(t, func(c *Config) {
		c.Node.Roles = []string{RoleEdge, RoleShield, RoleControl, RoleSteer}
		c.Control.DataDir, c.Control.RaftBind, c.Control.Profile = t.TempDir(), "127.0.0.1:0", "test"
		c.Control.Bootstrap = []PeerConfig{{ID: "t1"}}
		c.Steering.TTL = Duration(2 * time.Second)
		c.Events = []EventConfig{{ID: "fight", PullURL: originURL}}
		for _, m := range mods {
			m(c)
		}
	})
	poll.Until(t, "seeded", 20*time.Second, func() bool { return n.running().docVersion.Load() >= 1 })
	return n
}

func apply(t *testing.T, n *Node, typ string, payload any) {
	t.Helper()
	cmd, err := control.NewCommand(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.running().store.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	poll.Until(t, "applied", 5*time.Second, func() bool { return n.running().docVersion.Load() >= res.Version })
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

// TestSteeringManifests: the steered master carries EXT-X-CONTENT-STEERING
// and a PATHWAY-ID per variant copy, the MPD a ContentSteering element, the
// steering manifest lists pathway priority and clones, /steer sheds load
// with 429, and passive reports go through the hysteresis.
func TestSteeringManifests(t *testing.T) {
	master := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n0/index.m3u8\n"
	mpd := `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" profiles="urn:mpeg:dash:profile:isoff-live:2011" minimumUpdatePeriod="PT2S">
 <Period id="0" start="PT0S"><AdaptationSet id="0" contentType="video"><Representation id="0" bandwidth="800000"/></AdaptationSet></Period>
</MPD>
`
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mpd") {
			w.Write([]byte(mpd))
			return
		}
		w.Write([]byte(master))
	}))
	defer origin.Close()
	pki := newPKI(t)
	n := steerNode(t, origin.URL, func(c *Config) {
		// A mesh of one: the passive reports come in on its mesh listener.
		c.Mesh.Bind, c.Mesh.Listen, c.Mesh.Profile, c.Mesh.SecretKey = "127.0.0.1:0", "127.0.0.1:0", "test", "MDEyMzQ1Njc4OWFiY2RlZg=="
		c.Identity = pki.issue("t1", c.Node.Roles...)
		c.Steering.MaxRPS = 1000 // a client network gets 10 requests a second, bursts of 20
	})
	edge := pki.client("e1", RoleEdge)
	apply(t, n, control.CmdPutCDN, control.CDN{ID: "cdn-a", Hostname: "a.example.net", BaseURL: "http://a.example.net", Weight: 100, State: control.CDNActive})
	apply(t, n, control.CmdPutCDN, control.CDN{ID: "clone-b", Hostname: "b.example.net", BaseURL: "http://b.example.net", Weight: 100, State: control.CDNActive, Clone: true})
	base := "http://" + n.HTTPAddr()
	r := do(t, "GET", base+"/s/live/fight/master.m3u8?session=s1", "", nil)
	if r.status != 200 || !strings.Contains(r.body, "#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steer/fight?session=s1\"") ||
		!strings.Contains(r.body, `PATHWAY-ID="cdn-a"`) || !strings.Contains(r.body, `PATHWAY-ID="mesh"`) ||
		!strings.Contains(r.body, "http://a.example.net/live/fight/0/index.m3u8") {
		t.Fatalf("steered master: %d\n%s", r.status, r.body)
	}
	r = do(t, "GET", base+"/s/live/fight/manifest.mpd?session=s1", "", nil)
	if r.status != 200 || !strings.Contains(r.body, "<ContentSteering") || !strings.Contains(r.body, `serviceLocation="cdn-a"`) {
		t.Fatalf("steered MPD: %d\n%s", r.status, r.body)
	}
	r = do(t, "GET", base+"/steer/fight?session=s1&_HLS_pathway=mesh&_HLS_throughput=5000000", "", nil)
	var man map[string]any
	if json.Unmarshal([]byte(r.body), &man); r.status != 200 || man["VERSION"] != 1.0 || man["PATHWAY-PRIORITY"] == nil ||
		!strings.Contains(r.body, `"RELOAD-URI":"/steer/fight?session=s1"`) || !strings.Contains(r.body, "PATHWAY-CLONES") {
		t.Fatalf("HLS steering manifest: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/steer/fight/dash?session=s1", "", nil); r.status != 200 || !strings.Contains(r.body, `"PATHWAY-PRIORITY":[`) {
		t.Fatalf("DASH steering manifest: %d %s", r.status, r.body)
	}
	// dash.js reloads with the locations it used and their throughputs.
	if r := do(t, "GET", base+"/steer/fight/dash?session=s1&_DASH_pathway=%22cdn-a,mesh%22&_DASH_throughput=5140000,800000", "", nil); r.status != 200 {
		t.Fatalf("DASH steering manifest reloaded as dash.js does: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/steer/fight?_HLS_pathway=bad%20id", "", nil); r.status != 400 {
		t.Fatalf("bad pathway: %d", r.status)
	}
	// Passive reports: down after 3 failures, up after 2 successes.
	if r := do(t, "POST", base+"/internal/v1/steering/report", "", strings.NewReader(`{"cdn":"cdn-a","ok":false}`)); r.status != 404 {
		t.Fatalf("a report on the public listener: %d %s", r.status, r.body)
	}
	report := func(ok bool) bool {
		resp, err := edge.Post("https://"+n.running().meshAddr+"/internal/v1/steering/report", "application/json",
			strings.NewReader(fmt.Sprintf(`{"cdn":"cdn-a","ok":%v}`, ok)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"up": true`)
	}
	for i, want := range []bool{true, true, false} {
		if got := report(false); got != want {
			t.Fatalf("passive failure %d: up = %v, want %v (down after the third)", i+1, got, want)
		}
	}
	for i, want := range []bool{false, true} {
		if got := report(true); got != want {
			t.Fatalf("passive success %d: up = %v, want %v (up after the second)", i+1, got, want)
		}
	}
	// Load shedding: one client asking without pause is refused within
	// a few dozen requests (its burst, then 10 a second), with a
	// Retry-After.
	for i := 0; ; i++ {
		r := do(t, "GET", base+"/steer/fight", "", nil)
		if r.status == 429 {
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		if r.status != 200 || i == 500 {
			t.Fatalf("request %d: %d, still not shed: %s", i, r.status, r.body)
		}
	}
	if m := do(t, "GET", base+"/metrics", "", nil).body; !strings.Contains(m, `ringside_steering_shed_total{scope="client"}`) {
		t.Error("metrics lack the shed requests")
	}
}

// from returns a GET function whose connections come from ip (any
// 127.0.0.0/8 address works on loopback), so a test plays several client
// networks.
func from(t *testing.T, ip string) func(url string) (int, string) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	return func(url string) (int, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s from %s: %v", url, ip, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

// okServer answers 200 to everything: a CDN whose canary is healthy.
func okServer(t *testing.T) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(s.Close)
	return s.URL
}

// TestInventedSessionsDoNotFillCDN: 40 anonymous /play calls with
// invented session ids (40 × 5 Mbps = the CDN's 200 Mbps) do not steer the
// next real player, from another address, away from the CDN.
func TestInventedSessionsDoNotFillCDN(t *testing.T) {
	n := steerNode(t, okServer(t), func(c *Config) { c.Steering.MeshWeight = 0 }) // the mesh is only the fallback
	apply(t, n, control.CmdPutCDN, control.CDN{ID: "cdn-a", Hostname: "a.example.net", BaseURL: okServer(t),
		Weight: 100, CapacityMbps: 200, State: control.CDNActive})
	base := "http://" + n.HTTPAddr()
	first := func(body string) string {
		var m struct{ Pathways []struct{ ID string } }
		json.Unmarshal([]byte(body), &m)
		if len(m.Pathways) == 0 {
			return ""
		}
		return m.Pathways[0].ID
	}
	attacker, player := from(t, "127.0.0.1"), from(t, "127.0.0.2")
	for i := range 40 {
		if st, body := attacker(fmt.Sprintf("%s/play/fight?session=invented-%d", base, i)); st != 200 {
			t.Fatalf("/play %d: %d %s", i, st, body)
		}
	}
	if st, body := player(base + "/play/fight"); st != 200 || first(body) != "cdn-a" {
		t.Fatalf("a real player after 40 invented sessions: %d, first pathway %q (want cdn-a)\n%s", st, first(body), body)
	}
	if m := do(t, "GET", base+"/metrics", "", nil).body; !strings.Contains(m, "ringside_steering_sessions_over_network_cap_total 24") {
		t.Error("metrics do not count the 24 sessions over the network's 16")
	}
}

// TestSteerRateLimitPerClient: a client hammering /steer gets 429 while
// another client's requests in between all succeed.
func TestSteerRateLimitPerClient(t *testing.T) {
	n := steerNode(t, okServer(t), func(c *Config) { c.Steering.MaxRPS = 100 })
	url := "http://" + n.HTTPAddr() + "/steer/fight"
	greedy, other := from(t, "127.0.0.1"), from(t, "127.0.0.2")
	for round := range 3 {
		shed := false
		for i := 0; i < 500 && !shed; i++ {
			st, _ := greedy(url)
			shed = st == http.StatusTooManyRequests
		}
		if !shed {
			t.Fatalf("round %d: 500 requests in a row from one client, never a 429", round)
		}
		if st, body := other(url); st != 200 {
			t.Fatalf("round %d: another client got %d while one client was shed: %s", round, st, body)
		}
	}
}

// TestDNSNames: only {event}.{zone}, live.{zone} and the apex exist;
// deeper names under them are NXDOMAIN, the apex without addresses is
// NODATA.
func TestDNSNames(t *testing.T) {
	n := steerNode(t, okServer(t), func(c *Config) { c.Steering.DNSListen = "127.0.0.1:0" })
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		data  bool // an answer record
	}{
		{"fight.ringside.test.", miekg.TypeA, miekg.RcodeSuccess, true},
		{"FIGHT.ringside.test.", miekg.TypeA, miekg.RcodeSuccess, true},
		{"live.ringside.test.", miekg.TypeA, miekg.RcodeSuccess, true},
		{"ringside.test.", miekg.TypeSOA, miekg.RcodeSuccess, true},
		{"ringside.test.", miekg.TypeA, miekg.RcodeSuccess, false}, // NODATA
		{"nope.ringside.test.", miekg.TypeA, miekg.RcodeNameError, false},
		{"fight.anything.ringside.test.", miekg.TypeA, miekg.RcodeNameError, false},
		{"fight.a.b.ringside.test.", miekg.TypeA, miekg.RcodeNameError, false},
		{"live.x.ringside.test.", miekg.TypeAAAA, miekg.RcodeNameError, false},
		{"www.fight.ringside.test.", miekg.TypeA, miekg.RcodeNameError, false},
	}
	for _, tt := range tests {
		m := new(miekg.Msg).SetQuestion(tt.name, tt.qtype)
		r, err := miekg.Exchange(m, n.DNSAddr())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if r.Rcode != tt.rcode || (len(r.Answer) > 0) != tt.data {
			t.Errorf("%s %s: %s with %d answers, want %s with data %v", tt.name, miekg.TypeToString[tt.qtype],
				miekg.RcodeToString[r.Rcode], len(r.Answer), miekg.RcodeToString[tt.rcode], tt.data)
		}
	}
}

// oneEvent is steerInputs with the single event "fight".
type oneEvent struct{ t *eventTable }

func (o oneEvent) event(id string) *Event        { return o.t.byID[id] }
func (o oneEvent) eventTable() *eventTable       { return o.t }
func (o oneEvent) document() *control.Document   { return nil }
func (o oneEvent) table() *route.Table           { return nil }
func (o oneEvent) versions() (doc, table uint64) { return 0, 0 }

// FuzzDNSName: whatever name a query asks for (relative to the zone),
// only the apex, live and the event exist; a name with a dot never does.
func FuzzDNSName(f *testing.F) {
	for _, s := range []string{"", "fight", "live", "fight.x", "a.b.fight", "nope", ".", "fight.", "\x00", "live.live"} {
		f.Add(s)
	}
	s := &steer{in: oneEvent{&eventTable{byID: map[string]*Event{"fight": {ID: "fight"}}}}}
	f.Fuzz(func(t *testing.T, name string) {
		id, exists := s.nameEvent(name)
		want := name == "" || name == "fight" || name == "live"
		if exists != want || (!exists && id != "") {
			t.Fatalf("%q: exists %v (id %q), want %v", name, exists, id, want)
		}
		if exists && name != "" && id != "fight" {
			t.Fatalf("%q names event %q", name, id)
		}
	})
}

// TestSteeringOverHTTPS: a player that asks over HTTPS is sent to the
// edges' HTTPS listener (a page on https:// may not load http:// media):
// the playback API's URLs, the steered master's mesh variants and the /r/
// redirect; over plain HTTP the same requests stay on HTTP.
func TestSteeringOverHTTPS(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n0/index.m3u8\n"))
	}))
	defer origin.Close()
	ids := issueFor(t, "t1", RoleEdge, RoleShield, RoleControl, RoleSteer)
	n := steerNode(t, origin.URL, func(c *Config) {
		c.HTTP.TLSListen, c.HTTP.TLS = "127.0.0.1:0", []KeyPairConfig{{Cert: ids.Cert, Key: ids.Key}}
	})
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ids.CA)
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) (int, http.Header, string) {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	tlsBase, plainBase := "https://"+n.HTTPSAddr(), "http://"+n.HTTPAddr()
	for _, tc := range []struct{ base, want, not string }{
		{tlsBase, "https://" + n.HTTPSAddr(), "http://"},
		{plainBase, "http://" + n.HTTPAddr(), "https://"},
	} {
		st, _, body := get(tc.base + "/play/fight?session=s1")
		if st != 200 || !strings.Contains(body, tc.want+"/live/fight/master.m3u8") || strings.Contains(body, tc.not) {
			t.Fatalf("/play from %s: %d %s", tc.base, st, body)
		}
		st, _, body = get(tc.base + "/s/live/fight/master.m3u8?session=s1")
		if st != 200 || !strings.Contains(body, tc.want+"/live/fight/0/index.m3u8") || strings.Contains(body, tc.not) {
			t.Fatalf("steered master from %s: %d %s", tc.base, st, body)
		}
		st, h, _ := get(tc.base + "/r/live/fight/master.m3u8?session=s1")
		if st != 302 || !strings.HasPrefix(h.Get("Location"), tc.want+"/live/fight/") {
			t.Fatalf("redirect from %s: %d %s", tc.base, st, h.Get("Location"))
		}
	}
}

// TestSteeredMasterParsedOnce: steered requests for the same master share
// one parse (a large master used to be parsed again for every anonymous
// request).
func TestSteeredMasterParsedOnce(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n0/index.m3u8\n"))
	}))
	defer origin.Close()
	n := steerNode(t, origin.URL)
	for i := range 20 {
		if r := do(t, "GET", fmt.Sprintf("http://%s/s/live/fight/master.m3u8?session=s%d", n.HTTPAddr(), i), "", nil); r.status != 200 {
			t.Fatalf("steered master: %d %s", r.status, r.body)
		}
	}
	if got := n.running().steer.masters.parses.Load(); got != 1 {
		t.Fatalf("20 steered requests of one master: %d parses", got)
	}
}
