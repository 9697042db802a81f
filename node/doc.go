// Package node wires one Ringside node from its configuration: the HTTP
// listener (fasthttp) with the player-facing /live routes, the encoder-facing
// /ingest routes, /metrics and /healthz, and the roles the node holds
// (ingest origin, cache tier). fasthttp types never leave this package.
package node
