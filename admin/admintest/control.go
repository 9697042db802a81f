package admintest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"sync"

	"github.com/ringside-live/ringside/control"
)

// Control is a fake admin.Control: a voter that leads, with a document
// the commands change in memory (a subset of control's rules: ids,
// weights, state transitions, missing objects) and the idempotency keys
// it has applied. Failures are queued with FailApply and FailRead.
type Control struct {
	mu       sync.Mutex
	doc      *control.Document
	voter    bool
	leader   string
	div      *control.Divergence
	keys     map[string]applied // by idempotency key
	history  []control.Change
	calls    []Call
	applyErr []error
	readErr  []error
	reads    int
}

// Call is one Apply the fake received.
type Call struct {
	Cmd         control.Command
	HasDeadline bool // the context had a deadline
}

type applied struct {
	digest  string
	version uint64
}

// NewControl returns a voter that leads (as node "self") with an empty
// document at version 0.
func NewControl() *Control {
	return &Control{doc: emptyDoc(), voter: true, leader: "self", keys: map[string]applied{}}
}

func emptyDoc() *control.Document {
	return &control.Document{Events: map[string]control.Event{}, Regions: map[string]control.Region{},
		CDNs: map[string]control.CDN{}, Nodes: map[string]control.NodeFlags{}}
}

// SetVoter makes the fake a voter or a follower's copy.
func (f *Control) SetVoter(v bool) { f.mu.Lock(); f.voter = v; f.mu.Unlock() }

// SetLeader sets what Leader reports.
func (f *Control) SetLeader(id string) { f.mu.Lock(); f.leader = id; f.mu.Unlock() }

// SetDivergence sets what Divergence reports.
func (f *Control) SetDivergence(d control.Divergence) { f.mu.Lock(); f.div = &d; f.mu.Unlock() }

// FailApply queues errors: each of the next Apply calls returns one
// (a nil entry lets that call apply).
func (f *Control) FailApply(errs ...error) {
	f.mu.Lock()
	f.applyErr = append(f.applyErr, errs...)
	f.mu.Unlock()
}

// FailRead queues errors for the next ReadConsistent calls.
func (f *Control) FailRead(errs ...error) {
	f.mu.Lock()
	f.readErr = append(f.readErr, errs...)
	f.mu.Unlock()
}

// Calls are the Apply calls so far.
func (f *Control) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// ConsistentReads counts the ReadConsistent calls.
func (f *Control) ConsistentReads() int { f.mu.Lock(); defer f.mu.Unlock(); return f.reads }

// Current implements admin.Control.
func (f *Control) Current() *control.Document { f.mu.Lock(); defer f.mu.Unlock(); return f.doc }

// Voter implements admin.Control.
func (f *Control) Voter() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.voter }

// Leader implements admin.Control.
func (f *Control) Leader() string { f.mu.Lock(); defer f.mu.Unlock(); return f.leader }

// Divergence implements admin.Control.
func (f *Control) Divergence() (control.Divergence, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.div == nil {
		return control.Divergence{}, false
	}
	return *f.div, true
}

// History implements admin.Control.
func (f *Control) History(limit int) []control.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.history
	if len(h) > limit {
		h = h[len(h)-limit:]
	}
	return append([]control.Change(nil), h...)
}

// ReadConsistent implements admin.Control.
func (f *Control) ReadConsistent(ctx context.Context) (*control.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if err := pop(&f.readErr); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		return nil, fmt.Errorf("admintest: ReadConsistent without a deadline")
	}
	return f.doc, nil
}

func pop(q *[]error) error {
	if len(*q) == 0 {
		return nil
	}
	err := (*q)[0]
	*q = (*q)[1:]
	return err
}

// Apply implements admin.Control.
func (f *Control) Apply(ctx context.Context, cmd control.Command) (control.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, hasDeadline := ctx.Deadline()
	f.calls = append(f.calls, Call{Cmd: cmd, HasDeadline: hasDeadline})
	if err := pop(&f.applyErr); err != nil {
		return control.Result{}, err
	}
	digest := cmd.Type + " " + string(cmd.Payload)
	if cmd.Type == control.CmdRotateSigningKey {
		var k control.RotateKeyArgs
		json.Unmarshal(cmd.Payload, &k)
		digest = cmd.Type + " " + k.ID + " " + k.MaxTokenTTL.String() // as control: not the random secret
	}
	if a, ok := f.keys[cmd.IdempotencyKey]; ok && cmd.IdempotencyKey != "" {
		if a.digest != digest {
			return control.Result{}, fmt.Errorf("%w: key %q", control.ErrIdempotencyMismatch, cmd.IdempotencyKey)
		}
		return control.Result{Version: a.version, Duplicate: true, Doc: f.doc}, nil
	}
	if cmd.Expect != 0 && cmd.Expect != f.doc.Version {
		return control.Result{}, fmt.Errorf("%w: expected version %d, document is at %d", control.ErrConflict, cmd.Expect, f.doc.Version)
	}
	next := clone(f.doc)
	if err := change(next, cmd); err != nil {
		return control.Result{}, err
	}
	next.Version, next.UpdatedAt = f.doc.Version+1, appliedAt()
	f.doc = next
	if cmd.IdempotencyKey != "" {
		f.keys[cmd.IdempotencyKey] = applied{digest: digest, version: next.Version}
	}
	f.history = append(f.history, control.Change{Version: next.Version, At: next.UpdatedAt, Type: cmd.Type, Actor: cmd.Actor})
	return control.Result{Version: next.Version, Doc: next}, nil
}

func clone(d *control.Document) *control.Document {
	c := *d
	c.Events, c.Regions, c.CDNs, c.Nodes = maps.Clone(d.Events), maps.Clone(d.Regions), maps.Clone(d.CDNs), maps.Clone(d.Nodes)
	return &c
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func invalid(field, msg string) error {
	return &control.ValidationError{Errs: []control.FieldError{{Field: field, Message: msg}}}
}

// change applies cmd to d like control's command table, with fewer rules.
func change(d *control.Document, cmd control.Command) error {
	h, ok := handlers[cmd.Type]
	if !ok {
		return invalid("type", "unknown command "+cmd.Type)
	}
	return h(d, cmd.Payload)
}
