package control

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Document is the whole event configuration at one version. Every node reads
// it; only Commands change it.
//
// A *Document handed out by Store, Follower, Result or DecodeDocument is
// shared by every reader and never changes once published: treat it and
// everything reachable from it (maps, slices, keys, secrets) as read-only. A
// change is a new Document with a higher Version. The maps are never nil.
type Document struct {
	// Version counts applied commands: 0 is the empty document, each applied
	// command adds exactly 1.
	Version uint64 `json:"version"`
	// UpdatedAt is when the leader accepted the command that made this
	// version (the leader's clock, UTC).
	UpdatedAt time.Time `json:"updated_at,omitzero"`

	Events  map[string]Event     `json:"events"`  // by Event.ID
	Regions map[string]Region    `json:"regions"` // by Region.Name
	CDNs    map[string]CDN       `json:"cdns"`    // by CDN.ID
	Nodes   map[string]NodeFlags `json:"nodes"`   // by mesh node id; absent = no flags
	Signing SigningKeys          `json:"signing"`
}

// EventState is where an event is in its life.
type EventState string

// Event states. Legal transitions: scheduled -> rehearsal | live | ended,
// rehearsal -> scheduled | live | ended, live -> ended. Ended is final.
const (
	StateScheduled EventState = "scheduled"
	StateRehearsal EventState = "rehearsal"
	StateLive      EventState = "live"
	StateEnded     EventState = "ended"
)

// CanBecome reports whether an event in state s may move to state to.
// Staying in the same state is not a transition.
func (s EventState) CanBecome(to EventState) bool {
	switch s {
	case StateScheduled:
		return to == StateRehearsal || to == StateLive || to == StateEnded
	case StateRehearsal:
		return to == StateScheduled || to == StateLive || to == StateEnded
	case StateLive:
		return to == StateEnded
	}
	return false
}

func (s EventState) valid() bool {
	switch s {
	case StateScheduled, StateRehearsal, StateLive, StateEnded:
		return true
	}
	return false
}

// Event is one live event. Exactly one of StreamKeys (push: an encoder PUTs
// into /ingest/{id}/) and PullURL (pull: the origin fetches from it) is set.
type Event struct {
	ID    string     `json:"id"` // [a-z0-9][a-z0-9_-]{0,62}: it is a path element
	Title string     `json:"title,omitempty"`
	State EventState `json:"state"`
	// Start and End are the advertised schedule (UTC); informational, the
	// State is what serves. Either may be zero.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// StreamKeys authenticate pushes: any one of them is accepted, so a key
	// can be rotated without cutting the encoder off.
	StreamKeys []string    `json:"stream_keys,omitempty"`
	PullURL    string      `json:"pull_url,omitempty"`
	Renditions []Rendition `json:"renditions,omitempty"`
	// DVRWindow is how far behind live a player may seek; 0 = live window only.
	DVRWindow Duration `json:"dvr_window,omitzero"`
	// VODOnEnd keeps the whole event on the ingest nodes' disks when it
	// ends and serves its DVR playlists as VOD (needs a DVR store).
	VODOnEnd        bool       `json:"vod_on_end,omitempty"`
	LowLatency      LowLatency `json:"low_latency"`
	AllowedRegions  []string   `json:"allowed_regions,omitempty"`  // empty = everywhere
	BlackoutRegions []string   `json:"blackout_regions,omitempty"` // refused even if allowed
	RequireToken    bool       `json:"require_token"`              // playback needs a signed token
	// TokenGeneration is raised by revoke_tokens: edges refuse the
	// event's tokens signed for a lower generation. put_event never
	// lowers it.
	TokenGeneration uint64 `json:"token_generation,omitempty"`
	// Feeds, when set, make the event redundant: a primary and a backup
	// encoder push it (each with its own stream keys, usually into two
	// ingest nodes) and Ringside publishes one output timeline from the
	// active one (see Timeline). StreamKeys and PullURL are then empty.
	Feeds *Feeds `json:"feeds,omitempty"`
}

// Feed names.
const (
	FeedPrimary = "primary"
	FeedBackup  = "backup"
)

// DefaultHealthySegments is Feeds.HealthySegments when it is 0.
const DefaultHealthySegments = 5

// Switch-back policies of Feeds.
const (
	SwitchBackManual = "manual" // the output stays on the backup until an operator switches
	SwitchBackAuto   = "auto"   // back to the primary after HealthySegments healthy segments
)

// Feeds are the redundant inputs of an event.
type Feeds struct {
	Primary Feed `json:"primary"`
	Backup  Feed `json:"backup"`
	// SwitchBack is manual (default) or auto.
	SwitchBack string `json:"switch_back,omitempty"`
	// HealthySegments is how many segments in a row the primary must
	// deliver on time before an auto switch back (default 5).
	HealthySegments int `json:"healthy_segments,omitempty"`
	// UnhealthyAfter is how long the active feed may go without a new
	// segment before the output switches away (0: 1.5 x the target
	// duration of its playlists).
	UnhealthyAfter Duration `json:"unhealthy_after,omitzero"`
	// Active is the feed the output timeline takes its segments from. It
	// is changed by set_active_feed only: put_event keeps the current one
	// (a new event starts on the primary).
	Active string `json:"active,omitempty"`
	// LastSwitch is the latest change of Active (nil: none yet).
	LastSwitch *FeedSwitch `json:"last_switch,omitempty"`
}

// Feed is one input of a redundant event: pushed with one of its stream
// keys, or pulled from its URL by the ingest nodes.
type Feed struct {
	StreamKeys []string `json:"stream_keys,omitempty"`
	PullURL    string   `json:"pull_url,omitempty"`
}

// FeedSwitch records one change of the active feed.
type FeedSwitch struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	By     string    `json:"by,omitempty"` // the node or operator that asked
}

// Feed returns the named feed ("primary" or "backup") and whether it is one.
func (f *Feeds) Feed(name string) (Feed, bool) {
	switch name {
	case FeedPrimary:
		return f.Primary, true
	case FeedBackup:
		return f.Backup, true
	}
	return Feed{}, false
}

// ActiveFeed is the feed the output follows: Active, or the primary.
func (f *Feeds) ActiveFeed() string {
	if f.Active == "" {
		return FeedPrimary
	}
	return f.Active
}

// AllStreamKeys lists the event's stream keys and its feeds'.
func (ev *Event) AllStreamKeys() []string {
	keys := slices.Clone(ev.StreamKeys)
	if ev.Feeds != nil {
		keys = append(append(keys, ev.Feeds.Primary.StreamKeys...), ev.Feeds.Backup.StreamKeys...)
	}
	return keys
}

// Pushed reports whether encoders push the event (it has stream keys,
// its own or its feeds').
func (ev *Event) Pushed() bool {
	if ev.Feeds != nil {
		return len(ev.Feeds.Primary.StreamKeys) > 0 || len(ev.Feeds.Backup.StreamKeys) > 0
	}
	return len(ev.StreamKeys) > 0
}

// Rendition is one variant of an event's ladder.
type Rendition struct {
	Name      string `json:"name"` // path element: [A-Za-z0-9][A-Za-z0-9._-]{0,62}
	Bandwidth int64  `json:"bandwidth"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
	Codecs    string `json:"codecs,omitempty"` // RFC 6381, e.g. "avc1.64001f,mp4a.40.2"
}

// LowLatency holds the LL-HLS settings of an event.
type LowLatency struct {
	Enabled    bool     `json:"enabled"`
	PartTarget Duration `json:"part_target,omitzero"` // required when Enabled
}

// Region is a named set of client networks, used by allow and blackout rules
// and by steering.
type Region struct {
	Name  string         `json:"name"`
	CIDRs []netip.Prefix `json:"cidrs"` // masked prefixes, at least one
}

// CDNState is whether steering may send players to a CDN.
type CDNState string

// CDN states: active takes new sessions, draining keeps its sessions but
// takes no new ones, disabled takes nothing.
const (
	CDNActive   CDNState = "active"
	CDNDraining CDNState = "draining"
	CDNDisabled CDNState = "disabled"
)

func (s CDNState) valid() bool {
	return s == CDNActive || s == CDNDraining || s == CDNDisabled
}

// CDN is a third-party CDN (or a clone of the mesh itself) that steering may
// send players to.
type CDN struct {
	ID           string   `json:"id"`
	Hostname     string   `json:"hostname"`           // DNS name players resolve
	BaseURL      string   `json:"base_url,omitempty"` // http(s) prefix for redirects and pathways
	Weight       int      `json:"weight"`             // 0..1000 share among active CDNs
	CapacityMbps int64    `json:"capacity_mbps"`      // 0 = unknown
	State        CDNState `json:"state"`
	// Clone marks a pathway that is a clone of the mesh (HLS content
	// steering PATHWAY-CLONES) rather than a separate CDN.
	Clone bool `json:"clone"`
}

// NodeFlags are the operator's flags for one mesh node.
type NodeFlags struct {
	Drain bool `json:"drain"` // stop owning keys, finish what it serves
}

// SigningKey signs playback tokens. Secret is at least 32 bytes (base64 in
// JSON).
type SigningKey struct {
	ID     string `json:"id"`
	Secret []byte `json:"secret,omitempty"`
	// RetiredAt is when a rotation replaced the key (the leader's clock);
	// zero for the current key.
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// ValidUntil is when the last token the key may have signed expires:
	// RetiredAt plus the max_token_ttl in force while it signed, plus
	// RetiredKeyGrace. Edges accept the key until then, and the first
	// command applied after it drops the key. Zero for the current key
	// (and for a previous key retired before retirement times were
	// recorded: it stays until the next rotation dates it).
	ValidUntil time.Time `json:"valid_until,omitzero"`
}

// SigningKeys holds the token keys: tokens are signed with Current and
// accepted under Current and under every retired key until its
// ValidUntil, so no rotation, however frequent, cuts off a token already
// handed out.
type SigningKeys struct {
	Current *SigningKey `json:"current,omitempty"`
	// Previous is the key Current replaced, while it is valid.
	Previous *SigningKey `json:"previous,omitempty"`
	// Older are the keys retired before Previous that are still valid,
	// newest first.
	Older []SigningKey `json:"older,omitempty"`
	// MaxTokenTTL bounds the lifetime of every playback token: nodes sign
	// for the smaller of steering.token_ttl and this, and a retired key is
	// kept this long after its retirement. Zero means DefaultMaxTokenTTL.
	MaxTokenTTL Duration `json:"max_token_ttl,omitzero"`
}

// Limits of the signing keys.
const (
	// DefaultMaxTokenTTL is the token lifetime bound of a document that
	// does not set one (steering.token_ttl's default).
	DefaultMaxTokenTTL = 6 * time.Hour
	// MaxTokenTTLLimit is the longest max_token_ttl a document may set.
	MaxTokenTTLLimit = 7 * 24 * time.Hour
	// RetiredKeyGrace keeps a retired key a little past its last token:
	// a node that applies a rotation late signs with the old key for that
	// long, and clocks differ.
	RetiredKeyGrace = 5 * time.Minute
	// MaxRetiredKeys is how many valid retired keys a document holds; a
	// rotation beyond it is refused (drop_previous_signing_key drops them
	// all).
	MaxRetiredKeys = 16
)

// TokenTTL is the longest lifetime of a playback token: MaxTokenTTL, or
// DefaultMaxTokenTTL when unset.
func (s SigningKeys) TokenTTL() time.Duration {
	if s.MaxTokenTTL > 0 {
		return time.Duration(s.MaxTokenTTL)
	}
	return DefaultMaxTokenTTL
}

// Retired lists the retired keys, newest first: Previous, then Older.
func (s SigningKeys) Retired() []SigningKey {
	if s.Previous == nil {
		return nil
	}
	return append([]SigningKey{*s.Previous}, s.Older...)
}

// withRetired returns s with retired (newest first) as Previous and
// Older, in newly allocated memory.
func (s SigningKeys) withRetired(retired []SigningKey) SigningKeys {
	s.Previous, s.Older = nil, nil
	if len(retired) > 0 {
		p := retired[0]
		s.Previous = &p
		s.Older = nilIfEmpty(slices.Clone(retired[1:]))
	}
	return s
}

// Rotated returns s after a rotation to k accepted at at (what
// rotate_signing_key does): the current key retires, valid for the token
// lifetime in force while it signed; ttl, when non-zero, becomes
// MaxTokenTTL. Retired keys whose end has passed are dropped. Errors are
// ErrInvalid: k's id names a key still in use, or MaxRetiredKeys keys are
// still valid.
func (s SigningKeys) Rotated(k SigningKey, ttl Duration, at time.Time) (SigningKeys, error) {
	if cur := s.Current; cur != nil && cur.ID == k.ID {
		return s, invalid("payload.id", "%q is the current key's id; a new key needs a new id", k.ID)
	}
	var retired []SigningKey
	if s.Current != nil {
		old := *s.Current
		old.RetiredAt, old.ValidUntil = at, at.Add(s.TokenTTL()+RetiredKeyGrace)
		retired = append(retired, old)
	}
	for _, r := range s.Retired() {
		if r.ValidUntil.IsZero() { // retired before the times were kept
			r.ValidUntil = at.Add(s.TokenTTL() + RetiredKeyGrace)
		}
		if r.ID == k.ID && at.Before(r.ValidUntil) {
			return s, invalid("payload.id", "%q is a retired key's id, valid until %s; a new key needs a new id",
				k.ID, r.ValidUntil.Format(time.RFC3339))
		}
		retired = append(retired, r)
	}
	s = s.withRetired(retired).pruned(at)
	if n := len(s.Older) + 1; s.Previous != nil && n > MaxRetiredKeys {
		return s, invalid("signing", "%d retired keys would still be valid (at most %d); wait until %s or drop them (drop_previous_signing_key)",
			n, MaxRetiredKeys, s.Older[len(s.Older)-1].ValidUntil.Format(time.RFC3339))
	}
	s.Current = &k
	if ttl != 0 {
		s.MaxTokenTTL = ttl
	}
	return s, nil
}

// pruned returns s without the retired keys whose ValidUntil is at or
// before at; s itself when there are none.
func (s SigningKeys) pruned(at time.Time) SigningKeys {
	retired := s.Retired()
	keep := slices.DeleteFunc(slices.Clone(retired), func(k SigningKey) bool {
		return !k.ValidUntil.IsZero() && !at.Before(k.ValidUntil)
	})
	if len(keep) == len(retired) {
		return s
	}
	return s.withRetired(keep)
}

// WithoutStreamKeys returns a copy of d in which every stream key is
// replaced by a random placeholder nobody knows ("redacted-" and 26
// random base32 characters; the document stays valid and still says the event is pushed):
// what a node that does not ingest is given. Signing keys stay: edges
// verify playback tokens with them.
func (d *Document) WithoutStreamKeys() *Document {
	c := d.clone()
	for id, ev := range c.Events {
		ev.MapStreamKeys(func(keys []string) []string {
			out := make([]string, len(keys)) // the map copy is shallow
			for i := range out {
				out[i] = "redacted-" + rand.Text()
			}
			return out
		})
		c.Events[id] = ev
	}
	return c
}

// MapStreamKeys replaces every non-empty stream key list of ev (its own
// and its feeds') by f's result; the feeds are copied first, so the
// event's published copy is never written.
func (ev *Event) MapStreamKeys(f func([]string) []string) {
	if len(ev.StreamKeys) > 0 {
		ev.StreamKeys = f(ev.StreamKeys)
	}
	if ev.Feeds != nil {
		fs := *ev.Feeds
		for _, fd := range []*Feed{&fs.Primary, &fs.Backup} {
			if len(fd.StreamKeys) > 0 {
				fd.StreamKeys = f(fd.StreamKeys)
			}
		}
		ev.Feeds = &fs
	}
}

// Redacted returns a copy of d without secrets, for showing the document to
// someone who may read the configuration but not push or sign: stream keys
// become "redacted", signing secrets are dropped (key ids stay).
func (d *Document) Redacted() *Document {
	c := d.clone()
	for id, ev := range c.Events {
		ev.MapStreamKeys(func(keys []string) []string { return slices.Repeat([]string{"redacted"}, len(keys)) })
		c.Events[id] = ev
	}
	for _, k := range []**SigningKey{&c.Signing.Current, &c.Signing.Previous} {
		if *k != nil {
			r := **k
			r.Secret = nil
			*k = &r
		}
	}
	if len(c.Signing.Older) > 0 {
		c.Signing.Older = slices.Clone(c.Signing.Older)
		for i := range c.Signing.Older {
			c.Signing.Older[i].Secret = nil
		}
	}
	return c
}

// emptyDocument is version 0: no command applied yet.
func emptyDocument() *Document {
	return &Document{
		Events:  map[string]Event{},
		Regions: map[string]Region{},
		CDNs:    map[string]CDN{},
		Nodes:   map[string]NodeFlags{},
	}
}

// clone copies the maps of d so that a command can change entries without
// touching the published document. Values are copied; slices and key
// pointers inside them are shared, so commands replace values whole and
// never write into a slice or a key they did not allocate.
func (d *Document) clone() *Document {
	c := *d
	c.Events = cloneMap(d.Events)
	c.Regions = cloneMap(d.Regions)
	c.CDNs = cloneMap(d.CDNs)
	c.Nodes = cloneMap(d.Nodes)
	return &c
}

func cloneMap[V any](m map[string]V) map[string]V {
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// normalize gives every document one in-memory form, so that a document
// rebuilt from a snapshot or from JSON is deeply equal to the one built by
// applying commands: non-nil maps, nil empty slices, UTC times.
func (d *Document) normalize() {
	if d.Events == nil {
		d.Events = map[string]Event{}
	}
	if d.Regions == nil {
		d.Regions = map[string]Region{}
	}
	if d.CDNs == nil {
		d.CDNs = map[string]CDN{}
	}
	if d.Nodes == nil {
		d.Nodes = map[string]NodeFlags{}
	}
	d.UpdatedAt = d.UpdatedAt.UTC()
	for k, ev := range d.Events {
		d.Events[k] = ev.normalized()
	}
	for k, r := range d.Regions {
		d.Regions[k] = r.normalized()
	}
	d.Signing.Older = nilIfEmpty(d.Signing.Older)
}

func (ev Event) normalized() Event {
	ev.Start, ev.End = ev.Start.UTC(), ev.End.UTC()
	ev.StreamKeys = nilIfEmpty(ev.StreamKeys)
	ev.Renditions = nilIfEmpty(ev.Renditions)
	ev.AllowedRegions = nilIfEmpty(ev.AllowedRegions)
	ev.BlackoutRegions = nilIfEmpty(ev.BlackoutRegions)
	if ev.Feeds != nil {
		fs := *ev.Feeds
		fs.Primary.StreamKeys, fs.Backup.StreamKeys = nilIfEmpty(fs.Primary.StreamKeys), nilIfEmpty(fs.Backup.StreamKeys)
		if fs.LastSwitch != nil {
			ls := *fs.LastSwitch
			ls.At = ls.At.UTC()
			fs.LastSwitch = &ls
		}
		ev.Feeds = &fs
	}
	return ev
}

func (r Region) normalized() Region {
	r.CIDRs = nilIfEmpty(r.CIDRs)
	return r
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("30m", "1h30m", "500ms"). Convert with time.Duration(d).
type Duration time.Duration

// String formats d like time.Duration does, without trailing zero units
// ("30m" rather than "30m0s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as \"30m\" or \"1.5s\"", b)
	}
	*d = Duration(v)
	return nil
}
