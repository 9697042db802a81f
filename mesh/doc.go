// Package mesh is a node's membership in the Ringside mesh: who is alive,
// with which roles, in which tier and region, how loaded and whether
// draining. It gossips with hashicorp/memberlist (SWIM: probes, suspicion,
// push-pull anti-entropy) and keeps memberlist's types to itself; the rest of
// Ringside sees Meta, Member and Event.
//
// A Mesh is built with New (validation only, no I/O) and runs with Run, which
// binds, joins the seeds, and on cancellation leaves gracefully. Membership
// changes are coalesced for Config.CoalescePeriod so a flapping member
// produces one event, or none if it comes back unchanged. Consumers either
// watch Changed and re-read Members (to rebuild a rendezvous ring, say) or
// Subscribe to typed events; a slow subscriber loses its oldest events and
// never holds up gossip.
//
// A graceful leave is told apart from a failure by a leave intent the leaving
// node gossips first; a member that misses it reports EventFail. memberlist
// does not expose suspicion, so listed members are always StateAlive.
//
// With Config.SecretKey, gossip is encrypted through memberlist's keyring:
// Keys, InstallKey, UseKey and RemoveKey rotate the key while the mesh runs
// (install the new key on every member, use it on every member, remove the
// old one on every member).
//
// There is no package-level state: any number of meshes can run in one
// process, which is how the tests run real clusters on 127.0.0.1.
package mesh
