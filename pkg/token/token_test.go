package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	t0      = time.Date(2026, 3, 14, 20, 0, 0, 0, time.UTC)
	current = Key{ID: "k2", Secret: []byte("0123456789abcdef-current")}
	prev    = Key{ID: "k1", Secret: []byte("0123456789abcdef-previous")}
	keys    = []Key{current, prev}
)

func claims() Claims {
	return Claims{Event: "fight", PathPrefix: "/live/fight/", Session: "s-42", Region: "eu", Generation: 3, Expires: t0.Add(time.Hour)}
}

func mustSign(t testing.TB, k Key, c Claims) string {
	t.Helper()
	tok, err := Sign(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerify(t *testing.T) {
	good := mustSign(t, current, claims())
	old := mustSign(t, prev, claims())
	unknown := mustSign(t, Key{ID: "k0", Secret: []byte("0123456789abcdef-ancient")}, claims())
	forged := mustSign(t, Key{ID: "k2", Secret: []byte("0123456789abcdef-attacker")}, claims())
	fileScoped := claims()
	fileScoped.PathPrefix = "/live/fight"
	boundary := mustSign(t, current, fileScoped)

	tests := []struct {
		name        string
		token       string
		event, path string
		now         time.Time
		want        error
	}{
		{"valid", good, "fight", "/live/fight/0/seg1.ts", t0, nil},
		{"previous key", old, "fight", "/live/fight/master.m3u8", t0, nil},
		{"unknown key", unknown, "fight", "/live/fight/master.m3u8", t0, ErrForged},
		{"wrong secret", forged, "fight", "/live/fight/master.m3u8", t0, ErrForged},
		{"expired at deadline", good, "fight", "/live/fight/a.ts", t0.Add(time.Hour), ErrExpired},
		{"expired after", good, "fight", "/live/fight/a.ts", t0.Add(2 * time.Hour), ErrExpired},
		{"other event", good, "final", "/live/fight/a.ts", t0, ErrScope},
		{"outside prefix", good, "fight", "/live/final/a.ts", t0, ErrScope},
		{"prefix itself", good, "fight", "/live/fight/", t0, nil},
		{"dot dot", good, "fight", "/live/fight/../final/a.ts", t0, ErrScope},
		{"dot", good, "fight", "/live/fight/./a.ts", t0, ErrScope},
		{"boundary ok", boundary, "fight", "/live/fight/a.ts", t0, nil},
		{"boundary exact", boundary, "fight", "/live/fight", t0, nil},
		{"boundary sibling", boundary, "fight", "/live/fightclub/a.ts", t0, ErrScope},
		{"empty", "", "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"bad character", good[:10] + "!" + good[11:], "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"padded", good + "=", "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"truncated", good[:len(good)-3], "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"too short", "AAAA", "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"too long", strings.Repeat("A", MaxLen+4), "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"version 1", version1(t, prev), "fight", "/live/fight/a.ts", t0, ErrMalformed},
		{"retired key in use", old, "fight", "/live/fight/a.ts", t0.Add(29 * time.Minute), nil},
		{"retired key past its end", old, "fight", "/live/fight/a.ts", t0.Add(30 * time.Minute), ErrExpired},
	}
	// prev was retired: it verifies until t0+30m.
	keys := []Key{current, {ID: prev.ID, Secret: prev.Secret, NotAfter: t0.Add(30 * time.Minute)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Verify(tt.token, keys, tt.event, tt.path, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: err %v, want %v", err, tt.want)
			}
			if err == nil && (c.Event != "fight" || c.Session != "s-42" || c.Region != "eu" || c.Generation != 3 ||
				c.Expires.Unix() != t0.Add(time.Hour).Unix()) {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// version1 is a well-signed token of the first format (no generation, no
// region): refused since version 2.
func version1(t *testing.T, k Key) string {
	t.Helper()
	raw := []byte{1}
	raw = binary.AppendUvarint(raw, uint64(t0.Add(time.Hour).Unix()))
	for _, s := range []string{k.ID, "fight", "/live/fight/", "s-42"} {
		raw = binary.AppendUvarint(raw, uint64(len(s)))
		raw = append(raw, s...)
	}
	mac := sum(k.Secret, raw)
	return encode(append(raw, mac[:macLen]...))
}

func TestClaimsRoundTrip(t *testing.T) {
	c := claims()
	c.Expires = t0.Add(90*time.Minute + 700*time.Millisecond)
	c.Generation = 1 << 40
	got, err := Verify(mustSign(t, current, c), keys, "fight", "/live/fight/x.ts", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.KeyID = "k2"
	want.Expires = c.Expires.Truncate(time.Second)
	if !got.Expires.Equal(want.Expires) || got.KeyID != want.KeyID || got.Event != want.Event ||
		got.PathPrefix != want.PathPrefix || got.Session != want.Session || got.Region != want.Region ||
		got.Generation != want.Generation {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestTamper flips every bit of a token's bytes: each change must be
// refused, and never as a valid token.
func TestTamper(t *testing.T) {
	tok := mustSign(t, current, claims())
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			_, err := Verify(base64.RawURLEncoding.EncodeToString(b), keys, "fight", "/live/fight/a.ts", t0)
			if err == nil {
				t.Fatalf("byte %d bit %d flipped: accepted", i, bit)
			}
		}
	}
}

func TestSignErrors(t *testing.T) {
	tests := []struct {
		name string
		key  Key
		edit func(*Claims)
		want string
	}{
		{"short secret", Key{ID: "k", Secret: []byte("short")}, func(*Claims) {}, "secret"},
		{"no event", current, func(c *Claims) { c.Event = "" }, "empty event"},
		{"relative prefix", current, func(c *Claims) { c.PathPrefix = "live/" }, "does not start with /"},
		{"no expiry", current, func(c *Claims) { c.Expires = time.Time{} }, "no expiry"},
		{"too long", current, func(c *Claims) { c.Session = strings.Repeat("s", MaxLen) }, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claims()
			tt.edit(&c)
			_, err := Sign(tt.key, c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "token: ") {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHMACMatchesStandardLibrary(t *testing.T) {
	for _, n := range []int{0, 1, 16, 63, 64, 65, 200} {
		secret := []byte(strings.Repeat("k", n))
		msg := []byte(strings.Repeat("message", n+1))
		m := hmac.New(sha256.New, secret)
		m.Write(msg)
		want := m.Sum(nil)
		got := sum(secret, msg)
		if !hmac.Equal(got[:], want) {
			t.Fatalf("secret %d bytes: HMAC differs", n)
		}
	}
}

func TestBase64MatchesStandardLibrary(t *testing.T) {
	for n := 0; n < 40; n++ {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*37 + n)
		}
		enc := encode(src)
		if want := base64.RawURLEncoding.EncodeToString(src); enc != want {
			t.Fatalf("%d bytes: encode %q, want %q", n, enc, want)
		}
		var buf [64]byte
		m, ok := decode(buf[:], enc)
		if !ok || string(buf[:m]) != string(src) {
			t.Fatalf("%d bytes: decode failed", n)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	tok := mustSign(b, prev, claims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(tok, keys, "fight", "/live/fight/0/seg123.ts", t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyForged(b *testing.B) {
	tok := mustSign(b, Key{ID: "k2", Secret: []byte("0123456789abcdef-attacker")}, claims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(tok, keys, "fight", "/live/fight/0/seg123.ts", t0); err != ErrForged {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	c := claims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(current, c); err != nil {
			b.Fatal(err)
		}
	}
}
