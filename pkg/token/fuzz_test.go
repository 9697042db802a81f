package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify checks that Verify never panics, only ever returns one of its
// sentinels, and accepts nothing it was not given a key for.
func FuzzVerify(f *testing.F) {
	good := mustSign(f, current, claims())
	f.Add(good, "/live/fight/a.ts")
	f.Add(good[:len(good)-1], "/live/fight/a.ts")
	f.Add("", "/")
	f.Add("AQ", "/live/fight/../x")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/live/fight/")
	f.Add(mustSign(f, prev, claims()), "/live/fight/0/a.ts")
	// prev is retired: nothing verifies under it after t0.
	keys := []Key{current, {ID: prev.ID, Secret: prev.Secret, NotAfter: t0.Add(time.Second)}}
	f.Fuzz(func(t *testing.T, tok, path string) {
		c, err := Verify(tok, keys, "fight", path, t0)
		switch {
		case err == nil:
			if c.KeyID != "k2" && c.KeyID != "k1" {
				t.Fatalf("accepted %q with key %q", tok, c.KeyID)
			}
			if !c.Expires.After(t0) {
				t.Fatalf("accepted expired claims %+v", c)
			}
		case errors.Is(err, ErrMalformed), errors.Is(err, ErrForged),
			errors.Is(err, ErrExpired), errors.Is(err, ErrScope):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzSignVerify checks that whatever claims Sign accepts come back from
// Verify as they were signed, and that Verify refuses the token for any
// other event.
func FuzzSignVerify(f *testing.F) {
	f.Add("fight", "/live/fight/", "s-42", "eu", uint64(3), int64(3600))
	f.Add("x", "/", "", "", uint64(0), int64(1))
	f.Add("ev", "/live/ev", strings.Repeat("s", 300), "région", uint64(1<<63), int64(1<<40))
	f.Fuzz(func(t *testing.T, event, prefix, session, region string, gen uint64, secs int64) {
		c := Claims{Event: event, PathPrefix: prefix, Session: session, Region: region, Generation: gen,
			Expires: t0.Add(time.Duration(secs%(1<<33)) * time.Second)}
		tok, err := Sign(current, c)
		if err != nil {
			return
		}
		if len(tok) > MaxLen {
			t.Fatalf("Sign made a %d-character token", len(tok))
		}
		path := prefix
		if !strings.HasSuffix(path, "/") {
			path += "/"
		}
		path += "a.ts"
		got, err := Verify(tok, keys, event, path, t0)
		switch {
		case !c.Expires.After(t0):
			if err == nil {
				t.Fatalf("accepted a token expired at %v", c.Expires)
			}
			return
		case err == ErrScope:
			return // the prefix has "." or ".." elements
		case err != nil:
			t.Fatalf("Verify of a fresh token: %v (%+v)", err, c)
		}
		if got.Event != event || got.PathPrefix != prefix || got.Session != session || got.Region != region ||
			got.Generation != gen || got.Expires.Unix() != c.Expires.Unix() || got.KeyID != current.ID {
			t.Fatalf("claims %+v, signed %+v", got, c)
		}
		if _, err := Verify(tok, keys, event+"x", path, t0); err != ErrScope {
			t.Fatalf("another event: %v", err)
		}
	})
}
