// Package control holds Ringside's event configuration in Raft: one
// versioned Document (events, regions, CDNs, node drain flags, playback
// signing keys) changed only by typed Commands.
//
// Three kinds of node read it:
//
//   - voters (the control role) run a Store: a hashicorp/raft member with a
//     bbolt log, file snapshots and a TCP transport over mutual TLS
//     (Config.TLS, a TransportTLS): only peers whose certificate the
//     server config admits, control voters of the cluster CA, complete the
//     handshake, and only handshaken connections reach Raft (the others
//     are counted in Stats.RejectedConns). Plain TCP only when Config.TLS
//     is nil, for tests and single-node demos. Writes go through the
//     leader (Store.Apply); every voter applies them in the same order.
//     The transport declines Raft's heartbeat fast path, so only Raft's
//     main loop changes the term (hashicorp/raft issue #695), and
//     pipelined replication, which can wedge (hashicorp/raft issue #612).
//   - every other node runs a Follower, which long-polls a voter and keeps a
//     local copy on disk (creating its directory), so edges never count
//     towards quorum and a node serves its last known configuration while
//     the control plane is away. A failed poll is retried at once
//     (FollowerConfig.ImmediateRetries, on another voter) before backing
//     off.
//   - readers on any node take Current (one atomic load, no allocation) and
//     Watch or WaitVersion for changes. A published *Document is immutable:
//     never modify it or anything it points to. Store.ReadConsistent, on
//     the leader, is a linearizable read: it commits a Raft barrier first,
//     so it reflects every write acknowledged before the call.
//
// A voter saves its last applied document in DataDir (applied.json),
// coalesced off the apply path, and serves it from the start of Run: a
// restarted voter does not fall back to version 0 while it waits for a
// leader. Readers never see Version go back.
//
// The FSM dispatches commands from a table (see the Cmd* constants). A
// command is applied to a copy of the document, the whole copy is validated,
// and only then is it swapped in: a command applies completely or not at
// all, and each applied command adds 1 to Version. Idempotency keys of the
// last IdempotencyKeys applied commands and the last HistoryLen changes are
// part of the replicated state and of snapshots.
//
// Voters check each other. The FSM remembers (index, term, document) for
// its last applied entries, the document's sha256 computed only when a
// check asks for it; the leader periodically appends a check entry with its
// own latest position and digest; a voter whose state differs at that
// position reports a Divergence (Store.Divergence, Stats.Divergences). A
// check entry changes nothing in the replicated state.
//
// Errors (sentinels, with the HTTP status the admin API should use):
//
//   - ErrNotLeader (forward to the leader, or 421): the store is not the
//     leader; errors.As gives a *NotLeaderError with the leader's id and
//     Raft address.
//   - ErrConflict (412): Command.Expect (If-Match) is not the current
//     Version, or a seed found a non-empty document.
//   - ErrInvalid (422): the command or the document it would produce breaks
//     a rule; errors.As gives a *ValidationError listing each field, e.g.
//     "events[fight].pull_url".
//   - ErrNotFound (404): the event, region, CDN or key named does not exist.
//   - ErrExists (409): CmdCreateEvent for an event id that exists.
//   - ErrIllegalTransition (409): an event state change the state machine
//     forbids (scheduled -> rehearsal | live | ended, rehearsal ->
//     scheduled | live | ended, live -> ended; ended is final).
//   - ErrIdempotencyMismatch (422): an idempotency key reused for a
//     different command (for a signing-key rotation: another key id; the
//     secret does not count, each try generates its own).
//   - ErrTooLarge (413): the command, as written to the log, exceeds
//     MaxCommandSize.
//
// The leader judges a command against its document before it appends it
// to the log (and, before refusing one, again after a barrier, in case it
// had not applied everything committed yet), so a command that would fail
// never reaches the log, which every voter replays at each start; every
// voter still judges it as it applies it. A ValidationError lists at most
// MaxFieldErrors fields, with long values cut.
//
// Raft types never leave this package.
package control
