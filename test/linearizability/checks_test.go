//go:build unix

package linearizability

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
)

// configView is GET /admin/v1/config: the node's local copy.
type configView struct {
	Version  uint64          `json:"version"`
	Document json.RawMessage `json:"document"`
}

// converge waits until every node serves the same document version, and
// returns each node's document then. It gives up after limit, or once the
// versions have not moved for stall (a diverged log never converges).
func (c *cluster) converge(t testing.TB, ac *adminClient, limit, stall time.Duration) (map[string]configView, error) {
	var got map[string]configView
	var err error
	var last string
	moved, deadline := time.Now(), time.Now().Add(limit)
	poll.Until(t, "convergence, or giving up on it", limit+time.Minute, func() bool {
		got = map[string]configView{}
		var errs []error
		versions := map[uint64][]string{}
		for _, p := range c.all() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			var v configView
			err := ac.getJSON(ctx, p.adminURL()+"/admin/v1/config", &v)
			cancel()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got[p.name] = v
			versions[v.Version] = append(versions[v.Version], p.name)
		}
		if err = errors.Join(errs...); err == nil && len(versions) == 1 {
			return true
		}
		if err == nil {
			err = fmt.Errorf("versions differ: %v", versions)
		}
		if now := fmt.Sprint(versions); now != last {
			last, moved = now, time.Now()
		}
		if time.Now().After(deadline) || time.Since(moved) > stall {
			err = fmt.Errorf("%w (unchanged for %v)", err, time.Since(moved).Round(time.Millisecond))
			return true
		}
		return false
	})
	return got, err
}

// sameDocuments compares the documents of every node, and describes the
// differences.
func sameDocuments(docs map[string]configView) error {
	var first string
	var want []byte
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		b, err := canonical(docs[name].Document)
		if err != nil {
			return fmt.Errorf("%s: document: %w", name, err)
		}
		if want == nil {
			first, want = name, b
			continue
		}
		if !bytes.Equal(b, want) {
			diffs = append(diffs, fmt.Sprintf("%s serves %s\n%s serves %s", first, want, name, b))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("documents differ at the same version:\n%s", strings.Join(diffs, "\n"))
	}
	return nil
}

// canonical re-encodes JSON with sorted object keys.
func canonical(raw json.RawMessage) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// change is one entry of GET /admin/v1/config/history.
type change struct {
	Version uint64 `json:"version"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

// histories fetches the change history of every voter, oldest first.
func (c *cluster) histories(ac *adminClient) (map[string][]change, error) {
	out := map[string][]change{}
	for _, p := range c.voters {
		var h struct {
			Version uint64   `json:"version"`
			Changes []change `json:"changes"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := ac.getJSON(ctx, p.adminURL()+"/admin/v1/config/history?limit=100000", &h)
		cancel()
		if err != nil {
			return nil, err
		}
		slices.SortFunc(h.Changes, func(a, b change) int { return cmp.Compare(a.Version, b.Version) })
		for i, ch := range h.Changes {
			if ch.Version != uint64(i+1) {
				return nil, fmt.Errorf("%s: history entry %d is version %d, want %d (the history must hold the "+
					"whole run, without gaps: %d entries, document at v%d)", p.name, i, ch.Version, i+1, len(h.Changes), h.Version)
			}
		}
		if uint64(len(h.Changes)) != h.Version {
			return nil, fmt.Errorf("%s: %d history entries for document version %d", p.name, len(h.Changes), h.Version)
		}
		out[p.name] = h.Changes
	}
	return out, nil
}

// sameHistories compares the voters' histories entry by entry: a
// difference is a divergence of their logs.
func sameHistories(hs map[string][]change) error {
	names := slices.Sorted(maps.Keys(hs))
	ref := hs[names[0]]
	var errs []error
	for _, name := range names[1:] {
		h := hs[name]
		for i := range max(len(h), len(ref)) {
			if i >= len(h) || i >= len(ref) || h[i] != ref[i] {
				at := func(h []change) string {
					if i < len(h) {
						return fmt.Sprintf("%q", h[i].Summary)
					}
					return "nothing"
				}
				errs = append(errs, fmt.Errorf("histories diverge at version %d: %s has %s, %s has %s",
					i+1, names[0], at(ref), name, at(h)))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// groupHistories groups the voters holding identical histories, the
// largest group first.
func groupHistories(hs map[string][]change) [][]string {
	var groups [][]string
	for _, name := range slices.Sorted(maps.Keys(hs)) {
		i := slices.IndexFunc(groups, func(g []string) bool { return slices.Equal(hs[g[0]], hs[name]) })
		if i < 0 {
			groups = append(groups, []string{name})
			continue
		}
		groups[i] = append(groups[i], name)
	}
	slices.SortStableFunc(groups, func(a, b []string) int { return cmp.Compare(len(b), len(a)) })
	return groups
}

var weightSummary = regexp.MustCompile(`^cdn (\S+) weight -?\d+ -> (-?\d+)$`)

// applies checks every write against a history: with unique weights, the
// entries that set a CDN to a weight are the applications of the one
// write that asked for it. An acknowledged write appears exactly once, at
// the version it was acknowledged with; a failed one never; one with an
// unknown outcome at most once.
func applies(h []change, ops []record) error {
	type key struct {
		cdn    string
		weight int
	}
	applied := map[key][]uint64{}
	var errs []error
	note := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	creates := map[string]int{}
	for _, ch := range h {
		switch ch.Type {
		case "set_cdn_weight":
			m := weightSummary.FindStringSubmatch(ch.Summary)
			if m == nil {
				note("v%d: set_cdn_weight summary %q: the test cannot read it", ch.Version, ch.Summary)
				continue
			}
			w, _ := strconv.Atoi(m[2])
			applied[key{m[1], w}] = append(applied[key{m[1], w}], ch.Version)
		case "put_cdn":
			creates[ch.Summary]++
		default:
			note("v%d: %s %q: a change the test did not ask for", ch.Version, ch.Type, ch.Summary)
		}
	}
	if len(creates) != numCDNs {
		note("%d distinct put_cdn changes, want %d: %v", len(creates), numCDNs, creates)
	}
	for s, n := range creates {
		if n != 1 {
			note("%q applied %d times", s, n)
		}
	}
	for _, r := range ops {
		if r.in.kind == opRead {
			continue
		}
		k := key{cdnIDs[r.in.cdn], r.in.weight}
		vs := applied[k]
		delete(applied, k)
		what := describe(r.in, r.out) + " via " + r.node
		switch {
		case r.out.outcome == outFailed || r.out.outcome == outConflict:
			if len(vs) > 0 {
				note("%s failed, yet it was applied at %v", what, vs)
			}
		case r.out.outcome == outOK && len(vs) == 0:
			note("%s was acknowledged but never applied", what)
		case r.out.outcome == outOK && len(vs) > 1:
			note("%s was applied %d times, at %v (double apply)", what, len(vs), vs)
		case r.out.outcome == outOK && vs[0] != r.out.version:
			note("%s was applied at v%d instead", what, vs[0])
		case len(vs) > 1:
			note("%s (outcome unknown) was applied %d times, at %v", what, len(vs), vs)
		}
	}
	for k, vs := range applied {
		note("%s=%d applied at %v by no write of the test", k.cdn, k.weight, vs)
	}
	return capped(errs, 15)
}

// capped joins the first n errors and counts the rest.
func capped(errs []error, n int) error {
	if len(errs) > n {
		errs = append(errs[:n], fmt.Errorf("… and %d more", len(errs)-n))
	}
	return errors.Join(errs...)
}

// divergences asks every voter whether it detected a divergence of its
// log (control_divergence in GET /admin/v1/nodes; absent means none).
func (c *cluster) divergences(ac *adminClient) error {
	var errs []error
	for _, p := range c.voters {
		var v nodesView
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := ac.getJSON(ctx, p.adminURL()+"/admin/v1/nodes", &v)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if diverged(v.Divergence) {
			errs = append(errs, fmt.Errorf("%s reports control_divergence %s", p.name, v.Divergence))
		}
	}
	return errors.Join(errs...)
}

// crashes reports nodes that exited on their own, and data races the race
// detector found in a node.
func (c *cluster) crashes() error {
	var errs []error
	for _, p := range c.all() {
		if how, ok := p.crashed(); ok {
			errs = append(errs, fmt.Errorf("%s exited on its own: %s (log %s)", p.name, how, p.logPath))
		}
		if b, err := os.ReadFile(p.logPath); err == nil && bytes.Contains(b, []byte("WARNING: DATA RACE")) {
			errs = append(errs, fmt.Errorf("%s: the race detector found a data race (log %s)", p.name, p.logPath))
		}
	}
	return errors.Join(errs...)
}

func TestApplies(t *testing.T) {
	creates := []change{
		{1, "put_cdn", "created cdn lin-a (weight 1000, active)"},
		{2, "put_cdn", "created cdn lin-b (weight 1000, active)"},
		{3, "put_cdn", "created cdn lin-c (weight 1000, active)"},
	}
	set := func(v uint64, cdn string, from, to int) change {
		return change{v, "set_cdn_weight", fmt.Sprintf("cdn %s weight %d -> %d", cdn, from, to)}
	}
	op := func(cdn, w int, out opOutput) record {
		return record{in: opInput{kind: opWrite, cdn: cdn, weight: w}, out: out, node: "v0"}
	}
	ok := func(v uint64) opOutput { return opOutput{outcome: outOK, version: v} }
	tests := []struct {
		name string
		h    []change
		ops  []record
		want string // in the error; "" for none
	}{
		{"each once", []change{set(4, "lin-a", 1000, 0), set(5, "lin-b", 1000, 0)},
			[]record{op(0, 0, ok(4)), op(1, 0, opOutput{outcome: outUnknown})}, ""},
		{"double apply", []change{set(4, "lin-a", 1000, 0), set(5, "lin-a", 0, 0)},
			[]record{op(0, 0, ok(5))}, "double apply"},
		{"another version", []change{set(4, "lin-b", 1000, 3), set(5, "lin-a", 1000, 0)},
			[]record{op(0, 0, ok(4))}, "applied at v5 instead"},
		{"lost", nil, []record{op(0, 0, ok(4))}, "never applied"},
		{"failed yet applied", []change{set(4, "lin-a", 1000, 0)},
			[]record{op(0, 0, opOutput{outcome: outFailed})}, "failed, yet"},
		{"unknown twice", []change{set(4, "lin-a", 1000, 0), set(5, "lin-a", 0, 0)},
			[]record{op(0, 0, opOutput{outcome: outUnknown})}, "applied 2 times"},
		{"foreign", []change{set(4, "lin-c", 1000, 7)}, nil, "by no write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := applies(append(slices.Clone(creates), tt.h...), tt.ops)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}
