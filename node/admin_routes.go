package node

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// adminRoute is one operation of the admin API. The table is the router
// and the source the OpenAPI test checks openapi.json against.
type adminRoute struct {
	method  string
	pattern string // under /admin/v1/, with {name} path parameters
	write   bool   // needs the read-write token
	handle  func(n *running, ctx *fasthttp.RequestCtx, p params)
}

type params map[string]string

var adminRoutes = []adminRoute{
	{"GET", "nodes", false, (*running).adminNodes2},
	{"POST", "nodes/{id}/drain", true, func(n *running, c *fasthttp.RequestCtx, p params) { n.adminDrainPersisted(c, p["id"], true) }},
	{"POST", "nodes/{id}/undrain", true, func(n *running, c *fasthttp.RequestCtx, p params) { n.adminDrainPersisted(c, p["id"], false) }},
	{"POST", "purge", true, func(n *running, c *fasthttp.RequestCtx, _ params) { n.adminPurge(c) }},
	{"GET", "config", false, (*running).adminConfig},
	{"GET", "config/history", false, (*running).adminHistory},
	{"GET", "events", false, (*running).adminListEvents},
	{"POST", "events", true, (*running).adminCreateEvent},
	{"GET", "events/{id}", false, (*running).adminGetEvent},
	{"PUT", "events/{id}", true, (*running).adminPutEvent},
	{"DELETE", "events/{id}", true, (*running).adminDeleteEvent},
	{"POST", "events/{id}/state", true, (*running).adminEventState},
	{"GET", "regions", false, (*running).adminListRegions},
	{"PUT", "regions/{name}", true, (*running).adminPutRegion},
	{"DELETE", "regions/{name}", true, (*running).adminDeleteRegion},
	{"GET", "cdns", false, (*running).adminListCDNs},
	{"PUT", "cdns/{id}", true, (*running).adminPutCDN},
	{"DELETE", "cdns/{id}", true, (*running).adminDeleteCDN},
	{"POST", "cdns/{id}/weight", true, (*running).adminCDNWeight},
	{"POST", "cdns/{id}/state", true, (*running).adminCDNState},
	{"POST", "signing-keys/rotate", true, (*running).adminRotateKey},
	{"GET", "steering/simulate", false, (*running).adminSimulate},
	{"GET", "steering/health", false, (*running).adminSteeringHealth},
	{"GET", "openapi.json", false, (*running).adminOpenAPI},
}

// match finds the route for method and rest (the path under /admin/v1/).
// It reports whether the path exists with another method (405).
func matchAdmin(method, rest string) (*adminRoute, params, bool) {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	pathKnown := false
	for i := range adminRoutes {
		r := &adminRoutes[i]
		p, ok := matchPattern(r.pattern, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if r.method == method {
			return r, p, true
		}
	}
	return nil, nil, pathKnown
}

func matchPattern(pattern string, segs []string) (params, bool) {
	pat := strings.Split(pattern, "/")
	if len(pat) != len(segs) {
		return nil, false
	}
	var p params
	for i, s := range pat {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[s[1:len(s)-1]] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return p, true
}

// AdminOperations lists the routed operations as "METHOD /admin/v1/path"
// with {name} parameters, for documentation checks.
func AdminOperations() []string {
	out := make([]string, 0, len(adminRoutes))
	for _, r := range adminRoutes {
		out = append(out, r.method+" /admin/v1/"+r.pattern)
	}
	return out
}
