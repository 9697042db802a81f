// Package admin is Ringside's operator API (/admin/v1/) on net/http: the
// mesh's members, drain and purge, gossip key rotation, the Raft-held
// configuration (events, regions, CDNs, signing keys, history), steering's
// simulation and health, and openapi.json, which documents every route.
//
// The API reads and acts through four interfaces its node supplies:
// Control (the control store or followed copy), Cluster (the gossip view,
// drains and purges on every member), Steering (the steer role) and
// MeshKeys (every member's gossip keyring). It holds no pointer to the
// node.
//
// Every write carries an Idempotency-Key: the client's, or one the first
// node that receives it generates before the first attempt. A node that is
// not a voter forwards writes, history and consistent reads to the voters
// (the known leader first); a voter that is not the leader forwards to the
// leader. A target that cannot be reached or answers 503 is skipped for the
// next, which the key makes safe; forwarding goes to each node's admin URL
// (its mutual-TLS mesh listener), at most two hops. Purges, another node's
// drain and gossip key rotation act on other members, which take those
// calls only from control voters: any other node forwards them to a voter.
// Reads answer from the local copy, or with ?consistent=true from the
// leader's linearizable read.
//
// A forwarded call never carries the admin token. It carries
// HeaderProof, an HMAC-SHA256 keyed with the token the operator used over
// the request (method, URI, Idempotency-Key, body hash), a timestamp and
// the target's id, and HeaderOperator; the target serves it through
// ServeForwarded, which the node mounts on its mesh listener with the id
// from the caller's certificate. The history names the operator at the
// node their call arrived at: "alice@edge-1".
//
// Bodies are decoded strictly (400): one JSON value, no unknown fields, no
// object naming a key twice (pkg/strictjson); at most control.MaxCommandSize
// bytes (413). If-Match compares strongly: a weak validator answers 412.
//
// Errors are RFC 9457 problem+json, bounded in size whatever the input.
// The control store's sentinels map to statuses: control.ErrInvalid 422
// (with the wrong fields), control.ErrTooLarge 413,
// control.ErrConflict 412, control.ErrNotFound 404,
// control.ErrIllegalTransition 409, control.ErrExists 409,
// control.ErrIdempotencyMismatch 422,
// control.ErrNotLeader and deadlines 503 with Retry-After: 1. The
// interfaces' own sentinels are ErrUnknownNode (Cluster.Drain, 404) and
// ErrUnknownEvent (Steering.Simulate, 422).
package admin
