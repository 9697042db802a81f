package admin

import "time"

// route is one operation of the API. The table is the router and what
// openapi.json is checked against (TestOpenAPIMatchesRoutes).
type route struct {
	method string
	path   string // under /admin/v1/, with {name} path parameters
	write  bool   // needs the admin token; gets an Idempotency-Key
	handle func(a *API, c *call)
}

// Budgets: how long one request may take, forwarding included. Every call
// into the control store gets a context with this deadline.
const (
	readBudget  = 10 * time.Second
	writeBudget = 10 * time.Second
)

func (rt *route) budget() time.Duration {
	if rt.write {
		return writeBudget
	}
	return readBudget
}

// routes is read-only after package initialisation.
var routes = []route{
	{"GET", "nodes", false, (*API).nodes},
	{"POST", "nodes/{id}/drain", true, func(a *API, c *call) { a.drain(c, true) }},
	{"POST", "nodes/{id}/undrain", true, func(a *API, c *call) { a.drain(c, false) }},
	{"POST", "purge", true, (*API).purge},
	{"GET", "mesh/keys", false, (*API).listMeshKeys},
	{"POST", "mesh/keys", true, (*API).changeMeshKey},
	{"GET", "config", false, (*API).config},
	{"GET", "config/history", false, (*API).history},
	{"GET", "events", false, (*API).listEvents},
	{"POST", "events", true, (*API).createEvent},
	{"GET", "events/{id}", false, (*API).getEvent},
	{"PUT", "events/{id}", true, (*API).putEvent},
	{"DELETE", "events/{id}", true, (*API).deleteEvent},
	{"POST", "events/{id}/state", true, (*API).eventState},
	{"POST", "events/{id}/revoke-tokens", true, (*API).revokeTokens},
	{"GET", "events/{id}/feeds", false, (*API).eventFeeds},
	{"POST", "events/{id}/feeds", true, (*API).switchFeed},
	{"GET", "events/{id}/clips", false, (*API).listClips},
	{"POST", "events/{id}/clips", true, (*API).createClip},
	{"DELETE", "events/{id}/clips/{name}", true, (*API).deleteClip},
	{"GET", "regions", false, (*API).listRegions},
	{"PUT", "regions/{name}", true, (*API).putRegion},
	{"DELETE", "regions/{name}", true, (*API).deleteRegion},
	{"GET", "cdns", false, (*API).listCDNs},
	{"PUT", "cdns/{id}", true, (*API).putCDN},
	{"DELETE", "cdns/{id}", true, (*API).deleteCDN},
	{"POST", "cdns/{id}/weight", true, (*API).cdnWeight},
	{"POST", "cdns/{id}/state", true, (*API).cdnState},
	{"POST", "signing-keys/rotate", true, (*API).rotateKey},
	{"GET", "steering/simulate", false, (*API).simulate},
	{"GET", "steering/health", false, (*API).steeringHealth},
	{"GET", "telemetry", false, (*API).telemetryView},
	{"GET", "telemetry/stream", false, (*API).telemetryStream},
	{"GET", "openapi.json", false, (*API).openAPI},
}

// Operations lists the routed operations as "METHOD /admin/v1/path" with
// {name} path parameters, for documentation checks.
func Operations() []string {
	out := make([]string, 0, len(routes))
	for _, r := range routes {
		out = append(out, r.method+" "+prefix+r.path)
	}
	return out
}
