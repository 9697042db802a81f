package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ringside-live/ringside/control"
)

// The request and response bodies of the admin API. `ringside ctl` and
// other Go clients decode into these types. Fields are declared in the
// alphabetical order of their JSON names, the order the API has always
// written them in.

// NodesResponse is GET /admin/v1/nodes: the mesh as this node sees it.
type NodesResponse struct {
	ConfigVersion uint64 `json:"config_version"`
	// ControlDivergence is set once this voter has found its Raft state
	// diverging from the leader's: its copy can no longer be trusted.
	ControlDivergence *control.Divergence `json:"control_divergence,omitempty"`
	ControlLeader     string              `json:"control_leader"`
	Nodes             []NodeView          `json:"nodes"`
	Self              string              `json:"self"`
}

// NodeView is one member in NodesResponse.
type NodeView struct {
	ID     string   `json:"id"`
	Roles  []string `json:"roles"`
	Tier   string   `json:"tier,omitempty"`
	Region string   `json:"region,omitempty"`
	HTTP   string   `json:"http"`
	Gossip string   `json:"gossip,omitempty"`
	State  string   `json:"state"`
	Load   float64  `json:"load"`
	Drain  bool     `json:"drain"`
	Events []string `json:"events,omitempty"`
	// Identity is the node's certificate check as it reports it
	// ("verified", "pending", "no certificate", "mismatch: ...", "roles
	// not certified: ..."); CertRoles the roles its certificate grants.
	Identity  string   `json:"identity,omitempty"`
	CertRoles []string `json:"cert_roles,omitempty"`
	Self      bool     `json:"self,omitempty"`
}

// ConfigResponse is GET /admin/v1/config. The ETag header carries Version.
type ConfigResponse struct {
	Document  ConfigDocument `json:"document"`
	Leader    string         `json:"leader"`
	UpdatedAt time.Time      `json:"updated_at"`
	Version   uint64         `json:"version"`
}

// ConfigDocument is the configuration document with the signing secrets
// left out (key ids only).
type ConfigDocument struct {
	CDNs        map[string]control.CDN       `json:"cdns"`
	Events      map[string]control.Event     `json:"events"`
	Nodes       map[string]control.NodeFlags `json:"nodes"`
	Regions     map[string]control.Region    `json:"regions"`
	SigningKeys SigningKeyIDs                `json:"signing_keys"`
}

// SigningKeyIDs names the playback-token keys without their secrets:
// the current one, and the retired ones that still verify the tokens
// they signed, each until its valid_until.
type SigningKeyIDs struct {
	Current  *KeyID  `json:"current,omitempty"`
	Previous *KeyID  `json:"previous,omitempty"`
	Older    []KeyID `json:"older,omitempty"` // retired before previous, newest first
	// MaxTokenTTL is the longest token lifetime: a retired key stays that
	// long (and control.RetiredKeyGrace) after its retirement.
	MaxTokenTTL control.Duration `json:"max_token_ttl"`
	// Note says, in a rotation's answer, until when the retired keys stay.
	Note string `json:"note,omitempty"`
}

// KeyID names one signing key; a retired one says when it retired and
// until when it verifies tokens.
type KeyID struct {
	ID         string    `json:"id"`
	RetiredAt  time.Time `json:"retired_at,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
}

// RotateRequest is the optional body of POST signing-keys/rotate.
type RotateRequest struct {
	// MaxTokenTTL, when set, becomes the longest token lifetime (nodes
	// sign for at most this); the key being retired keeps the one it
	// signed under.
	MaxTokenTTL control.Duration `json:"max_token_ttl,omitzero"`
}

// HistoryResponse is GET /admin/v1/config/history, oldest change first.
type HistoryResponse struct {
	Changes []control.Change `json:"changes"`
	Version uint64           `json:"version"`
}

// EventsResponse is GET /admin/v1/events, sorted by id.
type EventsResponse struct {
	Events  []control.Event `json:"events"`
	Version uint64          `json:"version"`
}

// RegionsResponse is GET /admin/v1/regions, sorted by name.
type RegionsResponse struct {
	Regions []control.Region `json:"regions"`
	Version uint64           `json:"version"`
}

// CDNsResponse is GET /admin/v1/cdns, sorted by id.
type CDNsResponse struct {
	CDNs    []control.CDN `json:"cdns"`
	Version uint64        `json:"version"`
}

// WriteResponse answers every write of the configuration. The ETag header
// carries Version; Result is the changed object (an event, region, CDN,
// SigningKeyIDs or DrainResponse) and is absent for deletes.
type WriteResponse struct {
	// Duplicate: the Idempotency-Key was applied before; Version is the
	// version that first application produced.
	Duplicate bool            `json:"duplicate"`
	Result    json.RawMessage `json:"result,omitempty"`
	Version   uint64          `json:"version"`
}

// DrainResponse is a node's drain flag: the Result of a persisted drain,
// or the whole answer of a gossip-only one (no control plane).
type DrainResponse struct {
	Drain bool   `json:"drain"`
	ID    string `json:"id"`
}

// SteeringHealthResponse is GET /admin/v1/steering/health.
type SteeringHealthResponse struct {
	CDNs any `json:"cdns"`
}

// PurgeRequest is POST /admin/v1/purge: exactly one of Key (one cached
// object), Prefix (every key under it) or Event (every key of the event).
type PurgeRequest struct {
	Key    string `json:"key,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Event  string `json:"event,omitempty"`
}

// eventID is what an event id looks like (it is a path element).
var eventID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Target is what the purge removes: a key, or a prefix ending in "/"; an
// event becomes the prefix /live/{event}/.
func (p PurgeRequest) Target() (string, error) {
	set := 0
	for _, v := range []string{p.Key, p.Prefix, p.Event} {
		if v != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return "", fmt.Errorf("give exactly one of key, prefix, event")
	case p.Event != "":
		if !eventID.MatchString(p.Event) {
			return "", fmt.Errorf("event %q is not a valid event id", p.Event)
		}
		return "/live/" + p.Event + "/", nil
	case p.Key != "" && (!strings.HasPrefix(p.Key, "/live/") || strings.HasSuffix(p.Key, "/")):
		return "", fmt.Errorf("key %q: want a path like /live/{event}/{file}", p.Key)
	case p.Prefix != "" && (!strings.HasPrefix(p.Prefix, "/live/") || !strings.HasSuffix(p.Prefix, "/")):
		return "", fmt.Errorf("prefix %q: want a path like /live/{event}/ ending in /", p.Prefix)
	}
	return p.Key + p.Prefix, nil
}

// PurgeResponse is the outcome of a purge: 200 when every node purged, 207
// when some failed (their PurgeResult.Error says why).
type PurgeResponse struct {
	Nodes  map[string]PurgeResult `json:"nodes"`
	Purged int                    `json:"purged"` // objects removed, all nodes together
	Target string                 `json:"target"`
}

// PurgeResult is one node's part of a purge.
type PurgeResult struct {
	Purged int    `json:"purged"`
	Error  string `json:"error,omitempty"`
}

// Gossip key operations of MeshKeyRequest.Op.
const (
	KeyInstall = "install" // add the key: every node then decrypts with it
	KeyUse     = "use"     // make it the primary: every node encrypts with it
	KeyRemove  = "remove"  // drop it (never the primary)
)

// MeshKeysResponse is GET /admin/v1/mesh/keys: every member's gossip
// keyring, by node id, as fingerprints (KeyFingerprint), never the keys.
type MeshKeysResponse struct {
	Nodes map[string]KeyringView `json:"nodes"`
}

// KeyringView is one node's gossip keyring, or the Error of asking it.
type KeyringView struct {
	Error string `json:"error,omitempty"`
	// Keys are the fingerprints of every installed key, the primary first.
	Keys []string `json:"keys,omitempty"`
	// Primary is the fingerprint of the key the node encrypts with.
	Primary string `json:"primary,omitempty"`
}

// MeshKeyRequest is POST /admin/v1/mesh/keys: install, use or remove a
// gossip key on every member. Key is the base64 of 16, 24 or 32 bytes; it
// is never echoed, answers name it by its fingerprint.
type MeshKeyRequest struct {
	Key string `json:"key"`
	Op  string `json:"op"`
}

// Parse checks the request and returns the key's bytes. Its errors name
// the wrong field (op or key).
func (r MeshKeyRequest) Parse() ([]byte, error) {
	var errs []FieldError
	switch r.Op {
	case KeyInstall, KeyUse, KeyRemove:
	default:
		errs = append(errs, FieldError{Field: "op", Message: fmt.Sprintf("%q: want install, use or remove", r.Op)})
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Key))
	switch n := len(key); {
	case err != nil:
		errs = append(errs, FieldError{Field: "key", Message: "not base64: " + err.Error()})
	case n != 16 && n != 24 && n != 32:
		errs = append(errs, FieldError{Field: "key", Message: fmt.Sprintf("decodes to %d bytes, want 16, 24 or 32", n)})
	}
	if len(errs) > 0 {
		return nil, &keyRequestError{Fields: errs}
	}
	return key, nil
}

// keyRequestError is what MeshKeyRequest.Parse returns: the wrong fields.
type keyRequestError struct{ Fields []FieldError }

func (e *keyRequestError) Error() string {
	msgs := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		msgs = append(msgs, f.Field+": "+f.Message)
	}
	return "admin: mesh key request: " + strings.Join(msgs, "; ")
}

// KeyFingerprint names a gossip key without revealing it: the hex of the
// first 8 bytes of its SHA-256.
func KeyFingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// MeshKeyResponse is the outcome of a key operation: 200 when every node
// applied it, 207 when some failed (their MeshKeyResult.Error says why).
type MeshKeyResponse struct {
	Fingerprint string                   `json:"fingerprint"` // of the key operated on
	Nodes       map[string]MeshKeyResult `json:"nodes"`
	Op          string                   `json:"op"`
}

// MeshKeyResult is one node's part of a key operation.
type MeshKeyResult struct {
	Error string `json:"error,omitempty"`
	OK    bool   `json:"ok"`
}

// Problem is an RFC 9457 problem+json answer; every error of the API is
// one. Errors lists the wrong fields of a rejected request.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// Error renders the problem for a person: status, detail, then one line
// per wrong field.
func (p *Problem) Error() string {
	msg := fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	for _, f := range p.Errors {
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return msg
}

// FieldError names one wrong field of a request, e.g.
// "events[fight].pull_url".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
