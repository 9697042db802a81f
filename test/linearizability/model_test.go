//go:build unix

package linearizability

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The CDNs whose weights the clients change. Their number is part of the
// model's state type.
const numCDNs = 3

var cdnIDs = [numCDNs]string{"lin-a", "lin-b", "lin-c"}

// absent is the weight of a CDN a read did not find.
const absent = -1

// docState is the part of the document the model follows: its version
// (global: every applied command adds 1) and the weight of each CDN
// (absent: a document without the CDN, e.g. the empty one). It is a
// comparable value, so porcupine's default equality works.
type docState struct {
	version uint64
	weights [numCDNs]int
}

func (s docState) set(cdn, weight int) docState {
	s.weights[cdn] = weight
	s.version++
	return s
}

func (s docState) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v%d {", s.version)
	for i, w := range s.weights {
		if i > 0 {
			b.WriteString(" ")
		}
		if w == absent {
			fmt.Fprintf(&b, "%s=none", cdnIDs[i][len("lin-"):])
			continue
		}
		fmt.Fprintf(&b, "%s=%d", cdnIDs[i][len("lin-"):], w)
	}
	b.WriteString("}")
	return b.String()
}

type opKind uint8

const (
	opRead  opKind = iota // GET /admin/v1/cdns?consistent=true
	opWrite               // POST /admin/v1/cdns/{id}/weight
	opCAS                 // the same with If-Match
)

type opInput struct {
	kind   opKind
	cdn    int    // write, cas: index into cdnIDs
	weight int    // write, cas: unique per CDN within a run
	expect uint64 // cas: the If-Match version
}

type outcome uint8

const (
	outOK       outcome = iota // 200 (a write's duplicate too: it reports its first application)
	outConflict                // 412: If-Match did not match, nothing applied
	outUnknown                 // timeout, cut connection, 5xx: it may or may not have applied
	// outFailed: a definite failure without effect (another 4xx, or a
	// refused connection). Such writes stay out of the checked history.
	outFailed
)

type opOutput struct {
	outcome outcome
	version uint64       // ok: the version the write produced, or the version read
	weights [numCDNs]int // ok read
}

// step is the sequential specification of the document under the three
// operations.
func step(s docState, in opInput, out opOutput) (bool, docState) {
	switch in.kind {
	case opRead:
		return out.outcome == outOK && out.version == s.version && out.weights == s.weights, s
	case opWrite:
		next := s.set(in.cdn, in.weight)
		if out.outcome == outOK {
			return out.version == next.version, next
		}
		if out.outcome == outFailed {
			return true, s
		}
		// Unknown: linearized here it happened here; an operation that never
		// happened is linearized after the final read, where nothing sees it.
		return true, next
	case opCAS:
		match := s.version == in.expect
		switch out.outcome {
		case outOK:
			return match && out.version == s.version+1, s.set(in.cdn, in.weight)
		case outConflict:
			return !match, s
		case outFailed:
			return true, s
		default:
			if match {
				return true, s.set(in.cdn, in.weight)
			}
			return true, s
		}
	}
	return false, s
}

// documentModel is the porcupine model: no partition, because the version
// is shared by every CDN.
func documentModel(init docState) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return init },
		Step: func(state, input, output any) (bool, any) {
			return step(state.(docState), input.(opInput), output.(opOutput))
		},
		Hash: func(state any) uint64 {
			s := state.(docState)
			h := s.version
			for _, w := range s.weights {
				h = h*1009 + uint64(w+1)
			}
			return h
		},
		DescribeOperation: func(input, output any) string { return describe(input.(opInput), output.(opOutput)) },
		DescribeState:     func(state any) string { return state.(docState).String() },
		DescribeOperationMetadata: func(info any) string {
			if info == nil {
				return ""
			}
			return fmt.Sprint(info)
		},
	}
}

func describe(in opInput, out opOutput) string {
	var res string
	switch out.outcome {
	case outOK:
		res = fmt.Sprintf("v%d", out.version)
	case outConflict:
		res = "412"
	case outFailed:
		res = "failed"
	default:
		res = "unknown"
	}
	switch in.kind {
	case opRead:
		return "read -> " + docState{version: out.version, weights: out.weights}.String()
	case opWrite:
		return fmt.Sprintf("write %s=%d -> %s", cdnIDs[in.cdn], in.weight, res)
	default:
		return fmt.Sprintf("cas %s=%d if v%d -> %s", cdnIDs[in.cdn], in.weight, in.expect, res)
	}
}

// prune removes unknown-outcome writes the model proves had no effect, so
// the checker does not try every subset of them when the history is not
// linearizable. A write that applied took the document from some version
// v to v+1; each such step is taken by exactly one operation, and an
// acknowledged write names the step it took. So an unknown CAS expecting
// v cannot have applied when an acknowledged write took v to v+1, or when
// v lies outside the versions the run went through; and no unknown write
// can have applied when acknowledged writes took every step of the run.
// Either way the operation is a no-op wherever it is linearized, and
// dropping it changes no verdict. It returns the kept operations and the
// dropped ones.
func prune(ops []porcupine.Operation, init, final uint64) (kept, dropped []porcupine.Operation) {
	taken := map[uint64]bool{} // steps v-1 -> v taken by acknowledged writes
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		if in.kind != opRead && out.outcome == outOK {
			taken[out.version] = true
		}
	}
	gaps := false
	for v := init + 1; v <= final; v++ {
		gaps = gaps || !taken[v]
	}
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		noEffect := false
		if out.outcome == outUnknown {
			switch in.kind {
			case opWrite:
				noEffect = !gaps
			case opCAS:
				noEffect = taken[in.expect+1] || in.expect < init || in.expect >= final
			}
		}
		if noEffect {
			dropped = append(dropped, op)
		} else {
			kept = append(kept, op)
		}
	}
	return kept, dropped
}

func TestModel(t *testing.T) {
	init := docState{version: 3, weights: [numCDNs]int{1000, 1000, 1000}}
	op := func(call, ret int64, in opInput, out opOutput) porcupine.Operation {
		return porcupine.Operation{Call: call, Return: ret, Input: in, Output: out}
	}
	write := func(cdn, w int) opInput { return opInput{kind: opWrite, cdn: cdn, weight: w} }
	cas := func(cdn, w int, expect uint64) opInput {
		return opInput{kind: opCAS, cdn: cdn, weight: w, expect: expect}
	}
	read := opInput{kind: opRead}
	ok := func(v uint64) opOutput { return opOutput{outcome: outOK, version: v} }
	saw := func(v uint64, a, b, c int) opOutput {
		return opOutput{outcome: outOK, version: v, weights: [numCDNs]int{a, b, c}}
	}
	unknown := opOutput{outcome: outUnknown}
	conflict := opOutput{outcome: outConflict}
	const end = 1000
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want bool
	}{
		{"sequential", []porcupine.Operation{
			op(0, 1, write(0, 5), ok(4)), op(2, 3, read, saw(4, 5, 1000, 1000)),
			op(4, 5, cas(1, 7, 4), ok(5)), op(6, 7, cas(2, 8, 4), conflict), op(8, 9, read, saw(5, 5, 7, 1000)),
		}, true},
		{"concurrent writes in either order", []porcupine.Operation{
			op(0, 10, write(0, 5), ok(5)), op(1, 9, write(0, 6), ok(4)), op(11, 12, read, saw(5, 5, 1000, 1000)),
		}, true},
		{"stale read", []porcupine.Operation{
			op(0, 1, write(0, 5), ok(4)), op(2, 3, read, saw(3, 1000, 1000, 1000)),
		}, false},
		{"double apply: a version nobody made", []porcupine.Operation{
			op(0, 1, write(0, 5), ok(5)), op(2, 3, read, saw(5, 5, 1000, 1000)),
		}, false},
		{"unknown write that happened", []porcupine.Operation{
			op(0, end, write(0, 5), unknown), op(2, 3, read, saw(4, 5, 1000, 1000)),
		}, true},
		{"unknown write that did not happen", []porcupine.Operation{
			op(0, end, write(0, 5), unknown), op(2, 3, read, saw(3, 1000, 1000, 1000)),
		}, true},
		{"412 although the version matched", []porcupine.Operation{
			op(0, 1, cas(0, 5, 3), conflict), op(2, 3, read, saw(3, 1000, 1000, 1000)),
		}, false},
		{"unknown cas applied", []porcupine.Operation{
			op(0, end, cas(0, 5, 3), unknown), op(2, 3, read, saw(4, 5, 1000, 1000)),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, _ := prune(tt.ops, init.version, 1<<20)
			if got := porcupine.CheckOperations(documentModel(init), kept); got != tt.want {
				t.Errorf("linearizable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	ops := []porcupine.Operation{
		{Input: opInput{kind: opWrite, cdn: 0, weight: 1}, Output: opOutput{outcome: outOK, version: 4}},
		{Input: opInput{kind: opCAS, cdn: 0, weight: 2, expect: 3}, Output: opOutput{outcome: outUnknown}},
		{Input: opInput{kind: opCAS, cdn: 0, weight: 3, expect: 4}, Output: opOutput{outcome: outUnknown}},
		{Input: opInput{kind: opCAS, cdn: 0, weight: 4, expect: 5}, Output: opOutput{outcome: outUnknown}},
		{Input: opInput{kind: opWrite, cdn: 0, weight: 5}, Output: opOutput{outcome: outUnknown}},
	}
	tests := []struct {
		final    uint64
		wantKept []int // weights
	}{
		{4, []int{1}},          // no gap: every unknown is a no-op
		{5, []int{1, 3, 5}},    // the step 4 -> 5 is nobody's: the cas on v4 and the write may have taken it
		{6, []int{1, 3, 4, 5}}, // and 5 -> 6
	}
	for _, tt := range tests {
		kept, dropped := prune(ops, 3, tt.final)
		var got []int
		for _, op := range kept {
			got = append(got, op.Input.(opInput).weight)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.wantKept) || len(kept)+len(dropped) != len(ops) {
			t.Errorf("final v%d: kept %v, want %v", tt.final, got, tt.wantKept)
		}
	}
}
