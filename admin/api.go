package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ringside-live/ringside/control"
)

// Deps are what the API reads and acts on; see each interface's comment.
type Deps struct {
	// Control is the node's control store or followed copy; nil: no
	// control plane on this node (config routes answer 503, drain goes
	// through gossip).
	Control Control
	// Cluster is the gossip view and the node's cache; never nil.
	Cluster Cluster
	// Steering is the steer role; nil: the steering routes answer 404.
	Steering Steering
	// MeshKeys is the gossip keyring of every member; nil: the node has
	// no mesh and the mesh/keys routes answer 404.
	MeshKeys MeshKeys
	// Feeds asks the ingest nodes how they receive a redundant event's
	// feeds; nil: the feeds route shows the control plane's part only.
	Feeds Feeds
	// Clips acts on the ingest nodes' clips; nil: the clip routes answer
	// 404.
	Clips Clips
	// Telemetry is the viewers' telemetry this node merges; nil: the
	// telemetry routes answer 404 (a node without steer or control role).
	Telemetry Telemetry
	// Client forwards requests to other nodes (Cluster.AdminURL), where
	// they arrive at ServeForwarded; the node gives its mutual-TLS mesh
	// client, which verifies the target's certificate. nil: a plain one
	// with its own connect and idle timeouts (Config.ForwardTimeout bounds
	// each call).
	Client *http.Client
	// Logger receives forwarding failures and internal errors; nil:
	// discard. The caller adds the node's attributes.
	Logger *slog.Logger
	// Rand generates Idempotency-Keys and signing secrets; nil:
	// crypto/rand. Tests inject a fixed source.
	Rand io.Reader
	// Now is the clock that signs and checks forwarded calls' proofs;
	// nil: time.Now. Tests inject a fixed one.
	Now func() time.Time
}

// API is the operator API of one node; it serves everything under
// /admin/v1/.
type API struct {
	cfg      Config
	control  Control
	cluster  Cluster
	steering Steering
	meshKeys MeshKeys
	// telemetry: nil without a merger on this node.
	telemetry Telemetry
	feeds     Feeds
	clips     Clips
	client    *http.Client
	log       *slog.Logger
	rand      io.Reader
	now       func() time.Time
	mux       *http.ServeMux
	routes    map[string]*route // by ServeMux pattern
}

// New builds the API; it does no I/O.
func New(cfg Config, deps Deps) (*API, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Cluster == nil {
		return nil, errors.New("admin: Deps.Cluster is required")
	}
	a := &API{cfg: cfg, control: deps.Control, cluster: deps.Cluster, steering: deps.Steering, meshKeys: deps.MeshKeys, telemetry: deps.Telemetry,
		feeds: deps.Feeds, clips: deps.Clips, client: deps.Client, log: deps.Logger, rand: deps.Rand, now: deps.Now, mux: http.NewServeMux(), routes: map[string]*route{}}
	if a.client == nil {
		a.client = newForwardClient()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	if a.now == nil {
		a.now = time.Now
	}
	for i := range routes {
		rt := &routes[i]
		pattern := rt.method + " " + prefix + rt.path
		a.routes[pattern] = rt
		a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { a.serveRoute(rt, w, r) })
	}
	return a, nil
}

// newForwardClient is the client of forwarded calls: quick to give up on
// a node that does not accept connections, so the next voter is tried.
func newForwardClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 0, // the call's context bounds the wait for a commit
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

const prefix = "/admin/v1/"

// maxBody bounds a request body: configuration objects are small, and no
// command may be larger (control.MaxCommandSize).
const maxBody = control.MaxCommandSize

// ServeHTTP answers an operator's call under /admin/v1/. The admin token
// may do everything, the read-only token only GET (403 otherwise); an
// unknown path answers 404 and a known path with another method 405 with
// Allow, both problem+json. A forwarded call's proof is not accepted here
// (401): it belongs on ServeForwarded.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Token == "" {
		writeProblem(w, http.StatusNotFound, disabled)
		return
	}
	tok := bearer(r.Header.Get("Authorization"))
	full := tokenOK(tok, a.cfg.Token)
	if !full && !tokenOK(tok, a.cfg.ReadOnlyToken) {
		detail := "missing or wrong admin token"
		if tok == "" && r.Header.Get(HeaderProof) != "" {
			detail = "a forwarded call's proof is accepted only from another node on the mesh listener; an operator sends the admin token"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="ringside-admin"`)
		writeProblem(w, http.StatusUnauthorized, detail)
		return
	}
	who := caller{access: accessRO, origin: a.cfg.NodeID}
	if full {
		who.access = accessRW
	}
	a.dispatch(w, r, who)
}

// ServeForwarded answers a call another node forwarded (paths under
// /admin/v1/ too); the node mounts it on its mutual-TLS mesh listener, and
// via is the calling node's id from its verified certificate. The call
// carries no token: only a valid HeaderProof, signed for this node, for
// this method, request URI, Idempotency-Key and body, within a minute of
// this node's clock (401 otherwise, also when it carries Authorization).
// An rw proof may do everything, an ro proof only GET (403). The history
// names the operator at the node where the call arrived: via, or the
// X-Ringside-Origin it relays when it forwards again. Otherwise it answers
// exactly as ServeHTTP.
func (a *API) ServeForwarded(w http.ResponseWriter, r *http.Request, via string) {
	if a.cfg.Token == "" {
		writeProblem(w, http.StatusNotFound, disabled)
		return
	}
	refuse := func(detail string) {
		a.log.Warn("refused a forwarded admin call", "via", via, "method", r.Method, "path", r.URL.Path, "why", detail)
		writeProblem(w, http.StatusUnauthorized, detail)
	}
	switch {
	case via == "":
		refuse("a forwarded call needs the verified id of the node that sends it")
		return
	case r.Header.Get("Authorization") != "":
		refuse("a forwarded call carries a proof, never the admin token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	access, err := a.verifyProof(r, body)
	if err != nil {
		refuse(err.Error())
		return
	}
	origin := r.Header.Get(hdrOrigin)
	if origin == "" {
		origin = via
	}
	if !validOrigin(origin) {
		writeProblem(w, http.StatusBadRequest, hdrOrigin+" must be a node id")
		return
	}
	a.dispatch(w, r, caller{access: access, origin: origin})
}

const disabled = "the admin API is disabled: set admin.token"

// callerKey carries a request's caller from dispatch to serveRoute.
type callerKey struct{}

// dispatch routes an authenticated request: 404, 405 with Allow, 403 for
// a write without full access, else the route.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request, who caller) {
	r = trimSlash(r)
	path := r.URL.Path
	h, pattern := a.mux.Handler(r)
	rt := a.routes[pattern]
	switch {
	case rt == nil && muxStatus(h, r, w.Header()) == http.StatusMethodNotAllowed:
		writeProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+path)
	case rt == nil:
		writeProblem(w, http.StatusNotFound, "no such admin route: "+r.Method+" "+path)
	case rt.write && !who.full(): // every other route is a GET
		writeProblem(w, http.StatusForbidden, "the read-only token cannot "+r.Method+" "+path)
	default:
		a.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, who))) // sets the path values
	}
}

// trimSlash drops a trailing slash ("/admin/v1/events/" is
// "/admin/v1/events"), as the API always has.
func trimSlash(r *http.Request) *http.Request {
	p := r.URL.Path
	if len(p) <= len(prefix) || !strings.HasSuffix(p, "/") {
		return r
	}
	r = r.WithContext(r.Context())
	u := *r.URL
	u.Path, u.RawPath = strings.TrimRight(p, "/"), ""
	r.URL = &u
	return r
}

// muxStatus runs the ServeMux's own error handler h into a discarding
// writer and returns its status; it copies the Allow header of a 405 to
// hdr.
func muxStatus(h http.Handler, r *http.Request, hdr http.Header) int {
	rec := &statusRecorder{h: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.code == http.StatusMethodNotAllowed {
		if allow := rec.h.Get("Allow"); allow != "" {
			hdr.Set("Allow", allow)
		}
	}
	return rec.code
}

type statusRecorder struct {
	h    http.Header
	code int
}

func (s *statusRecorder) Header() http.Header { return s.h }
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return len(b), nil
}
func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}

// bearer is the token of an Authorization header of the Bearer scheme,
// whose name is case-insensitive (RFC 9110 §11.1); "" for any other.
func bearer(h string) string {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimLeft(token, " ")
}

func tokenOK(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// call is one request being answered: the route's deadline, the body read
// once (a forwarded request replays it), the caller and, for writes, the
// Idempotency-Key every attempt carries.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	body []byte
	key  string
	who  caller
}

// serveRoute reads the body, names the operator, fixes the request's
// deadline and, for a write, its Idempotency-Key, then runs the route's
// handler.
func (a *API) serveRoute(rt *route, w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), rt.budget())
	defer cancel()
	who, _ := r.Context().Value(callerKey{}).(caller)
	op, ok := operatorOf(r)
	if !ok {
		writeProblem(w, http.StatusBadRequest, HeaderOperator+" must be 1-64 characters of A-Z a-z 0-9 . _ @ -",
			FieldError{Field: HeaderOperator, Message: "1-64 characters of A-Z a-z 0-9 . _ @ -"})
		return
	}
	who.operator = op
	c := &call{w: w, r: r, ctx: ctx, who: who}
	if c.body, ok = readBody(w, r); !ok {
		return
	}
	if rt.write {
		key, err := a.idempotencyKey(r)
		if err != nil {
			a.log.Error("generating an idempotency key", "err", err)
			writeProblem(w, http.StatusInternalServerError, err.Error())
			return
		}
		c.key = key
		w.Header().Set(hdrIdempotency, key) // so the client can retry with it
	}
	rt.handle(a, c)
}

// readBody reads a request's body, at most maxBody bytes; it answers 413
// or 400 and reports false when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Body == nil {
		return nil, true
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", maxBody))
		return nil, false
	case err != nil:
		writeProblem(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	return b, true
}
