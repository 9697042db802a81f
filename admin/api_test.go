package admin_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/admin"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	off := newEnv(t, func(c *admin.Config, _ *admin.Deps) { c.Token, c.ReadOnlyToken = "", "" })
	tests := []struct {
		name                      string
		env                       *env
		method, path, token, body string
		status                    int
		want                      string
	}{
		{"disabled", off, "GET", "/admin/v1/nodes", adminToken, "", 404, "set admin.token"},
		{"disabled, no token", off, "GET", "/admin/v1/nodes", "", "", 404, "set admin.token"},
		{"no token", e, "GET", "/admin/v1/events", "", "", 401, "admin token"},
		{"wrong token", e, "GET", "/admin/v1/events", "wrong", "", 401, "admin token"},
		{"read-only reads", e, "GET", "/admin/v1/events", roToken, "", 200, `"events"`},
		{"read-only cannot write", e, "PUT", "/admin/v1/regions/us", roToken, `{"cidrs":["198.51.100.0/24"]}`, 403, "read-only"},
		{"read-only unknown route", e, "POST", "/admin/v1/wombats", roToken, "", 404, "no such admin route"},
		{"admin writes", e, "PUT", "/admin/v1/regions/us", adminToken, `{"cidrs":["198.51.100.0/24"]}`, 200, `"version": 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.env.call(t, tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("%d %s; want %d with %q", r.status, r.raw, tt.status, tt.want)
			}
			if got := r.header.Get("WWW-Authenticate"); (r.status == 401) != (got == `Bearer realm="ringside-admin"`) {
				t.Fatalf("WWW-Authenticate %q on %d", got, r.status)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		})
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		status             int
		want, allow        string
	}{
		{"unknown path", "GET", "/admin/v1/wombats", 404, "no such admin route: GET /admin/v1/wombats", ""},
		{"unknown sub-path", "POST", "/admin/v1/nodes/n2/explode", 404, "no such admin route", ""},
		{"root", "GET", "/admin/v1/", 404, "no such admin route", ""},
		{"outside the prefix", "GET", "/live/x", 404, "no such admin route", ""},
		{"wrong method", "DELETE", "/admin/v1/events", 405, "DELETE is not allowed on /admin/v1/events", "POST"},
		{"unknown method", "PATCH", "/admin/v1/events/fight", 405, "PATCH is not allowed", "PUT"},
		{"GET on a write-only path", "GET", "/admin/v1/purge", 405, "not allowed", "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, tt.method, tt.path, adminToken, "")
			if r.status != tt.status || !strings.Contains(r.problem.Detail, tt.want) {
				t.Fatalf("%d %s; want %d with %q", r.status, r.raw, tt.status, tt.want)
			}
			if !strings.Contains(r.header.Get("Allow"), tt.allow) {
				t.Fatalf("Allow %q, want it to name %s", r.header.Get("Allow"), tt.allow)
			}
		})
	}
	if r := e.call(t, "GET", "/admin/v1/events/", adminToken, ""); r.status != 200 {
		t.Fatalf("trailing slash: %d %s", r.status, r.raw)
	}
}

// TestOpenAPIMatchesRoutes: every documented operation is routed, and
// every routed operation is documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served := e.call(t, "GET", "/admin/v1/openapi.json", roToken, "")
	if served.raw != string(raw) || served.header.Get("Content-Type") != "application/json" {
		t.Fatal("served openapi.json differs from the file")
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			documented[m+" "+path] = true
			concrete := strings.NewReplacer("{id}", "x1", "{name}", "x1").Replace(path)
			r := e.call(t, m, concrete, adminToken, "{}")
			if r.status == 404 && strings.Contains(r.raw, "no such admin route") || r.status == 405 {
				t.Errorf("documented %s %s is not routed: %d %s", m, path, r.status, r.raw)
			}
		}
	}
	for _, op := range admin.Operations() {
		if !documented[op] {
			t.Errorf("routed %s is not in openapi.json", op)
		}
	}
	if len(documented) != len(admin.Operations()) {
		t.Errorf("%d documented operations, %d routed", len(documented), len(admin.Operations()))
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  admin.Config
		deps admin.Deps
		want string
	}{
		{"no node id", admin.Config{Token: "t"}, admin.Deps{Cluster: newEnv(t).cluster}, "NodeID"},
		{"no cluster", admin.Config{NodeID: "n"}, admin.Deps{}, "Cluster"},
		{"negative timeout", admin.Config{NodeID: "n", ForwardTimeout: -1}, admin.Deps{Cluster: newEnv(t).cluster}, "ForwardTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := admin.New(tt.cfg, tt.deps); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
}
