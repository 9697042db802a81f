// Package linearizability is a Jepsen-style test of the control plane: it
// runs real `ringside node` processes, drives the admin API from concurrent
// clients while a nemesis kills and pauses the Raft leader, and checks the
// recorded history with porcupine. The package holds only tests and this
// documentation.
//
// # Cluster
//
// The test builds cmd/ringside of the tree it runs in (with -race when the
// test has it) and starts four processes on 127.0.0.1: three control
// voters (role control, Raft bootstrapped among them, control.profile and
// mesh.profile test) and one edge that follows the document. Every node has
// its own admin.listen, so writes forwarded between nodes go over admin
// listeners. Each process runs in its own process group, writes its log to
// the test's temporary directory (its tail is printed on failure) and is
// killed when the test ends.
//
// # Workload
//
// After creating three CDNs (lin-a, lin-b, lin-c, weight 1000) six clients
// send, each to a random node (the edge included), paced at about seven
// operations a second and at most 200 each:
//
//   - write: POST /admin/v1/cdns/{id}/weight {"weight": W}. Write n sets
//     CDN n mod 3 to n div 3, so every (CDN, weight) pair is asked for
//     once. Half the writes carry an Idempotency-Key and are retried with
//     it, on random nodes, until an answer says what happened; the others
//     get one attempt.
//   - compare-and-set: the same with If-Match: "V", V the highest version
//     the client has seen.
//   - consistent read: GET /admin/v1/cdns?consistent=true.
//
// An answer is classified by the contract: 200 applied (a duplicate too:
// it reports the version of its first application); 412 to an If-Match
// not applied; another 4xx, or a connection refused before the request
// was ever sent, not applied; a timeout, a cut connection or a 5xx (503
// included: leadership may have been lost mid-commit) unknown, and so is
// any answer to a request http.Transport resent on a new connection. A read without a 200 is dropped: it had
// no effect. Since every request is valid, any answer but 200, 412 to an
// If-Match and 503 with Retry-After is also reported as outside the
// contract.
//
// # Nemesis
//
// After a second without faults, the nemesis finds the leader (the voter
// whose GET /admin/v1/nodes names itself as control_leader) and, in turn,
// SIGKILLs it and restarts it 1–2 s later on the same configuration and
// data directory, or SIGSTOPs it for 1–2 s and SIGCONTs it (the pause of
// hashicorp/raft#695), with a second between faults: three of each. The
// clients stop when it is done; then every node is resumed or restarted.
//
// # Model
//
// The state is the document's version and the weight of each test CDN
// (docState). The version is global, every applied command adds 1 to it,
// so the history is not partitioned by CDN: one partition, whose outputs
// pin it down. The operations step it as follows:
//
//   - read returning (v, weights): legal iff the state is exactly that.
//   - write acknowledged with version v: sets the weight, adds 1 to the
//     version; legal iff the new version is v. A write applied twice
//     leaves a version no operation explains.
//   - compare-and-set expecting e: acknowledged with v, legal iff the
//     version is e and v = e+1; 412, legal iff the version is not e.
//   - unknown outcome: the operation returns at the end of the history,
//     after a final read of the converged document, following porcupine's
//     convention for crashed operations: linearized before the final read
//     it happened, after it it did not. An unknown compare-and-set applies
//     only where the version matches.
//
// A write's acknowledged version names the step v-1 → v it took, so
// before checking, unknown writes proven to be no-ops are left out
// (prune): a compare-and-set expecting e when an acknowledged write took
// e → e+1, and any unknown plain write when acknowledged writes took every
// step of the run. This changes no verdict, and keeps porcupine from
// trying every subset of them on a history that is not linearizable. On
// failure the porcupine visualization (with the faults and the left-out
// operations as annotations), the operations and the node logs are kept
// in $RINGSIDE_LIN_ARTIFACTS/<test> or a fresh directory under $TMPDIR,
// named in the failure.
//
// # Other checks
//
//   - After healing, every voter and the edge serve the same version
//     (GET /admin/v1/config, a local read) and the same document.
//   - Every voter's GET /admin/v1/config/history is whole (versions 1..v)
//     and the same. Since weights are unique, an entry "cdn X weight A ->
//     W" is an application of the one write that asked for W: an
//     acknowledged write appears exactly once, at its acknowledged version;
//     a failed one never; an unknown one at most once; nothing else changes
//     the document.
//   - No voter reports a control_divergence in GET /admin/v1/nodes (absent
//     means none); no node exits on its own or logs a data race.
//   - No answer outside the contract, and at least one acknowledged write
//     and one read.
//
// # Running
//
// It runs in `make test`. To loop one scenario:
//
//	RINGSIDE_LIN_RUNS=20 RINGSIDE_LIN_SCENARIO=pause go test -race -count=1 ./test/linearizability/
//
// RINGSIDE_LIN_SCENARIO is pause, kill or all (default).
package linearizability
