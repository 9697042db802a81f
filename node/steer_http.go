package node

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/pkg/token"
	"github.com/ringside-live/ringside/shield"
	"github.com/ringside-live/ringside/steering"
	"github.com/ringside-live/ringside/steering/manifest"
)

// serveSteerRoute answers the steer role's HTTP routes.
func (n *running) serveSteerRoute(ctx *fasthttp.RequestCtx, p []byte) {
	if n.steer == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node does not have the steer role")
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		problem(ctx, fasthttp.StatusMethodNotAllowed, "only GET and HEAD")
		return
	}
	switch {
	case bytes.HasPrefix(p, prefixPlay):
		n.servePlay(ctx, string(p[len(prefixPlay):]))
	case bytes.HasPrefix(p, prefixRedirect):
		n.serveRedirect(ctx, string(p[len(prefixRedirect):]))
	case bytes.HasPrefix(p, prefixSteering):
		n.serveSteeringManifest(ctx, string(p[len(prefixSteering):]))
	default:
		n.serveSteeredManifest(ctx, string(p[len(prefixSteered):]))
	}
}

// decideFor runs the engine for the requester of event id and answers 404
// for an unknown event or the block (451/403/503); ok is false when it
// answered.
func (n *running) decideFor(ctx *fasthttp.RequestCtx, output, id string) (d steering.Decision, ev *Event, session string, ok bool) {
	session = sessionOf(ctx)
	d, ev, found := n.steer.decide(output, id, n.steeringClient(ctx, session))
	if !found {
		problem(ctx, fasthttp.StatusNotFound, "no such event: "+id)
		return d, nil, session, false
	}
	if blocked(ctx, ev, d) {
		return d, ev, session, false
	}
	return d, ev, session, true
}

// client describes the requester to the engine.
func (n *running) steeringClient(ctx *fasthttp.RequestCtx, session string) steering.Client {
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	return steering.Client{Addr: addr.Unmap(), Session: session, TLS: ctx.IsTLS()}
}

func sessionOf(ctx *fasthttp.RequestCtx) string {
	if s := ctx.QueryArgs().Peek("session"); len(s) > 0 && len(s) <= 64 {
		return string(s)
	}
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// blocked answers a blocked decision: 451 for a region rule, 403 when the
// event is not on air. It reports whether it answered.
func blocked(ctx *fasthttp.RequestCtx, ev *Event, d steering.Decision) bool {
	if !d.Blocked && len(d.Pathways) > 0 {
		return false
	}
	switch {
	case !d.Blocked:
		ctx.Response.Header.Set("Retry-After", "5")
		problem(ctx, fasthttp.StatusServiceUnavailable, "no pathway can take this session now")
	case ev.State != "" && ev.State != steering.StateLive && ev.State != steering.StateRehearsal:
		problem(ctx, fasthttp.StatusForbidden, "event "+ev.ID+" is "+ev.State+": "+d.BlockReason)
	default:
		problem(ctx, fasthttp.StatusUnavailableForLegalReasons, d.BlockReason)
	}
	return true
}

// playURL is the manifest of event on a pathway, with the token if any.
func playURL(p steering.Pathway, event, file, tok string) string {
	u := strings.TrimRight(p.BaseURL, "/") + "/live/" + event + "/" + file
	if tok != "" {
		u += "?token=" + url.QueryEscape(tok)
	}
	return u
}

// servePlay is the playback API: the pathways in priority order, the
// steering URLs and a signed playback token.
func (n *running) servePlay(ctx *fasthttp.RequestCtx, id string) {
	d, ev, session, ok := n.decideFor(ctx, "play", id)
	if !ok {
		return
	}
	tok, expires := n.signToken(ev, session, d.Region)
	type pathway struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Manifest string `json:"manifest"`
	}
	var pws []pathway
	for _, p := range d.Pathways {
		pws = append(pws, pathway{p.ID, p.Kind, playURL(p, ev.ID, "master.m3u8", tok)})
	}
	scheme := "http://"
	if ctx.IsTLS() {
		scheme = "https://"
	}
	host := scheme + string(ctx.Host())
	out := map[string]any{"event": ev.ID, "title": ev.Title, "session": session, "region": d.Region,
		"ttl": int(d.TTL / time.Second), "pathways": pws, "reasons": d.Reasons,
		"steering":         host + "/steer/" + ev.ID + "?session=" + session,
		"steered_manifest": host + "/s/live/" + ev.ID + "/master.m3u8?session=" + session + tokenParam(tok)}
	if tok != "" {
		out["token"], out["token_expires"] = tok, expires
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

func tokenParam(tok string) string {
	if tok == "" {
		return ""
	}
	return "&token=" + url.QueryEscape(tok)
}

// signToken signs a playback token for the event when a signing key
// exists, for the session and the region it was asked from and the
// event's token generation, valid steering.token_ttl (at most the
// document's max_token_ttl, which retired keys are kept for).
func (n *running) signToken(ev *Event, session, region string) (string, time.Time) {
	if len(ev.TokenKeys) == 0 {
		return "", time.Time{}
	}
	ttl := time.Duration(n.cfg.Steering.TokenTTL)
	if ev.TokenTTL > 0 {
		ttl = min(ttl, ev.TokenTTL)
	}
	exp := time.Now().Add(ttl).Truncate(time.Second)
	tok, err := token.Sign(ev.TokenKeys[0], token.Claims{Event: ev.ID, PathPrefix: "/live/" + ev.ID + "/",
		Session: session, Region: region, Generation: ev.TokenGeneration, Expires: exp})
	if err != nil {
		n.log.Error("signing a playback token", "err", err)
		return "", time.Time{}
	}
	return tok, exp
}

// serveRedirect answers /r/live/{event}/{file} with a 302 to the file on
// the chosen pathway, carrying the request's token: for a require_token
// event it must be valid for the file (tokenGate); none is minted here.
func (n *running) serveRedirect(ctx *fasthttp.RequestCtx, rest string) {
	id, file, ok := strings.Cut(rest, "/")
	if !ok || file == "" {
		problem(ctx, fasthttp.StatusNotFound, "want /r/live/{event}/{file}")
		return
	}
	tok, ok := n.tokenGate(ctx, id, file)
	if !ok {
		return
	}
	d, ev, _, found := n.decideFor(ctx, "redirect", id)
	if !found {
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Redirect(playURL(d.Pathways[0], ev.ID, file, tok), fasthttp.StatusFound)
}

// serveSteeringManifest answers /steer/{event} (HLS content steering) and
// /steer/{event}/dash (DASH), shedding load with 429: a client network
// over its own budget, or any client when the node is over its budget.
func (n *running) serveSteeringManifest(ctx *fasthttp.RequestCtx, rest string) {
	id, kind, _ := strings.Cut(rest, "/")
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	if why := n.steer.shed(addr, time.Now()); why != "" {
		ctx.Response.Header.Set("Retry-After", "1")
		problem(ctx, fasthttp.StatusTooManyRequests, why)
		return
	}
	q, _ := url.ParseQuery(string(ctx.QueryArgs().QueryString()))
	var err error
	if kind == "dash" {
		_, err = manifest.ParseDASHQuery(q)
	} else {
		_, err = manifest.ParseHLSQuery(q)
	}
	if err != nil {
		problem(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	d, ev, session, ok := n.decideFor(ctx, "manifest", id)
	if !ok {
		return
	}
	reload := "/steer/" + ev.ID + "?session=" + session
	if kind == "dash" {
		reload = "/steer/" + ev.ID + "/dash?session=" + session
	}
	clones := manifest.Clones(d.Pathways, steering.MeshID) // clones of the mesh pathway
	// Reloaded every manifest_ttl (shorter than the session's TTL), from
	// a body cached per pathway order (steer_manifest_cache.go).
	body, err := n.steer.manifests.body(kind == "dash", d, n.steer.manifestTTL(d.TTL), reload, clones)
	if err != nil {
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(body)
}

// serveSteeredManifest answers /s/live/{event}/{master.m3u8|*.mpd}: the
// event's master playlist (or MPD) with content steering: every variant
// once per pathway, tagged PATHWAY-ID, and the steering server URI.
func (n *running) serveSteeredManifest(ctx *fasthttp.RequestCtx, rest string) {
	id, file, _ := strings.Cut(rest, "/")
	kind, _, err := segment.CheckPath(file)
	if err != nil || (kind != segment.KindPlaylist && kind != segment.KindManifest) {
		problem(ctx, fasthttp.StatusBadRequest, "want /s/live/{event}/{master playlist or MPD}")
		return
	}
	tok, ok := n.tokenGate(ctx, id, file)
	if !ok {
		return
	}
	d, ev, session, ok := n.decideFor(ctx, "steered", id)
	if !ok {
		return
	}
	key := "/live/" + ev.ID + "/" + file
	obj, _, err := n.getLive(ev, shield.Request{Key: key, Event: ev.ID, Path: file, Kind: kind})
	if err != nil {
		n.liveError(ctx, []byte(key), err)
		return
	}
	wctx, cancel := n.requestContext(time.Duration(n.cfg.HTTP.StreamTimeout))
	defer cancel()
	body, err := obj.WaitDone(wctx)
	if err != nil || obj.Status != fasthttp.StatusOK {
		problem(ctx, fasthttp.StatusBadGateway, "the event's manifest is not available")
		return
	}
	pws := make([]steering.Pathway, len(d.Pathways))
	for i, p := range d.Pathways {
		p.BaseURL = strings.TrimRight(p.BaseURL, "/") + "/live/" + ev.ID + "/"
		pws[i] = p
	}
	server := "/steer/" + ev.ID + "?session=" + session
	if kind == segment.KindManifest {
		out, err := manifest.SteerMPD(body, "/steer/"+ev.ID+"/dash?session="+session, pws[0].ID, pws)
		if err != nil {
			problem(ctx, fasthttp.StatusBadGateway, err.Error())
			return
		}
		ctx.SetContentType("application/dash+xml")
		ctx.Response.Header.Set("Cache-Control", cachePerViewer)
		ctx.SetBody(out)
		return
	}
	m, err := n.steer.masters.parse(ev.ID+"/"+file, obj, body)
	if err != nil {
		problem(ctx, fasthttp.StatusBadGateway, "the event's master playlist does not parse: "+err.Error())
		return
	}
	out := manifest.SteerMaster(m, server, pws[0].ID, pws).AppendTo(nil)
	if tok != "" {
		out = withToken(out, tok)
	}
	ctx.SetContentType("application/vnd.apple.mpegurl")
	ctx.Response.Header.Set("Cache-Control", cachePerViewer)
	ctx.SetBody(out)
}

// tokenGate checks the token of a request for event id's file on the
// steer routes (/r/, the steered master and MPD) and returns it. For a
// require_token event it must be valid for the file under the rules the
// edges apply (checkToken), or the request is answered and ok is false;
// a request without a session then continues the token's, so steering
// stays with the session the token was issued for.
func (n *running) tokenGate(ctx *fasthttp.RequestCtx, id, file string) (tok string, ok bool) {
	tok = string(ctx.QueryArgs().Peek("token"))
	ev := n.event(id)
	if ev == nil || !ev.RequireToken {
		return tok, true // decideFor answers an unknown event
	}
	c, status, why := n.checkToken(ctx, ev, tok, "/live/"+ev.ID+"/"+file)
	if status != 0 {
		problem(ctx, status, why)
		return "", false
	}
	if len(ctx.QueryArgs().Peek("session")) == 0 && c.Session != "" {
		ctx.QueryArgs().Set("session", c.Session)
	}
	return tok, true
}

// withToken appends ?token= (or &token=) to every URI of a playlist: the
// lines that are not tags, and URI="..." attributes (EXT-X-MAP,
// EXT-X-MEDIA), so a player that keeps following relative URIs carries
// the token to every file.
func withToken(body []byte, tok string) []byte {
	esc := url.QueryEscape(tok)
	var out bytes.Buffer
	out.Grow(len(body) + 64*bytes.Count(body, []byte("\n")))
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		trimmed := bytes.TrimRight(line, "\r\n")
		end := line[len(trimmed):]
		switch {
		case len(trimmed) == 0:
		case trimmed[0] != '#':
			trimmed = appendParam(trimmed, esc)
		case bytes.Contains(trimmed, []byte(`URI="`)):
			i := bytes.Index(trimmed, []byte(`URI="`)) + len(`URI="`)
			j := bytes.IndexByte(trimmed[i:], '"')
			if j >= 0 {
				uri := appendParam(append([]byte(nil), trimmed[i:i+j]...), esc)
				trimmed = append(append(append([]byte(nil), trimmed[:i]...), uri...), trimmed[i+j:]...)
			}
		}
		out.Write(trimmed)
		out.Write(end)
	}
	return out.Bytes()
}

func appendParam(uri []byte, esc string) []byte {
	sep := "?"
	if bytes.IndexByte(uri, '?') >= 0 {
		sep = "&"
	}
	return append(append(append([]byte(nil), uri...), sep+"token="...), esc...)
}

// parsedMasters remembers the parse of each event's master playlist, by
// the object it came from: every steered request of the same version
// shares one parse (a large master took milliseconds to parse, and every
// anonymous request re-parsed it). One entry per master path.
type parsedMasters struct {
	mu     sync.Mutex
	last   map[string]parsedMaster
	parses atomic.Int64 // parses made, for tests
}

type parsedMaster struct {
	obj *object.Object
	m   *segment.MasterPlaylist
	err error
}

// parse returns the parse of body, the complete body of obj, the one
// already made when obj is the object last parsed for key. The result is
// shared: read it, never change it.
func (p *parsedMasters) parse(key string, obj *object.Object, body []byte) (*segment.MasterPlaylist, error) {
	p.mu.Lock()
	if e, ok := p.last[key]; ok && e.obj == obj {
		p.mu.Unlock()
		return e.m, e.err
	}
	p.mu.Unlock()
	p.parses.Add(1)
	m, err := segment.ParseMaster(body)
	p.mu.Lock()
	if p.last == nil {
		p.last = map[string]parsedMaster{}
	}
	if len(p.last) > 1024 { // events come and go: bounded
		clear(p.last)
	}
	p.last[key] = parsedMaster{obj: obj, m: m, err: err}
	p.mu.Unlock()
	return m, err
}
