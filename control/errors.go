package control

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels; see the package documentation for how the admin API maps them.
var (
	// ErrNotLeader: this store cannot accept writes; the error is a
	// *NotLeaderError naming the leader when one is known.
	ErrNotLeader = errors.New("control: not the leader")
	// ErrConflict: the command's Expect did not match the document's Version
	// (or seed met a document that is not empty).
	ErrConflict = errors.New("control: version conflict")
	// ErrInvalid: the command or the document it would produce is invalid;
	// a *ValidationError names the fields.
	ErrInvalid = errors.New("control: invalid")
	// ErrNotFound: the command names an event, region, CDN or key that does
	// not exist.
	ErrNotFound = errors.New("control: not found")
	// ErrExists: a create command names something that exists already.
	ErrExists = errors.New("control: already exists")
	// ErrIllegalTransition: an event state change the state machine forbids.
	ErrIllegalTransition = errors.New("control: illegal state transition")
	// ErrIdempotencyMismatch: an idempotency key already used by a different
	// command (another type or payload).
	ErrIdempotencyMismatch = errors.New("control: idempotency key reused for a different command")
	// ErrTooLarge: the command, encoded for the log, exceeds
	// MaxCommandSize.
	ErrTooLarge = errors.New("control: command too large")
)

// FieldError is one problem with one field. Field is a path into the
// document or the command, e.g. "events[fight].pull_url",
// "regions[eu].cidrs[1]", "payload".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return e.Field + ": " + e.Message }

// ValidationError lists the invalid fields of a command or document, at
// most MaxFieldErrors of them, each path and message cut to a bounded
// length. It wraps ErrInvalid.
type ValidationError struct {
	Errs []FieldError `json:"errors"`
	// More counts the invalid fields found after the first
	// MaxFieldErrors, which are not listed.
	More int `json:"more,omitempty"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errs), len(e.Errs)+1)
	for i, fe := range e.Errs {
		parts[i] = fe.String()
	}
	if e.More > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", e.More))
	}
	return "control: invalid: " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// invalid builds a one-field ValidationError.
func invalid(field, format string, args ...any) error {
	var c checker
	c.add(field, format, args...)
	return c.err()
}

// NotLeaderError is returned by writes on a store that is not the leader. It
// wraps ErrNotLeader. LeaderID is the leader's node id (the mesh node id, so
// the admin API can find its HTTP address), LeaderAddr its Raft address; both
// are empty while no leader is known.
type NotLeaderError struct {
	LeaderID   string
	LeaderAddr string
	// InFlight is set when leadership was lost while the command was being
	// committed: it may or may not have been applied. Retrying with the same
	// IdempotencyKey is safe.
	InFlight bool
}

func (e *NotLeaderError) Error() string {
	var b strings.Builder
	b.WriteString("control: not the leader")
	if e.InFlight {
		b.WriteString(" (leadership lost while committing; outcome unknown)")
	}
	if e.LeaderID == "" && e.LeaderAddr == "" {
		b.WriteString("; no leader known")
	} else {
		fmt.Fprintf(&b, "; leader is %s at %s", e.LeaderID, e.LeaderAddr)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
