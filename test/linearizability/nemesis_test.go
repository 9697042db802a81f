//go:build unix

package linearizability

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Nemesis faults.
const (
	faultKill  = "kill"  // SIGKILL the leader, restart it on the same data dir
	faultPause = "pause" // SIGSTOP the leader, SIGCONT it 1–2 s later (hashicorp/raft #695)
)

// scenarios name the nemesis schedules RINGSIDE_LIN_SCENARIO picks from.
var scenarios = map[string][]string{
	"all":   {faultKill, faultPause, faultKill, faultPause, faultKill, faultPause},
	"kill":  {faultKill, faultKill, faultKill, faultKill, faultKill, faultKill},
	"pause": {faultPause, faultPause, faultPause, faultPause, faultPause, faultPause},
}

// fault is one nemesis action, on the workload's clock.
type fault struct {
	kind       string
	node       string
	start, end int64
	err        error
}

// nemesis injects faults into the leader of a cluster.
type nemesis struct {
	t   testing.TB
	c   *cluster
	w   *workload
	ac  *adminClient
	rng *rand.Rand
	// warmup is the fault-free time before the first fault; settle the
	// time after each fault before the next one starts.
	warmup, settle time.Duration
}

// hold lets d pass: the nemesis's schedule, not a wait for a condition.
func hold(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}

// run applies each fault of rounds to the current leader, one after the
// other.
func (n *nemesis) run(rounds []string) []fault {
	hold(n.warmup)
	var out []fault
	for _, kind := range rounds {
		out = append(out, n.inject(kind))
		hold(n.settle)
	}
	return out
}

func (n *nemesis) inject(kind string) fault {
	f := fault{kind: kind, start: n.w.now()}
	defer func() { f.end = n.w.now() }()
	p, err := n.c.waitLeader(n.t, n.ac, 10*time.Second)
	if err != nil {
		f.err = fmt.Errorf("no leader to %s: %w", kind, err)
		return f
	}
	f.node, f.start = p.name, n.w.now()
	down := time.Second + time.Duration(n.rng.Int64N(int64(time.Second)))
	switch kind {
	case faultKill:
		p.kill()
		hold(down)
		if f.err = p.start(); f.err == nil {
			f.err = waitHealthy(n.t, p, n.ac, 15*time.Second)
		}
	case faultPause:
		if f.err = p.signal(syscall.SIGSTOP); f.err != nil {
			return f
		}
		hold(down)
		f.err = p.resume()
	}
	f.end = n.w.now()
	return f
}

// heal resumes paused nodes and starts stopped ones, and waits until
// every node answers.
func (c *cluster) heal(t testing.TB, ac *adminClient) error {
	for _, p := range c.all() {
		if err := p.resume(); err != nil {
			return err
		}
		if !p.running() {
			if err := p.start(); err != nil {
				return err
			}
		}
	}
	for _, p := range c.all() {
		if err := waitHealthy(t, p, ac, 15*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// annotations show the faults in the visualization.
func annotations(faults []fault) []porcupine.Annotation {
	var out []porcupine.Annotation
	for _, f := range faults {
		desc, details := f.kind+" "+f.node, ""
		if f.err != nil {
			desc, details = desc+" (failed)", f.err.Error()
		}
		out = append(out, porcupine.Annotation{Tag: "nemesis", Start: f.start, End: f.end, Description: desc,
			Details: details, BackgroundColor: "#f4cccc"})
	}
	return out
}
