package token

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of Verify. They are returned as they are (not wrapped) so
// that rejecting a token costs no allocation.
var (
	ErrMalformed = errors.New("token: malformed")
	ErrForged    = errors.New("token: bad signature or unknown key")
	ErrExpired   = errors.New("token: expired")
	ErrScope     = errors.New("token: not valid for this event or path")
)

const (
	// version 2 added the generation and the region; version 1 tokens are
	// refused as malformed.
	version = 2
	macLen  = 16 // bytes of HMAC-SHA256 kept: 128 bits
	// MaxLen is the longest token Verify accepts, in characters.
	MaxLen = 1024
	// maxRaw is the decoded size of a MaxLen token.
	maxRaw = MaxLen * 3 / 4
	// MinSecret is the shortest secret Sign accepts, in bytes.
	MinSecret = 16
)

// Key is one signing secret. ID travels in the token so Verify can find the
// key among the current and retired ones.
type Key struct {
	ID     string
	Secret []byte
	// NotAfter, when set, is when the key stops verifying (ErrExpired from
	// then on): a retired key is kept until the last token it signed has
	// expired, and not longer.
	NotAfter time.Time
}

// Claims is what a token grants.
type Claims struct {
	Event string
	// PathPrefix scopes the token: "/live/fight/" allows every file under
	// that directory. Without a trailing slash it must match a whole path
	// element ("/live/fight" allows "/live/fight/x.ts", not "/live/fights").
	PathPrefix string
	// Session and Region are what the token was issued for: the edge that
	// verifies it compares them with the request (Verify does not).
	Session string
	Region  string
	// Generation is the event's token generation at issue: an operator
	// revokes every token of an event by raising it (Verify does not look
	// at it either).
	Generation uint64
	// Expires is kept to the second (Sign truncates it).
	Expires time.Time
	// KeyID is set by Sign and reported by Verify.
	KeyID string
}

// Sign returns a token for c signed with key; c.KeyID is ignored and
// replaced by key.ID.
func Sign(key Key, c Claims) (string, error) {
	var errs []error
	if len(key.Secret) < MinSecret {
		errs = append(errs, fmt.Errorf("secret of key %q: %d bytes, want at least %d", key.ID, len(key.Secret), MinSecret))
	}
	if c.Event == "" {
		errs = append(errs, errors.New("empty event"))
	}
	if !strings.HasPrefix(c.PathPrefix, "/") {
		errs = append(errs, fmt.Errorf("path prefix %q does not start with /", c.PathPrefix))
	}
	if c.Expires.IsZero() || c.Expires.Unix() <= 0 {
		errs = append(errs, errors.New("no expiry"))
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	raw := make([]byte, 0, 64+len(key.ID)+len(c.Event)+len(c.PathPrefix)+len(c.Session)+len(c.Region))
	raw = append(raw, version)
	raw = binary.AppendUvarint(raw, uint64(c.Expires.Unix()))
	raw = binary.AppendUvarint(raw, c.Generation)
	for _, s := range [...]string{key.ID, c.Event, c.PathPrefix, c.Session, c.Region} {
		raw = binary.AppendUvarint(raw, uint64(len(s)))
		raw = append(raw, s...)
	}
	mac := sum(key.Secret, raw)
	raw = append(raw, mac[:macLen]...)
	if encodedLen(len(raw)) > MaxLen {
		return "", fmt.Errorf("token: sign: claims too long (%d bytes encoded, max %d)", encodedLen(len(raw)), MaxLen)
	}
	return encode(raw), nil
}

// Field indexes in a payload, in wire order.
const (
	fKeyID = iota
	fEvent
	fPrefix
	fSession
	fRegion
	nFields
)

// payload is a parsed token payload: the expiry, the generation and where
// each string field starts and ends in the decoded bytes.
type payload struct {
	expires    int64
	generation uint64
	field      [nFields][2]int
}

// get returns field i of the payload parsed from b.
func (p *payload) get(b []byte, i int) []byte { return b[p.field[i][0]:p.field[i][1]] }

// Verify checks token and returns its claims when it was signed by one of
// keys (chosen by key id) that is not past its NotAfter, has not expired at
// now, is for event and covers path. path must be the decoded, cleaned
// request path: paths with "." or ".." elements are refused with ErrScope.
func Verify(token string, keys []Key, event, path string, now time.Time) (Claims, error) {
	if len(token) == 0 || len(token) > MaxLen {
		return Claims{}, ErrMalformed
	}
	var buf [maxRaw]byte
	n, ok := decode(buf[:], token)
	if !ok || n < 1+macLen {
		return Claims{}, ErrMalformed
	}
	raw, mac := buf[:n-macLen], buf[n-macLen:n]
	p, ok := parse(raw)
	if !ok {
		return Claims{}, ErrMalformed
	}
	key := findKey(keys, p.get(raw, fKeyID))
	if key == nil {
		return Claims{}, ErrForged
	}
	want := sum(key.Secret, raw)
	if subtle.ConstantTimeCompare(want[:macLen], mac) != 1 {
		return Claims{}, ErrForged
	}
	if now.Unix() >= p.expires || (!key.NotAfter.IsZero() && !now.Before(key.NotAfter)) {
		return Claims{}, ErrExpired
	}
	if string(p.get(raw, fEvent)) != event || !covers(string(p.get(raw, fPrefix)), path) {
		return Claims{}, ErrScope
	}
	// One allocation: every string of the claims points into s.
	s := string(raw)
	field := func(i int) string { return s[p.field[i][0]:p.field[i][1]] }
	return Claims{
		KeyID:      field(fKeyID),
		Event:      field(fEvent),
		PathPrefix: field(fPrefix),
		Session:    field(fSession),
		Region:     field(fRegion),
		Generation: p.generation,
		Expires:    time.Unix(p.expires, 0),
	}, nil
}

// parse splits a payload (the decoded token without its MAC).
func parse(b []byte) (payload, bool) {
	var p payload
	if len(b) < 2 || b[0] != version {
		return p, false
	}
	exp, n := binary.Uvarint(b[1:])
	if n <= 0 || exp == 0 || exp > 1<<62 {
		return p, false
	}
	p.expires = int64(exp)
	off := 1 + n
	gen, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return p, false
	}
	p.generation = gen
	off += n
	for i := range p.field {
		l, n := binary.Uvarint(b[off:])
		if n <= 0 || l > uint64(len(b)-off-n) {
			return p, false
		}
		off += n
		p.field[i] = [2]int{off, off + int(l)}
		off += int(l)
	}
	return p, off == len(b)
}

func findKey(keys []Key, id []byte) *Key {
	for i := range keys {
		if keys[i].ID == string(id) && len(keys[i].Secret) > 0 {
			return &keys[i]
		}
	}
	return nil
}

// covers reports whether prefix grants path: path starts with prefix at a
// path-element boundary and has no "." or ".." element that could climb
// out of it.
func covers(prefix, path string) bool {
	if prefix == "" || !strings.HasPrefix(path, prefix) {
		return false
	}
	if !strings.HasSuffix(prefix, "/") && len(path) > len(prefix) && path[len(prefix)] != '/' {
		return false
	}
	for rest := path; rest != ""; {
		var elem string
		elem, rest, _ = strings.Cut(rest, "/")
		if elem == "." || elem == ".." {
			return false
		}
	}
	return true
}
