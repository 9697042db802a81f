// Package identity is who a Ringside node is, as its certificate says, and
// the TLS configurations that enforce it.
//
// A cluster CA (NewCA, LoadCA, or the operator's own) issues each node a
// certificate (CA.Issue) whose URI SANs carry its identity:
// urn:ringside:node:<id>, exactly once, and urn:ringside:role:<role> for
// each role it may play (ingest, shield, edge, control, steer). Its DNS and
// IP SANs are only for HTTPS: peers are checked by identity, not by host
// name, so a node dialed by IP address works. FromCertificate and
// FromConnState read a Peer from a certificate; Is, HasAny and All are
// the common checks.
//
// A Source loads a node's certificate, key and CA bundle from files and
// re-reads them when they change (Run polls, Reload forces). ServerTLS and
// ClientTLS return mutual-TLS configs (TLS 1.3) that fetch the current
// certificate and CA bundle at every handshake, verify the peer's chain
// against the bundle, and pass its Peer to the caller's check; a failed
// reload keeps the previous material. Connections already open are never
// touched.
//
// KeyPairs are the certificates of a public (player-facing) HTTPS
// listener: chosen by SNI, reloaded from files, TLS 1.2+ with modern
// suites, and session ticket keys the mesh can share.
//
// Sentinels: ErrBadCertificate (a certificate carries no valid identity)
// and ErrNotAllowed (a check refused a peer). A CA that would be
// overwritten is an error wrapping fs.ErrExist. The package uses the
// standard library only.
package identity
