package control

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// applyAt applies c to st as the leader accepted it at at.
func applyAt(t *testing.T, st *state, at time.Time, c Command) (Result, error) {
	t.Helper()
	return st.apply(entry{Cmd: c, At: at})
}

// TestRetiredKeysStayUntilTheirTokensExpire: rotations keep every retired
// key until its last token has expired (its retirement plus the longest
// token lifetime, plus RetiredKeyGrace); the first command applied after
// that drops it.
func TestRetiredKeysStayUntilTheirTokensExpire(t *testing.T) {
	st := newState()
	ttl := DefaultMaxTokenTTL
	for i, id := range []string{"k1", "k2", "k3"} {
		if _, err := applyAt(t, st, t0.Add(time.Duration(i)*time.Minute), cmd(t, CmdRotateSigningKey, key(id))); err != nil {
			t.Fatal(err)
		}
	}
	s := st.doc.Signing
	if s.Current.ID != "k3" || s.Previous == nil || s.Previous.ID != "k2" || len(s.Older) != 1 || s.Older[0].ID != "k1" {
		t.Fatalf("after three rotations: %+v", s)
	}
	if !s.Previous.RetiredAt.Equal(t0.Add(2*time.Minute)) || !s.Previous.ValidUntil.Equal(t0.Add(2*time.Minute+ttl+RetiredKeyGrace)) ||
		!s.Older[0].ValidUntil.Equal(t0.Add(time.Minute+ttl+RetiredKeyGrace)) || !s.Current.RetiredAt.IsZero() {
		t.Fatalf("retirement times: previous %+v, older %+v", s.Previous, s.Older[0])
	}
	if got := s.TokenTTL(); got != ttl {
		t.Fatalf("TokenTTL %v", got)
	}
	// k1 is dropped by the first command after its end, k2 a minute later.
	drain := cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "e1", Drain: true})
	if _, err := applyAt(t, st, s.Older[0].ValidUntil.Add(-time.Second), drain); err != nil {
		t.Fatal(err)
	}
	if len(st.doc.Signing.Older) != 1 {
		t.Fatalf("k1 dropped before its end: %+v", st.doc.Signing)
	}
	if _, err := applyAt(t, st, s.Older[0].ValidUntil, drain); err != nil {
		t.Fatal(err)
	}
	if s := st.doc.Signing; len(s.Older) != 0 || s.Previous == nil || s.Previous.ID != "k2" {
		t.Fatalf("k1 kept after its end: %+v", s)
	}
	if _, err := applyAt(t, st, s.Previous.ValidUntil, drain); err != nil {
		t.Fatal(err)
	}
	if s := st.doc.Signing; s.Previous != nil || s.Current.ID != "k3" {
		t.Fatalf("k2 kept after its end: %+v", s)
	}
}

// TestRotateTokenTTL: a rotation may change max_token_ttl; the key it
// retires keeps the lifetime it signed under.
func TestRotateTokenTTL(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdRotateSigningKey, key("k1")))
	res, err := applyAt(t, st, t0.Add(time.Hour),
		cmd(t, CmdRotateSigningKey, RotateKeyArgs{ID: "k2", Secret: key("k2").Secret, MaxTokenTTL: Duration(time.Hour)}))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Doc.Signing
	if s.TokenTTL() != time.Hour || !s.Previous.ValidUntil.Equal(t0.Add(time.Hour+DefaultMaxTokenTTL+RetiredKeyGrace)) {
		t.Fatalf("signing %+v, previous %+v", s, s.Previous)
	}
	for _, ttl := range []time.Duration{-time.Second, 8 * 24 * time.Hour} {
		_, err := applyAt(t, st, t0.Add(2*time.Hour), cmd(t, CmdRotateSigningKey, RotateKeyArgs{ID: "k3", Secret: key("k3").Secret, MaxTokenTTL: Duration(ttl)}))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "max_token_ttl") {
			t.Fatalf("max_token_ttl %v: %v", ttl, err)
		}
	}
}

func TestRotateRules(t *testing.T) {
	k1, k2 := cmd(t, CmdRotateSigningKey, key("k1")), cmd(t, CmdRotateSigningKey, key("k2"))
	retired := SigningKey{ID: "k1", Secret: key("k1").Secret, RetiredAt: t0}
	runCases(t, []cmdCase{
		{name: "reuse a retired id", setup: []Command{k1, k2}, cmd: k1, err: ErrInvalid, fields: []string{"payload.id"}},
		{name: "retired_at in the payload", cmd: cmd(t, CmdRotateSigningKey, retired), err: ErrInvalid, fields: []string{"payload"}},
		{name: "drop every retired key", setup: []Command{k1, k2, cmd(t, CmdRotateSigningKey, key("k3"))},
			cmd: cmd(t, CmdDropPreviousKey, struct{}{}), check: func(t *testing.T, d *Document) {
				if d.Signing.Current.ID != "k3" || d.Signing.Previous != nil || len(d.Signing.Older) != 0 {
					t.Errorf("signing = %+v", d.Signing)
				}
			}},
	})
	// A rotation beyond MaxRetiredKeys valid keys is refused.
	st := newState()
	for i := range MaxRetiredKeys + 1 {
		applyAll(t, st, cmd(t, CmdRotateSigningKey, key("k"+string(rune('a'+i)))))
	}
	_, err := applyAt(t, st, t0, cmd(t, CmdRotateSigningKey, key("z1")))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "retired") {
		t.Fatalf("rotation %d: %v", MaxRetiredKeys+2, err)
	}
}

func TestSigningValidation(t *testing.T) {
	cur, old := key("k2"), key("k1")
	old.RetiredAt, old.ValidUntil = t0, t0.Add(time.Hour)
	tests := []struct {
		name string
		s    SigningKeys
		want string
	}{
		{"older without current", SigningKeys{Older: []SigningKey{old}}, "signing.older"},
		{"older without previous", SigningKeys{Current: &cur, Older: []SigningKey{old}}, "signing.older"},
		{"duplicate id", SigningKeys{Current: &cur, Previous: &old, Older: []SigningKey{old}}, "signing.older[0].id"},
		{"retired key without its end", SigningKeys{Current: &cur, Previous: &SigningKey{ID: "k0", Secret: old.Secret, RetiredAt: t0}}, "signing.previous.valid_until"},
		{"current with an end", SigningKeys{Current: &old}, "signing.current.retired_at"},
		{"ttl too long", SigningKeys{Current: &cur, MaxTokenTTL: Duration(30 * 24 * time.Hour)}, "signing.max_token_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := emptyDocument()
			d.Signing = tt.s
			err := validateDocument(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRevokeTokensCommand: revoke_tokens raises the event's generation;
// put_event never lowers it.
func TestRevokeTokensCommand(t *testing.T) {
	fight := cmd(t, CmdPutEvent, pullEvent("fight"))
	revoke := cmd(t, CmdRevokeTokens, EventRef{ID: "fight"})
	runCases(t, []cmdCase{
		{name: "revoke", setup: []Command{fight}, cmd: revoke, check: func(t *testing.T, d *Document) {
			if d.Events["fight"].TokenGeneration != 1 {
				t.Errorf("event %+v", d.Events["fight"])
			}
		}},
		{name: "put keeps the generation", setup: []Command{fight, revoke, revoke}, cmd: fight, check: func(t *testing.T, d *Document) {
			if d.Events["fight"].TokenGeneration != 2 {
				t.Errorf("event %+v", d.Events["fight"])
			}
		}},
		{name: "revoke unknown", cmd: revoke, err: ErrNotFound},
	})
}

// TestRedactedOlderKeys: Redacted drops the secrets of every key.
func TestRedactedOlderKeys(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdRotateSigningKey, key("k1")), cmd(t, CmdRotateSigningKey, key("k2")), cmd(t, CmdRotateSigningKey, key("k3")))
	r := st.doc.Redacted()
	if len(r.Signing.Older) != 1 || r.Signing.Older[0].Secret != nil || r.Signing.Older[0].ValidUntil.IsZero() {
		t.Fatalf("redacted %+v", r.Signing)
	}
	if st.doc.Signing.Older[0].Secret == nil {
		t.Fatal("Redacted changed the document")
	}
}
