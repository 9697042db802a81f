package control

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The validation rules are part of the replicated state machine: every voter
// validates every command as it applies it, so voters running different
// rules could end with different documents. A rule change ships to all
// voters together (stop them, upgrade, start), never as a rolling upgrade.

// Event ids, region names and CDN ids are path and label elements:
// namePattern. Rendition names and key ids are path elements that keep
// their case: elemPattern.
const (
	namePattern = "[a-z0-9][a-z0-9_-]{0,62}"
	elemPattern = "[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
)

// isName matches namePattern, or elemPattern when elem is set.
func isName(s string, elem bool) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9':
		case elem && b >= 'A' && b <= 'Z':
		case i > 0 && (b == '-' || b == '_'):
		case i > 0 && elem && b == '.':
		default:
			return false
		}
	}
	return true
}

// isLabel reports whether s is a DNS label: letters, digits and inner
// hyphens, 1 to 63 bytes.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
			return false
		}
	}
	return true
}

// Limits of the document.
const (
	MinStreamKeyLen = 16
	MinSecretLen    = 32
	MaxWeight       = 1000
	maxTextLen      = 256
	maxDVRWindow    = 7 * 24 * time.Hour
	// Feeds: an auto switch back waits for at most this many healthy
	// segments; the active feed's stall limit is bounded both ways.
	maxHealthySegments = 1000
	minUnhealthyAfter  = 500 * time.Millisecond
	maxUnhealthyAfter  = 5 * time.Minute
	minPartTarget      = 100 * time.Millisecond
	maxPartTarget      = 5 * time.Second
)

// loc names an entry of the document ("events[fight]"); the field path
// strings are built only when a problem is reported, so validating a valid
// document allocates little.
type loc struct {
	kind, key string
}

func (l loc) String() string { return l.kind + "[" + l.key + "]" }

// f is the path of a field of the entry, e.g. ".pull_url".
func (l loc) f(field string) string { return l.String() + field }

// fi is the path of element i of a list field.
func (l loc) fi(field string, i int) string { return fmt.Sprintf("%s%s[%d]", l, field, i) }

// Bounds of a ValidationError, whatever the command: it becomes a 422
// body. A field's path (which holds a map key) and message, and each
// string a message quotes, are cut; fields past the first MaxFieldErrors
// are only counted (ValidationError.More).
const (
	MaxFieldErrors  = 20
	maxFieldPath    = 200
	maxFieldMessage = 400
	maxQuoted       = 80
)

// checker collects field errors.
type checker struct {
	errs []FieldError
	more int
}

// add records a problem; string arguments are cut to maxQuoted bytes
// before they are formatted.
func (c *checker) add(field, format string, args ...any) {
	if len(c.errs) == MaxFieldErrors {
		c.more++
		return
	}
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxQuoted {
			args[i] = cut(s, maxQuoted)
		}
	}
	c.errs = append(c.errs, fieldError(field, fmt.Sprintf(format, args...)))
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &ValidationError{Errs: c.errs, More: c.more}
}

// fieldError is a FieldError with its path and message cut to their
// bounds.
func fieldError(field, msg string) FieldError {
	return FieldError{Field: cut(field, maxFieldPath), Message: cut(msg, maxFieldMessage)}
}

// cut shortens s to at most n bytes and an ellipsis, on a character
// boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// validateDocument checks the whole document, every problem at once, in a
// stable order (sorted keys).
// Validate checks d whole, as every command's result is checked: what
// a node's configuration file seeds is held to the same rules.
func (d *Document) Validate() error { return validateDocument(d) }

func validateDocument(d *Document) error {
	var c checker
	for _, k := range slices.Sorted(maps.Keys(d.Regions)) {
		c.region(k, d.Regions[k])
	}
	for _, k := range slices.Sorted(maps.Keys(d.Events)) {
		c.event(d, k, d.Events[k])
	}
	for _, k := range slices.Sorted(maps.Keys(d.CDNs)) {
		c.cdn(k, d.CDNs[k])
	}
	for _, k := range slices.Sorted(maps.Keys(d.Nodes)) {
		if !validNodeID(k) {
			c.add("nodes["+k+"]", "node id must be 1 to 128 printable characters without spaces")
		}
	}
	c.signing(d.Signing)
	return c.err()
}

func (c *checker) event(d *Document, key string, ev Event) {
	at := loc{"events", key}
	switch {
	case !isName(ev.ID, false):
		c.add(at.f(".id"), "%q must match %s", ev.ID, namePattern)
	case ev.ID != key:
		c.add(at.f(".id"), "%q differs from its key", ev.ID)
	}
	c.text(at, ".title", ev.Title)
	if !ev.State.valid() {
		c.add(at.f(".state"), "%q is not one of scheduled, rehearsal, live, ended", ev.State)
	}
	if !ev.Start.IsZero() && !ev.End.IsZero() && !ev.End.After(ev.Start) {
		c.add(at.f(".end"), "must be after start")
	}
	if ev.Feeds != nil {
		c.feeds(at, ev)
	} else {
		c.origin(at, ev)
	}
	c.renditions(at, ev.Renditions)
	if ev.DVRWindow < 0 || time.Duration(ev.DVRWindow) > maxDVRWindow {
		c.add(at.f(".dvr_window"), "%v must be between 0 and %v", ev.DVRWindow, Duration(maxDVRWindow))
	}
	pt := time.Duration(ev.LowLatency.PartTarget)
	switch {
	case ev.LowLatency.Enabled && pt == 0:
		c.add(at.f(".low_latency.part_target"), "required when low latency is enabled")
	case pt != 0 && (pt < minPartTarget || pt > maxPartTarget):
		c.add(at.f(".low_latency.part_target"), "%v must be between %v and %v",
			ev.LowLatency.PartTarget, Duration(minPartTarget), Duration(maxPartTarget))
	}
	c.regionRefs(d, at, ".allowed_regions", ev.AllowedRegions)
	c.regionRefs(d, at, ".blackout_regions", ev.BlackoutRegions)
	allowed := member(ev.AllowedRegions)
	for i, r := range ev.BlackoutRegions {
		if allowed(r) {
			c.add(at.fi(".blackout_regions", i), "%q is also allowed", r)
		}
	}
}

// origin checks that exactly one of stream keys (push) and pull URL is set.
func (c *checker) origin(at loc, ev Event) {
	c.source(at, "", ev.StreamKeys, ev.PullURL)
	c.streamKeys(at, ".stream_keys", ev.StreamKeys)
}

// source checks one origin (the event's, or a feed's at prefix): exactly
// one of stream keys and pull URL.
func (c *checker) source(at loc, prefix string, keys []string, pull string) {
	switch {
	case len(keys) > 0 && pull != "":
		c.add(at.f(prefix+".pull_url"), "set stream_keys (push) or pull_url (pull), not both")
	case len(keys) == 0 && pull == "":
		c.add(at.f(prefix+".stream_keys"), "set stream_keys (push) or pull_url (pull)")
	case pull != "":
		if msg := checkHTTPURL(pull); msg != "" {
			c.add(at.f(prefix+".pull_url"), "%s", msg)
		}
	}
}

func (c *checker) streamKeys(at loc, field string, keys []string) {
	dup := repeats(keys)
	for i, k := range keys {
		switch {
		case len(k) < MinStreamKeyLen || len(k) > maxTextLen:
			c.add(at.fi(field, i), "must be %d to %d characters", MinStreamKeyLen, maxTextLen)
		case strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
			c.add(at.fi(field, i), "must be printable ASCII without spaces")
		case dup(i):
			c.add(at.fi(field, i), "duplicate stream key")
		}
	}
}

// feeds checks a redundant event: no origin of its own, two feeds of the
// same kind (both pushed or both pulled) with distinct keys, and the
// failover settings.
func (c *checker) feeds(at loc, ev Event) {
	fs := ev.Feeds
	if len(ev.StreamKeys) > 0 || ev.PullURL != "" {
		c.add(at.f(".feeds"), "an event with feeds has no stream_keys or pull_url of its own: each feed has them")
	}
	c.source(at, ".feeds.primary", fs.Primary.StreamKeys, fs.Primary.PullURL)
	c.source(at, ".feeds.backup", fs.Backup.StreamKeys, fs.Backup.PullURL)
	if (len(fs.Primary.StreamKeys) > 0) != (len(fs.Backup.StreamKeys) > 0) {
		c.add(at.f(".feeds.backup"), "both feeds are pushed (stream_keys) or both pulled (pull_url)")
	}
	if fs.Primary.PullURL != "" && fs.Primary.PullURL == fs.Backup.PullURL {
		c.add(at.f(".feeds.backup.pull_url"), "is the primary's: a backup must be another source")
	}
	c.streamKeys(at, ".feeds.primary.stream_keys", fs.Primary.StreamKeys)
	c.streamKeys(at, ".feeds.backup.stream_keys", fs.Backup.StreamKeys)
	for i, k := range fs.Backup.StreamKeys {
		if slices.Contains(fs.Primary.StreamKeys, k) {
			c.add(at.fi(".feeds.backup.stream_keys", i), "is also a primary key: each feed needs its own keys")
		}
	}
	switch fs.SwitchBack {
	case "", SwitchBackManual, SwitchBackAuto:
	default:
		c.add(at.f(".feeds.switch_back"), "%q is not manual or auto", fs.SwitchBack)
	}
	if fs.HealthySegments < 0 || fs.HealthySegments > maxHealthySegments {
		c.add(at.f(".feeds.healthy_segments"), "%d must be between 0 (default %d) and %d",
			fs.HealthySegments, DefaultHealthySegments, maxHealthySegments)
	}
	if d := time.Duration(fs.UnhealthyAfter); d != 0 && (d < minUnhealthyAfter || d > maxUnhealthyAfter) {
		c.add(at.f(".feeds.unhealthy_after"), "%v must be 0 (1.5 x the target duration) or between %v and %v",
			fs.UnhealthyAfter, Duration(minUnhealthyAfter), Duration(maxUnhealthyAfter))
	}
	switch fs.Active {
	case "", FeedPrimary, FeedBackup:
	default:
		c.add(at.f(".feeds.active"), "%q is not primary or backup", fs.Active)
	}
	if ev.LowLatency.Enabled {
		c.add(at.f(".feeds"), "redundant feeds are not available for low-latency events yet")
	}
}

func (c *checker) renditions(at loc, rs []Rendition) {
	field := func(i int, name string) string { return at.fi(".renditions", i) + name }
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	dup := repeats(names)
	for i, r := range rs {
		switch {
		case !isName(r.Name, true):
			c.add(field(i, ".name"), "%q must match %s", r.Name, elemPattern)
		case dup(i):
			c.add(field(i, ".name"), "duplicate rendition %q", r.Name)
		}
		if r.Bandwidth <= 0 {
			c.add(field(i, ".bandwidth"), "must be positive (bits per second)")
		}
		if r.Width < 0 || r.Height < 0 || (r.Width == 0) != (r.Height == 0) {
			c.add(field(i, ".width"), "width and height must both be positive, or both 0 (audio)")
		}
		if len(r.Codecs) > maxTextLen || strings.ContainsAny(r.Codecs, "\" \t\r\n") {
			c.add(field(i, ".codecs"), "must be an RFC 6381 list without quotes or spaces, at most %d bytes", maxTextLen)
		}
	}
}

func (c *checker) regionRefs(d *Document, at loc, field string, names []string) {
	dup := repeats(names)
	for i, n := range names {
		if _, ok := d.Regions[n]; !ok {
			c.add(at.fi(field, i), "region %q does not exist", n)
		} else if dup(i) {
			c.add(at.fi(field, i), "duplicate region %q", n)
		}
	}
}

func (c *checker) region(key string, r Region) {
	at := loc{"regions", key}
	switch {
	case !isName(r.Name, false):
		c.add(at.f(".name"), "%q must match %s", r.Name, namePattern)
	case r.Name != key:
		c.add(at.f(".name"), "%q differs from its key", r.Name)
	}
	if len(r.CIDRs) == 0 {
		c.add(at.f(".cidrs"), "at least one prefix")
	}
	dup := repeats(r.CIDRs)
	for i, p := range r.CIDRs {
		switch {
		case !p.IsValid():
			c.add(at.fi(".cidrs", i), "not a valid prefix")
		case p != p.Masked():
			c.add(at.fi(".cidrs", i), "%v has host bits set; did you mean %v?", p, p.Masked())
		case dup(i):
			c.add(at.fi(".cidrs", i), "duplicate prefix %v", p)
		}
	}
}

func (c *checker) cdn(key string, cd CDN) {
	at := loc{"cdns", key}
	switch {
	case !isName(cd.ID, false):
		c.add(at.f(".id"), "%q must match %s", cd.ID, namePattern)
	case cd.ID != key:
		c.add(at.f(".id"), "%q differs from its key", cd.ID)
	}
	if !validHostname(cd.Hostname) {
		c.add(at.f(".hostname"), "%q is not a DNS name", cd.Hostname)
	}
	if cd.BaseURL != "" {
		if msg := checkHTTPURL(cd.BaseURL); msg != "" {
			c.add(at.f(".base_url"), "%s", msg)
		}
	}
	if cd.Weight < 0 || cd.Weight > MaxWeight {
		c.add(at.f(".weight"), "%d must be between 0 and %d", cd.Weight, MaxWeight)
	}
	if cd.CapacityMbps < 0 {
		c.add(at.f(".capacity_mbps"), "must not be negative")
	}
	if !cd.State.valid() {
		c.add(at.f(".state"), "%q is not one of active, draining, disabled", cd.State)
	}
}

func (c *checker) signing(s SigningKeys) {
	if s.Previous != nil && s.Current == nil {
		c.add("signing.previous", "set without a current key")
	}
	if len(s.Older) > 0 && s.Previous == nil {
		c.add("signing.older", "set without a previous key")
	}
	if n := len(s.Older) + 1; s.Previous != nil && n > MaxRetiredKeys {
		c.add("signing.older", "%d retired keys; at most %d", n, MaxRetiredKeys)
	}
	if s.MaxTokenTTL < 0 || time.Duration(s.MaxTokenTTL) > MaxTokenTTLLimit {
		c.add("signing.max_token_ttl", "%s must be between 0 (the default, %s) and %s",
			s.MaxTokenTTL, Duration(DefaultMaxTokenTTL), Duration(MaxTokenTTLLimit))
	}
	var ids []string // a token names its key by id: one key per id
	key := func(at string, k *SigningKey, retired bool) {
		if k == nil {
			return
		}
		c.signingKey(at, *k, retired)
		if slices.Contains(ids, k.ID) {
			c.add(at+".id", "%q is also another key's id", k.ID)
		}
		ids = append(ids, k.ID)
	}
	key("signing.current", s.Current, false)
	key("signing.previous", s.Previous, true)
	for i := range s.Older {
		key(fmt.Sprintf("signing.older[%d]", i), &s.Older[i], true)
	}
}

func (c *checker) signingKey(at string, k SigningKey, retired bool) {
	if !isName(k.ID, true) {
		c.add(at+".id", "%q must match %s", k.ID, elemPattern)
	}
	if len(k.Secret) < MinSecretLen || len(k.Secret) > 1024 {
		c.add(at+".secret", "%d bytes; want %d to 1024", len(k.Secret), MinSecretLen)
	}
	switch {
	case !retired && (!k.RetiredAt.IsZero() || !k.ValidUntil.IsZero()):
		c.add(at+".retired_at", "the current key is not retired")
	case !k.RetiredAt.IsZero() && k.ValidUntil.IsZero():
		c.add(at+".valid_until", "a retired key needs the end of its last token")
	case !k.ValidUntil.IsZero() && k.ValidUntil.Before(k.RetiredAt):
		c.add(at+".valid_until", "before the key's retirement")
	}
}

// Lists longer than shortList are checked through a map: an operator may
// send thousands of elements, and every voter validates the whole
// document at every command.
const shortList = 16

// repeats reports, for an index of list, whether an equal element comes
// before it.
func repeats[T comparable](list []T) func(i int) bool {
	if len(list) <= shortList {
		return func(i int) bool { return slices.Index(list, list[i]) < i }
	}
	first := make(map[T]int, len(list))
	for i, v := range list {
		if _, ok := first[v]; !ok {
			first[v] = i
		}
	}
	return func(i int) bool { return first[list[i]] < i }
}

// member reports whether a value is in list.
func member[T comparable](list []T) func(T) bool {
	if len(list) <= shortList {
		return func(v T) bool { return slices.Contains(list, v) }
	}
	set := make(map[T]bool, len(list))
	for _, v := range list {
		set[v] = true
	}
	return func(v T) bool { return set[v] }
}

// text checks a free-text field of the entry at.
func (c *checker) text(at loc, field, s string) {
	if msg := checkText(s); msg != "" {
		c.add(at.f(field), "%s", msg)
	}
}

func checkText(s string) string {
	if len(s) > maxTextLen {
		return fmt.Sprintf("longer than %d bytes", maxTextLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "contains control characters"
	}
	return ""
}

// checkHTTPURL returns "" for an absolute http(s) URL with a host, otherwise
// what is wrong.
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q does not parse: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be an http or https URL", s)
	case u.Host == "":
		return fmt.Sprintf("%q has no host", s)
	case u.Fragment != "":
		return fmt.Sprintf("%q must not have a fragment", s)
	}
	return ""
}

func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isLabel(label) {
			return false
		}
	}
	return true
}

func validNodeID(s string) bool {
	return s != "" && len(s) <= 128 &&
		strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) < 0
}
