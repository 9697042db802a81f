package token

import (
	"errors"
	"testing"
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
