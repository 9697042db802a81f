//go:build unix

package linearizability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// workload is the clients' shared bookkeeping: the clock of the history,
// the operations recorded, the unique weights handed out, and what
// answered outside the API's contract.
type workload struct {
	nodes []*proc
	start time.Time
	run   string // distinguishes idempotency keys between runs

	next atomic.Int64 // write counter: op n sets cdnIDs[n%numCDNs] to n/numCDNs

	mu         sync.Mutex
	procs      int // porcupine client ids handed out
	ops        []record
	unexpected map[string]int    // "POST 404" -> count
	samples    map[string]string // one answer per unexpected kind
}

// record is one operation as the clients saw it.
type record struct {
	proc      int
	in        opInput
	out       opOutput
	call, ret int64 // ret < 0: unknown outcome
	node      string
	note      string // attempts and statuses, for the visualization
}

func newWorkload(nodes []*proc, run string) *workload {
	return &workload{nodes: nodes, start: time.Now(), run: run,
		unexpected: map[string]int{}, samples: map[string]string{}}
}

// now is the history's clock: nanoseconds since the workload began.
func (w *workload) now() int64 { return int64(time.Since(w.start)) }

func (w *workload) newProc() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.procs++
	return w.procs - 1
}

func (w *workload) add(r record) {
	w.mu.Lock()
	w.ops = append(w.ops, r)
	w.mu.Unlock()
}

// contract notes an answer outside the API's contract: every request is
// well formed, so a write may only answer 200, 412 to an If-Match, or 503
// with Retry-After; a read 200 or 503 with Retry-After.
func (w *workload) contract(method, node string, r reply, ifMatch bool) {
	switch {
	case r.status == http.StatusOK, r.status == http.StatusPreconditionFailed && ifMatch:
	case r.status == http.StatusServiceUnavailable && r.retryAfter != "":
	case r.status == http.StatusServiceUnavailable:
		w.odd(method+" 503 without Retry-After", node, r)
	default:
		w.odd(fmt.Sprintf("%s %d", method, r.status), node, r)
	}
}

// odd counts an answer outside the contract, and keeps the first one of
// each kind.
func (w *workload) odd(kind, node string, r reply) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unexpected[kind]++
	if _, ok := w.samples[kind]; !ok {
		w.samples[kind] = node + ": " + brief(r.body)
	}
}

// clientConfig bounds one client.
type clientConfig struct {
	maxOps    int
	interval  time.Duration // mean time between operations
	opTimeout time.Duration // one HTTP attempt
	opBudget  time.Duration // all attempts of a keyed write
}

// client runs operations against random nodes until stop closes or it has
// done maxOps. It is a Jepsen process: after an operation with an unknown
// outcome it continues under a new porcupine client id, since that
// operation may still be in flight.
func (w *workload) client(stop <-chan struct{}, cfg clientConfig, rng *rand.Rand) {
	ac := newAdminClient(cfg.opTimeout)
	defer ac.close()
	proc := w.newProc()
	var seen uint64 // the highest version this client has seen
	for range cfg.maxOps {
		pause := time.NewTimer(time.Duration(rng.Int64N(int64(2 * cfg.interval))))
		select {
		case <-stop:
			pause.Stop()
			return
		case <-pause.C:
		}
		var r record
		switch x := rng.Float64(); {
		case x < 0.4 || (x >= 0.8 && seen == 0):
			r = w.read(ac, rng)
		case x < 0.8:
			r = w.write(ac, rng, cfg, 0)
		default:
			r = w.write(ac, rng, cfg, seen)
		}
		r.proc = proc
		if r.out.outcome == outFailed {
			w.add(r)
			continue
		}
		if r.in.kind == opRead && r.out.outcome != outOK {
			continue // a read without an answer has no effect
		}
		w.add(r)
		if r.out.outcome == outOK {
			seen = max(seen, r.out.version)
		}
		if r.ret < 0 {
			proc = w.newProc()
		}
	}
}

// cdnList is GET /admin/v1/cdns.
type cdnList struct {
	Version uint64 `json:"version"`
	CDNs    []struct {
		ID     string `json:"id"`
		Weight int    `json:"weight"`
	} `json:"cdns"`
}

// weights returns the weights of the test's CDNs (absent when missing).
func (l cdnList) weights() [numCDNs]int {
	out := [numCDNs]int{absent, absent, absent}
	for _, c := range l.CDNs {
		for i, id := range cdnIDs {
			if c.ID == id {
				out[i] = c.Weight
			}
		}
	}
	return out
}

// read is a consistent read of every CDN on a random node.
func (w *workload) read(ac *adminClient, rng *rand.Rand) record {
	p := w.nodes[rng.IntN(len(w.nodes))]
	r := record{in: opInput{kind: opRead}, node: p.name, out: opOutput{outcome: outUnknown}}
	ctx, cancel := context.WithTimeout(context.Background(), ac.http.Timeout)
	defer cancel()
	r.call = w.now()
	rep, err := ac.do(ctx, http.MethodGet, p.adminURL()+"/admin/v1/cdns?consistent=true", nil, nil)
	r.ret = w.now()
	if err == nil {
		w.contract("GET", p.name, rep, false)
	}
	switch {
	case err != nil:
		r.note = err.Error()
	case rep.status == http.StatusOK:
		var l cdnList
		if err := json.Unmarshal(rep.body, &l); err != nil {
			w.odd("GET 200 unreadable", p.name, rep)
			break
		}
		r.out = opOutput{outcome: outOK, version: l.Version, weights: l.weights()}
	}
	return r
}

// writeReply is the answer to a write.
type writeReply struct {
	Version   uint64 `json:"version"`
	Duplicate bool   `json:"duplicate"`
}

// write sets a fresh weight on one CDN through a random node; with expect
// set it is a compare-and-set. Half the writes carry an Idempotency-Key
// and are retried, on any node, until an answer says what happened or the
// budget is spent; the others get one attempt.
func (w *workload) write(ac *adminClient, rng *rand.Rand, cfg clientConfig, expect uint64) record {
	n := w.next.Add(1) - 1
	in := opInput{kind: opWrite, cdn: int(n % numCDNs), weight: int(n / numCDNs)}
	hdr := map[string]string{}
	if expect > 0 {
		in.kind, in.expect = opCAS, expect
		hdr["If-Match"] = `"` + strconv.FormatUint(expect, 10) + `"`
	}
	keyed := rng.IntN(2) == 0
	if keyed {
		hdr["Idempotency-Key"] = fmt.Sprintf("lin-%s-%d", w.run, n)
	}
	r := record{in: in, out: opOutput{outcome: outUnknown}}
	url := "/admin/v1/cdns/" + cdnIDs[in.cdn] + "/weight"
	body := map[string]int{"weight": in.weight}
	mayHaveApplied := false // an earlier attempt may have applied
	r.call = w.now()
	deadline := time.Now().Add(cfg.opBudget)
	for attempt := 1; ; attempt++ {
		p := w.nodes[rng.IntN(len(w.nodes))]
		r.node = p.name
		ctx, cancel := context.WithTimeout(context.Background(), ac.http.Timeout)
		rep, err := ac.do(ctx, http.MethodPost, p.adminURL()+url, body, hdr)
		cancel()
		now := w.now()
		if err == nil {
			w.contract("POST", p.name, rep, in.kind == opCAS)
		}
		if rep.conns > 1 {
			mayHaveApplied = true // the transport resent it: see reply.conns
		}
		var wr writeReply
		switch {
		case err != nil && neverSent(rep, err):
			r.note += fmt.Sprintf("[%s refused] ", p.name)
		case err != nil:
			r.note += fmt.Sprintf("[%s %v] ", p.name, err)
			mayHaveApplied = true
		case rep.status == http.StatusOK && json.Unmarshal(rep.body, &wr) == nil && wr.Version > 0:
			r.note += fmt.Sprintf("[%s 200 duplicate=%v]", p.name, wr.Duplicate)
			r.ret, r.out = now, opOutput{outcome: outOK, version: wr.Version}
			return r
		case rep.status == http.StatusPreconditionFailed && in.kind == opCAS:
			// Keys are checked before If-Match: a retry of an applied write
			// answers 200 duplicate, so 412 means no attempt applied.
			r.note += fmt.Sprintf("[%s 412]", p.name)
			r.ret, r.out = now, opOutput{outcome: outConflict}
			return r
		case rep.status >= 400 && rep.status < 500:
			r.note += fmt.Sprintf("[%s %d %s]", p.name, rep.status, brief(rep.body))
			if !mayHaveApplied {
				r.ret, r.out.outcome = now, outFailed
				return r
			}
			r.ret = -1
			return r
		default: // 5xx, or a 200 that does not say what it did
			if rep.status == http.StatusOK {
				w.odd("POST 200 unreadable", p.name, rep)
			}
			r.note += fmt.Sprintf("[%s %d %s] ", p.name, rep.status, brief(rep.body))
			mayHaveApplied = true
		}
		if !keyed || time.Now().After(deadline) {
			break
		}
		backoff := time.NewTimer(time.Duration(25*attempt) * time.Millisecond) // a client's retry backoff
		<-backoff.C
	}
	if !mayHaveApplied {
		r.ret, r.out.outcome = w.now(), outFailed
		return r
	}
	r.ret = -1
	return r
}

// history turns the records into porcupine operations: unknown outcomes
// return at end, after the final read. Operations that failed without
// effect are left out.
func (w *workload) history(end int64) []porcupine.Operation {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []porcupine.Operation
	for _, r := range w.ops {
		if r.out.outcome == outFailed {
			continue
		}
		ret := r.ret
		if ret < 0 {
			ret = end
		}
		out = append(out, porcupine.Operation{ClientId: r.proc, Input: r.in, Output: r.out,
			Call: r.call, Return: ret, Metadata: strings.TrimSpace(r.node + " " + r.note)})
	}
	return out
}
