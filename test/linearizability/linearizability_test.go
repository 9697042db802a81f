//go:build unix

package linearizability

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ringside-live/ringside/test/childproc"
)

// The run's shape: about 20 s of faults under six paced clients, so that
// start-up, the run and the checks fit in well under a minute on two
// cores.
const (
	numClients    = 6
	initialWeight = 1000 // no write of a run uses it: weights are n/numCDNs < maxOps*numClients/numCDNs
	checkTimeout  = 20 * time.Second
)

func runConfig() clientConfig {
	// 200 operations per client at most: the writes that apply stay well
	// under the 1,000 changes the history keeps.
	return clientConfig{maxOps: 200, interval: 100 * time.Millisecond, opTimeout: 3 * time.Second, opBudget: 4 * time.Second}
}

// TestControlPlaneLinearizable runs the Jepsen-style check described in
// the package documentation. RINGSIDE_LIN_RUNS=N repeats it on fresh
// clusters; RINGSIDE_LIN_SCENARIO=pause|kill|all picks the faults.
func TestControlPlaneLinearizable(t *testing.T) {
	runs := 1
	if s := os.Getenv("RINGSIDE_LIN_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("RINGSIDE_LIN_RUNS=%q: want a positive number", s)
		}
		runs = n
	}
	scenario := cmp.Or(os.Getenv("RINGSIDE_LIN_SCENARIO"), "all")
	rounds, ok := scenarios[scenario]
	if !ok {
		t.Fatalf("RINGSIDE_LIN_SCENARIO=%q: want pause, kill or all", scenario)
	}
	bin := childproc.Build(t, t.TempDir())
	for i := range runs {
		t.Run(fmt.Sprintf("%s-%d", scenario, i+1), func(t *testing.T) { runOnce(t, bin, rounds) })
	}
}

func runOnce(t *testing.T, bin string, rounds []string) {
	began := time.Now()
	seed := uint64(began.UnixNano())
	run := strconv.FormatUint(seed, 36)
	art := &artifacts{t: t}
	c := startCluster(t, bin)
	ac := newAdminClient(2 * time.Second)
	defer ac.close()
	init := setup(t, c, ac, run)
	t.Logf("cluster up in %v at %s; faults %v; seed %d", time.Since(began).Round(time.Millisecond), init, rounds, seed)

	w := newWorkload(c.all(), run)
	t.Cleanup(func() {
		if t.Failed() {
			art.saveRun(c, w)
		}
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range numClients {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() { w.client(stop, runConfig(), rng) })
	}
	nem := &nemesis{t: t, c: c, w: w, ac: newAdminClient(time.Second), rng: rand.New(rand.NewPCG(seed, numClients)),
		warmup: time.Second, settle: time.Second}
	faults := nem.run(rounds)
	close(stop)
	wg.Wait()
	nem.ac.close()
	for _, f := range faults {
		if f.err != nil {
			t.Errorf("nemesis: %s %s: %v", f.kind, f.node, f.err)
		}
	}

	if err := c.crashes(); err != nil {
		t.Error(err)
	}
	if err := c.heal(t, ac); err != nil {
		t.Fatalf("healing: %v", err)
	}
	finalCall := w.now()
	docs, err := c.converge(t, ac, 20*time.Second, 10*time.Second)
	var final []porcupine.Operation
	if err != nil {
		t.Errorf("after healing, the nodes did not converge: %v", err)
	} else if err := sameDocuments(docs); err != nil {
		t.Error(err)
	} else if fr, err := finalRead(docs[c.voters[0].name]); err != nil {
		t.Errorf("the converged document: %v", err)
	} else {
		fr.Call, fr.Return, fr.ClientId = finalCall, w.now(), w.newProc()
		final = append(final, fr)
	}

	checkLinearizable(t, art, init, append(w.history(w.now()+1), final...), faults)
	if hs, err := c.histories(ac); err != nil {
		t.Error(err)
	} else {
		if err := sameHistories(hs); err != nil {
			t.Error(err)
		}
		for _, g := range groupHistories(hs) {
			if err := applies(hs[g[0]], w.ops); err != nil {
				t.Errorf("writes against the change history of %s:\n%v", strings.Join(g, ", "), err)
			}
		}
	}
	if err := c.divergences(ac); err != nil {
		t.Error(err)
	}
	if len(w.unexpected) > 0 {
		t.Errorf("answers outside the API contract (every request was valid: 200, 412 to an If-Match, or 503 with Retry-After):\n%s",
			w.unexpectedReport())
	}
	count := w.counts()
	if count["reads ok"] == 0 || count["writes ok"]+count["cas ok"] == 0 {
		t.Errorf("the run acknowledged no write or no read: %s", summary(count))
	}
	t.Logf("%s; faults %s; run took %v", summary(count), describeFaults(faults), time.Since(began).Round(time.Millisecond))
}

// setup waits for the cluster, creates the CDNs on the leader and returns
// the state every node serves then: the model's initial state.
func setup(t *testing.T, c *cluster, ac *adminClient, run string) docState {
	t.Helper()
	for _, p := range c.all() {
		if err := waitHealthy(t, p, ac, 20*time.Second); err != nil {
			t.Fatalf("start-up: %v", err)
		}
	}
	until(t, "every node sees the four members", 20*time.Second, func() error {
		for _, p := range c.all() {
			var v nodesView
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := ac.getJSON(ctx, p.adminURL()+"/admin/v1/nodes", &v)
			cancel()
			if err != nil {
				return err
			}
			if len(v.Nodes) != 4 {
				return fmt.Errorf("%s sees %d members", p.name, len(v.Nodes))
			}
		}
		return nil
	})
	for _, id := range cdnIDs {
		body := map[string]any{"id": id, "hostname": id + ".cdn.test", "base_url": "https://" + id + ".cdn.test",
			"weight": initialWeight, "state": "active"}
		until(t, "creating CDN "+id+" on the leader", 20*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			l, err := c.leader(ctx, ac)
			if err != nil {
				return err
			}
			r, err := ac.do(ctx, http.MethodPut, l.adminURL()+"/admin/v1/cdns/"+id, body,
				map[string]string{"Idempotency-Key": "lin-" + run + "-create-" + id})
			if err != nil {
				return err
			}
			if r.status != http.StatusOK {
				return fmt.Errorf("PUT on %s: %d %s", l.name, r.status, brief(r.body))
			}
			return nil
		})
	}
	var init docState
	until(t, "every node serves the CDNs", 20*time.Second, func() error {
		seen := map[docState][]string{}
		for _, p := range c.all() {
			var l cdnList
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := ac.getJSON(ctx, p.adminURL()+"/admin/v1/cdns", &l)
			cancel()
			if err != nil {
				return err
			}
			s := docState{version: l.Version, weights: l.weights()}
			if slices.Contains(s.weights[:], absent) {
				return fmt.Errorf("%s serves %s", p.name, s)
			}
			seen[s] = append(seen[s], p.name)
			init = s
		}
		if len(seen) != 1 {
			return fmt.Errorf("the nodes serve %v", seen)
		}
		return nil
	})
	return init
}

// finalRead turns the converged document into a read.
func finalRead(v configView) (porcupine.Operation, error) {
	var doc struct {
		CDNs map[string]struct {
			ID     string `json:"id"`
			Weight int    `json:"weight"`
		} `json:"cdns"`
	}
	if err := json.Unmarshal(v.Document, &doc); err != nil {
		return porcupine.Operation{}, err
	}
	var l cdnList
	l.Version = v.Version
	for id, c := range doc.CDNs {
		l.CDNs = append(l.CDNs, struct {
			ID     string `json:"id"`
			Weight int    `json:"weight"`
		}{id, c.Weight})
	}
	return porcupine.Operation{Input: opInput{kind: opRead},
		Output: opOutput{outcome: outOK, version: v.Version, weights: l.weights()}, Metadata: "the converged document"}, nil
}

// checkLinearizable runs porcupine on the history; when it is not
// linearizable (or the checker gives up) it writes the visualization.
func checkLinearizable(t *testing.T, art *artifacts, init docState, ops []porcupine.Operation, faults []fault) {
	t.Helper()
	final := init.version
	for _, op := range ops {
		if out := op.Output.(opOutput); out.outcome == outOK {
			final = max(final, out.version)
		}
	}
	kept, dropped := prune(ops, init.version, final)
	model := documentModel(init)
	began := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, kept, checkTimeout)
	t.Logf("porcupine: %s on %d operations (%d unknown outcomes proven without effect left out) in %v",
		res, len(kept), len(dropped), time.Since(began).Round(time.Millisecond))
	if res == porcupine.Ok {
		return
	}
	info.AddAnnotations(annotations(faults))
	var notes []porcupine.Annotation
	for _, op := range dropped {
		notes = append(notes, porcupine.Annotation{ClientId: op.ClientId, Start: op.Call, End: op.Call,
			Description: describe(op.Input.(opInput), op.Output.(opOutput)) + " (left out: no effect)",
			Details:     fmt.Sprint(op.Metadata), BackgroundColor: "#eeeeee"})
	}
	info.AddAnnotations(notes)
	path := art.path("linearizability.html")
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		path = "(visualization failed: " + err.Error() + ")"
	}
	verdict := "not linearizable"
	if res == porcupine.Unknown {
		verdict = fmt.Sprintf("undecided: porcupine gave up after %v", checkTimeout)
	}
	t.Errorf("the history of %d operations is %s; visualization: %s%s", len(kept), verdict, path, staleReads(ops))
}

// staleReads explains the commonest violation in words: a read returning
// an older version than a write acknowledged before the read began.
func staleReads(ops []porcupine.Operation) string {
	acked := slices.DeleteFunc(slices.Clone(ops), func(op porcupine.Operation) bool {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		return in.kind == opRead || out.outcome != outOK
	})
	var lines []string
	n := 0
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		if in.kind != opRead {
			continue
		}
		for _, wr := range acked {
			if v := wr.Output.(opOutput).version; wr.Return < op.Call && v > out.version {
				n++
				if len(lines) < 5 {
					lines = append(lines, fmt.Sprintf("  read at %.3fs on %v returned v%d, but v%d was acknowledged at %.3fs",
						float64(op.Call)/1e9, op.Metadata, out.version, v, float64(wr.Return)/1e9))
				}
				break
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("\n%d stale reads, e.g.:\n%s", n, strings.Join(lines, "\n"))
}

// counts counts the operations by kind and outcome, e.g. "writes ok".
func (w *workload) counts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	count := map[string]int{}
	for _, r := range w.ops {
		kind := map[opKind]string{opRead: "reads", opWrite: "writes", opCAS: "cas"}[r.in.kind]
		count[kind+" "+map[outcome]string{outOK: "ok", outConflict: "412", outUnknown: "unknown", outFailed: "failed"}[r.out.outcome]]++
	}
	return count
}

func summary(count map[string]int) string {
	var parts []string
	total := 0
	for _, k := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, count[k]))
		total += count[k]
	}
	return fmt.Sprintf("%d operations: %s", total, strings.Join(parts, ", "))
}

func (w *workload) unexpectedReport() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(w.unexpected)) {
		lines = append(lines, fmt.Sprintf("  %s ×%d, e.g. %s", k, w.unexpected[k], w.samples[k]))
	}
	return strings.Join(lines, "\n")
}

func describeFaults(faults []fault) string {
	var parts []string
	for _, f := range faults {
		parts = append(parts, fmt.Sprintf("%s %s %.1f–%.1fs", f.kind, f.node, float64(f.start)/1e9, float64(f.end)/1e9))
	}
	return strings.Join(parts, ", ")
}

// artifacts is where a failed run leaves what explains it:
// $RINGSIDE_LIN_ARTIFACTS/<test name>, or a fresh directory under the
// system's temporary directory (t.TempDir would be removed).
type artifacts struct {
	t   *testing.T
	dir string
}

func (a *artifacts) path(name string) string {
	if a.dir == "" {
		var err error
		if root := os.Getenv("RINGSIDE_LIN_ARTIFACTS"); root != "" {
			a.dir = filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(a.t.Name(), "_"))
			err = os.MkdirAll(a.dir, 0o755)
		} else {
			a.dir, err = os.MkdirTemp("", "ringside-lin-")
		}
		if err != nil {
			a.t.Logf("artifacts: %v", err)
			a.dir = a.t.TempDir()
		}
	}
	return filepath.Join(a.dir, name)
}

// saveRun keeps the nodes' logs and the recorded operations.
func (a *artifacts) saveRun(c *cluster, w *workload) {
	for _, p := range c.all() {
		if b, err := os.ReadFile(p.logPath); err == nil {
			os.WriteFile(a.path(p.name+".log"), b, 0o644)
		}
	}
	w.mu.Lock()
	var b strings.Builder
	ops := slices.Clone(w.ops)
	w.mu.Unlock()
	slices.SortFunc(ops, func(x, y record) int { return cmp.Compare(x.call, y.call) })
	for _, r := range ops {
		ret := "…"
		if r.ret >= 0 {
			ret = fmt.Sprintf("%.3fs", float64(r.ret)/1e9)
		}
		fmt.Fprintf(&b, "%.3fs %s p%d %s %s %s\n", float64(r.call)/1e9, ret, r.proc, r.node, describe(r.in, r.out), r.note)
	}
	os.WriteFile(a.path("operations.txt"), []byte(b.String()), 0o644)
	a.t.Logf("artifacts of this run: %s", a.dir)
}
