// Package steering decides where a player should fetch an event from: the
// mesh's own edges or one of the third-party CDNs, in priority order.
//
// It is pure decision logic over plain Go values: a Snapshot (event,
// regions, CDNs, edges), the Client asking, the Health of each CDN and the
// engine's own memory of sessions. Adapters turn a Decision into DNS
// answers (steering/dns), HLS/DASH content-steering manifests
// (steering/manifest) or HTTP redirects.
//
// Engine.Decide finds the client's region (longest CIDR match on the
// address or the EDNS client subnet), blocks events that are not live and
// regions that are blacked out or not allowed, and picks among the eligible
// pathways by weight, respecting edge load and CDN capacity. A session keeps
// its pathway while it stays eligible; when weights change, at most
// Config.MaxShiftPerInterval of the sticky sessions move per interval; a
// drained edge or CDN loses its sessions within one steering TTL, spread
// over that TTL. Engine.DNSPlan derives, once per change of input, what DNS
// clients get: per region, the pathways with their weights; a client's
// choice is a weighted rendezvous hash of its subnet and the event, stable
// while the weights hold, so a query is a lookup and a hash. Health applies
// hysteresis to probe and player signals and
// Prober produces the probe signals. Simulate explains a decision without
// changing any state.
//
// Clock and randomness are injected (Deps), so every decision is
// reproducible in tests.
package steering
