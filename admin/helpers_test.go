package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/admin/admintest"
)

const (
	adminToken = "test-admin-token"
	roToken    = "test-read-only-token"
)

// env is one node's API over fakes.
type env struct {
	api     *admin.API
	control *admintest.Control
	cluster *admintest.Cluster
}

// newEnv builds an API for node "self" (a voter that leads) in a mesh of
// self and n2; mod changes the config and deps first.
func newEnv(t *testing.T, mod ...func(*admin.Config, *admin.Deps)) *env {
	t.Helper()
	e := &env{control: admintest.NewControl(), cluster: admintest.NewCluster(
		admin.Member{ID: "self", Roles: []string{"edge", "control"}, HTTP: "127.0.0.1:1", State: "alive"},
		admin.Member{ID: "n2", Roles: []string{"edge"}, HTTP: "127.0.0.1:2", State: "alive", Load: 0.5})}
	cfg := admin.DefaultConfig()
	cfg.NodeID, cfg.Token, cfg.ReadOnlyToken = "self", adminToken, roToken
	cfg.LeaderWait = 200 * time.Millisecond // a leaderless voter's wait, short in tests
	deps := admin.Deps{Control: e.control, Cluster: e.cluster,
		Steering: &admintest.Steering{Events: map[string]bool{"fight": true}}}
	for _, m := range mod {
		m(&cfg, &deps)
	}
	api, err := admin.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	return e
}

// withID makes the API's node id (its target id for forwarded calls).
func withID(id string) func(*admin.Config, *admin.Deps) {
	return func(c *admin.Config, _ *admin.Deps) { c.NodeID = id }
}

// at fixes the API's clock, which signs and checks forwarded calls.
func at(now time.Time) func(*admin.Config, *admin.Deps) {
	return func(_ *admin.Config, d *admin.Deps) { d.Now = func() time.Time { return now } }
}

// meshSide is api behind another node's mesh listener: every call comes
// from node via, as its client certificate would say.
func meshSide(api *admin.API, via string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeForwarded(w, r, via) })
}

// result is one answer of the API.
type result struct {
	status  int
	header  http.Header
	raw     string
	problem admin.Problem
}

// call sends one request to the API in process; hdr are name, value pairs.
func (e *env) call(t *testing.T, method, path, token, body string, hdr ...string) result {
	t.Helper()
	req := httptest.NewRequest(method, "http://node"+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.answer(t, req, e.api)
}

// forwarded sends req to the API's ServeForwarded from node via.
func (e *env) forwarded(t *testing.T, req *http.Request, via string) result {
	t.Helper()
	return e.answer(t, req, meshSide(e.api, via))
}

// answer runs req through h and checks that every error is a problem.
func (e *env) answer(t *testing.T, req *http.Request, h http.Handler) result {
	t.Helper()
	method, path := req.Method, req.URL.RequestURI()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := result{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if r.status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: %d with Content-Type %q, want application/problem+json", method, path, r.status, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &r.problem); err != nil || r.problem.Status != r.status ||
			r.problem.Type != "about:blank" || r.problem.Title != http.StatusText(r.status) {
			t.Errorf("%s %s: not a problem: %s (%v)", method, path, r.raw, err)
		}
	}
	return r
}

// decode unmarshals the answer into v.
func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.raw), v); err != nil {
		t.Fatalf("decoding %s: %v", r.raw, err)
	}
}

// upstream is another node's admin API as a forwarding target: it records
// each request and answers with handler (or 200 {}).
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

type seen struct {
	method, uri string
	header      http.Header
	body        string
}

func newUpstream(t *testing.T, handler http.Handler) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), string(b)})
		u.mu.Unlock()
		if handler == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{}\n"))
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) seen() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// unreachableURL is the address of a server that no longer listens.
func unreachableURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}

// status answers every request with status and a problem body.
func status(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(admin.Problem{Type: "about:blank", Title: http.StatusText(code), Status: code,
			Detail: "upstream says no"})
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// handlerFunc answers 200 {} after f returns.
func handlerFunc(f func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f()
		w.Write([]byte("{}\n"))
	})
}
