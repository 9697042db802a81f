package admin

import (
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
	// Client forwards requests to other nodes' admin APIs; nil: one with
	// its own connect and idle timeouts (Config.ForwardTimeout bounds each
	// call).
	Client *http.Client
	// Logger receives forwarding failures and internal errors; nil:
	// discard. The caller adds the node's attributes.
	Logger *slog.Logger
	// Rand generates Idempotency-Keys and signing secrets; nil:
	// crypto/rand. Tests inject a fixed source.
	Rand io.Reader
}

// API is the operator API of one node; it serves everything under
// /admin/v1/.
type API struct {
	cfg      Config
	control  Control
	cluster  Cluster
	steering Steering
	meshKeys MeshKeys
	client   *http.Client
	log      *slog.Logger
	rand     io.Reader
	mux      *http.ServeMux
	routes   map[string]*route // by ServeMux pattern
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
	a := &API{cfg: cfg, control: deps.Control, cluster: deps.Cluster, steering: deps.Steering, meshKeys: deps.MeshKeys,
		client: deps.Client, log: deps.Logger, rand: deps.Rand, mux: http.NewServeMux(), routes: map[string]*route{}}
	if a.client == nil {
		a.client = newForwardClient()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.rand == nil {
		a.rand = rand.Reader
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

// maxBody bounds a request body; configuration objects are small.
const maxBody = 4 << 20

// ServeHTTP answers everything under /admin/v1/. The admin token may do
// everything, the read-only token only GET (403 otherwise); an unknown
// path answers 404 and a known path with another method 405 with Allow,
// both problem+json.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Token == "" {
		writeProblem(w, http.StatusNotFound, "the admin API is disabled: set admin.token")
		return
	}
	tok := bearer(r.Header.Get("Authorization"))
	full := tokenOK(tok, a.cfg.Token)
	if !full && !tokenOK(tok, a.cfg.ReadOnlyToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ringside-admin"`)
		writeProblem(w, http.StatusUnauthorized, "missing or wrong admin token")
		return
	}
	r = trimSlash(r)
	path := r.URL.Path
	h, pattern := a.mux.Handler(r)
	rt := a.routes[pattern]
	switch {
	case rt == nil && muxStatus(h, r, w.Header()) == http.StatusMethodNotAllowed:
		writeProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+path)
	case rt == nil:
		writeProblem(w, http.StatusNotFound, "no such admin route: "+r.Method+" "+path)
	case rt.write && !full:
		writeProblem(w, http.StatusForbidden, "the read-only token cannot "+r.Method+" "+path)
	default:
		a.mux.ServeHTTP(w, r) // sets the path values
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

func bearer(h string) string {
	const pfx = "Bearer "
	if len(h) > len(pfx) && h[:len(pfx)] == pfx {
		return h[len(pfx):]
	}
	return ""
}

func tokenOK(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// call is one request being answered: the route's deadline, the body read
// once (a forwarded request replays it) and, for writes, the
// Idempotency-Key every attempt carries.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	body []byte
	key  string
}

// serveRoute reads the body, fixes the request's deadline and, for a
// write, its Idempotency-Key, then runs the route's handler.
func (a *API) serveRoute(rt *route, w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), rt.budget())
	defer cancel()
	c := &call{w: w, r: r, ctx: ctx}
	if r.Body != nil {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", maxBody))
			return
		case err != nil:
			writeProblem(w, http.StatusBadRequest, "reading the body: "+err.Error())
			return
		}
		c.body = b
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
