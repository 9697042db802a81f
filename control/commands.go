package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Command is one change to the document. It is applied completely or not at
// all.
type Command struct {
	Type string `json:"type"` // one of the Cmd* constants
	// Expect, if non-zero, is the Version the change was prepared against
	// (HTTP If-Match): any other current Version fails with ErrConflict.
	Expect uint64 `json:"expect,omitempty"`
	// IdempotencyKey, if set, makes retries safe: a command whose key was
	// already applied (among the last IdempotencyKeys keys) is not applied
	// again; its first Result comes back with Duplicate set, before Expect
	// is looked at (an If-Match retry of a write that applied gets its
	// first result, not ErrConflict). The same key with another type or
	// payload (compared after removing insignificant JSON whitespace; for
	// CmdRotateSigningKey, the key id only, since each try carries a fresh
	// secret) fails with ErrIdempotencyMismatch. Failed commands are not
	// remembered.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Actor          string `json:"actor,omitempty"` // who asked, for History
	// Payload is the command's argument, JSON; see the Cmd* constants.
	// Unknown fields are an error.
	Payload json.RawMessage `json:"payload"`
}

// MaxCommandSize bounds a command as Store.Apply writes it to the Raft
// log (JSON, with its idempotency key, actor and timestamp): every voter
// keeps it in its log and replays it at each start until a snapshot
// covers it. Larger commands fail with ErrTooLarge before the log.
const MaxCommandSize = 1 << 20

// Result is the outcome of an applied (or duplicate) command.
type Result struct {
	// Version is the version the command produced; for a duplicate, the
	// version its first application produced.
	Version   uint64 `json:"version"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Doc is the document right after the command (for a duplicate, the
	// current one). Read-only, like every published Document.
	Doc *Document `json:"-"`
}

// Command types and their payloads.
const (
	CmdPutEvent      = "put_event"       // Event: create, or replace whole (empty state keeps the current one)
	CmdCreateEvent   = "create_event"    // Event: as put_event, but ErrExists if the id exists (decided by the log, not a stale read)
	CmdDeleteEvent   = "delete_event"    // EventRef; a live event must be ended first
	CmdSetEventState = "set_event_state" // EventStateArgs: legal transitions only
	CmdPutRegion     = "put_region"      // Region: create or replace
	CmdDeleteRegion  = "delete_region"   // RegionRef: refused while an event names it
	CmdPutCDN        = "put_cdn"         // CDN: create or replace (empty state = active)
	CmdSetCDNWeight  = "set_cdn_weight"  // CDNWeightArgs
	CmdSetCDNState   = "set_cdn_state"   // CDNStateArgs
	CmdDeleteCDN     = "delete_cdn"      // CDNRef
	CmdSetNodeDrain  = "set_node_drain"  // NodeDrainArgs
	CmdSetActiveFeed = "set_active_feed" // ActiveFeedArgs: the output timeline follows another feed
	// CmdRotateSigningKey takes a RotateKeyArgs: the key becomes Current
	// and the old Current retires, valid until its last token expires
	// (SigningKey.ValidUntil); retired keys past their end are dropped.
	// For idempotency only its id and max_token_ttl count: a retry with
	// another secret is a duplicate, never a second rotation.
	CmdRotateSigningKey = "rotate_signing_key"
	// CmdDropPreviousKey drops every retired key at once, for a key that
	// leaked: the tokens they signed stop working. Payload {}.
	CmdDropPreviousKey = "drop_previous_signing_key"
	// CmdRevokeTokens takes an EventRef and raises the event's
	// TokenGeneration: the edges refuse every token issued for the event
	// before it.
	CmdRevokeTokens = "revoke_tokens"
	// CmdSeed takes a Document (Version and UpdatedAt ignored) and installs it
	// only while the document is empty (Version 0); otherwise ErrConflict.
	// Nodes seed from their static configuration at bootstrap.
	CmdSeed = "seed"
)

// RotateKeyArgs is rotate_signing_key's payload: the new key and, when
// set, a new signing.max_token_ttl (the key it retires keeps the lifetime
// it signed under). A current SigningKey encodes as one.
type RotateKeyArgs struct {
	ID          string   `json:"id"`
	Secret      []byte   `json:"secret,omitempty"`
	MaxTokenTTL Duration `json:"max_token_ttl,omitzero"`
}

// EventRef names an event (delete_event, revoke_tokens).
type EventRef struct {
	ID string `json:"id"`
}

// EventStateArgs is set_event_state's payload.
type EventStateArgs struct {
	ID    string     `json:"id"`
	State EventState `json:"state"`
}

// RegionRef names a region (delete_region).
type RegionRef struct {
	Name string `json:"name"`
}

// CDNRef names a CDN (delete_cdn).
type CDNRef struct {
	ID string `json:"id"`
}

// CDNWeightArgs is set_cdn_weight's payload.
type CDNWeightArgs struct {
	ID     string `json:"id"`
	Weight int    `json:"weight"`
}

// CDNStateArgs is set_cdn_state's payload.
type CDNStateArgs struct {
	ID    string   `json:"id"`
	State CDNState `json:"state"`
}

// ActiveFeedArgs is set_active_feed's payload.
type ActiveFeedArgs struct {
	ID   string `json:"id"`
	Feed string `json:"feed"` // primary or backup
	// From, when set, is the feed the switch expects to leave: the
	// command fails with ErrConflict if another one is active.
	From   string `json:"from,omitempty"`
	Reason string `json:"reason"`
	By     string `json:"by,omitempty"`
}

// NodeDrainArgs is set_node_drain's payload.
type NodeDrainArgs struct {
	NodeID string `json:"node_id"`
	Drain  bool   `json:"drain"`
}

// NewCommand builds a command of type typ with payload encoded as JSON.
func NewCommand(typ string, payload any) (Command, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Command{}, fmt.Errorf("control: %s payload: %w", typ, err)
	}
	return Command{Type: typ, Payload: b}, nil
}

// applyFunc changes d, a private copy of the current document, and returns
// a one-line summary for History. On error the copy is thrown away.
type applyFunc func(d *Document, payload json.RawMessage) (summary string, err error)

// commands is the dispatch table of the FSM. It is read-only.
var commands = map[string]applyFunc{
	CmdPutEvent:         handle(putEvent),
	CmdCreateEvent:      handle(createEvent),
	CmdDeleteEvent:      handle(deleteEvent),
	CmdSetEventState:    handle(setEventState),
	CmdPutRegion:        handle(putRegion),
	CmdDeleteRegion:     handle(deleteRegion),
	CmdPutCDN:           handle(putCDN),
	CmdSetCDNWeight:     handle(setCDNWeight),
	CmdSetCDNState:      handle(setCDNState),
	CmdDeleteCDN:        handle(deleteCDN),
	CmdSetNodeDrain:     handle(setNodeDrain),
	CmdSetActiveFeed:    handle(setActiveFeed),
	CmdRotateSigningKey: handle(rotateSigningKey),
	CmdDropPreviousKey:  handle(dropPreviousKey),
	CmdRevokeTokens:     handle(revokeTokens),
	CmdSeed:             handle(seed),
}

// handle adapts a typed command function to the table: it decodes the
// payload strictly into T first.
func handle[T any](f func(d *Document, args T) (string, error)) applyFunc {
	return func(d *Document, payload json.RawMessage) (string, error) {
		var args T
		if err := decodeStrict(payload, &args); err != nil {
			return "", invalid("payload", "%v", err)
		}
		return f(d, args)
	}
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// check rejects what can be judged without the document, before a command
// is written to the log.
func (c Command) check() error {
	var ck checker
	if _, ok := commands[c.Type]; !ok {
		ck.add("type", "unknown command type %q", c.Type)
	}
	if len(c.IdempotencyKey) > maxTextLen {
		ck.add("idempotency_key", "longer than %d bytes", maxTextLen)
	}
	if msg := checkText(c.Actor); msg != "" {
		ck.add("actor", "%s", msg)
	}
	if !json.Valid(c.Payload) {
		ck.add("payload", "not valid JSON")
	}
	return ck.err()
}
