// Package node wires one Ringside node from its configuration file.
//
// New checks the configuration; Run binds the listeners, then builds one
// running value holding every role the node has (ingest origin, cache
// tier, route fetcher, mesh membership, control plane, steering, admin
// API) and hands it to every handler: nothing in it is filled in later and
// no subsystem keeps a pointer back to the node. The hot path is fasthttp
// (live.go, ingest_http.go, internal.go, steer_http.go), one route table
// per listener (http.go); the admin API (package admin, net/http) is
// mounted through fasthttpadaptor. Work done for a request runs on a
// context derived from the node's run context (requestContext), never on
// the fasthttp RequestCtx. fasthttp types never leave this package.
package node
