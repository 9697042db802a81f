package control

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

// The hand-written matchers agree with the patterns they document.
func TestNameMatchers(t *testing.T) {
	nameRE := regexp.MustCompile("^" + namePattern + "$")
	elemRE := regexp.MustCompile("^" + elemPattern + "$")
	labelRE := regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	for _, s := range []string{"", "a", "A", "0", "fight-night_2", "-a", "_a", ".a", "a.b", "a-", "A.b-C_d",
		"a b", "a/b", "é", strings.Repeat("a", 63), strings.Repeat("a", 64), "a..b", "a--b"} {
		if got, want := isName(s, false), nameRE.MatchString(s); got != want {
			t.Errorf("isName(%q) = %v, want %v", s, got, want)
		}
		if got, want := isName(s, true), elemRE.MatchString(s); got != want {
			t.Errorf("isName(%q, elem) = %v, want %v", s, got, want)
		}
		if got, want := isLabel(s), labelRE.MatchString(s); got != want {
			t.Errorf("isLabel(%q) = %v, want %v", s, got, want)
		}
	}
	for _, h := range []string{"cdn.example", "cdn.example.", "a", "xn--bcher-kva.example"} {
		if !validHostname(h) {
			t.Errorf("validHostname(%q) = false", h)
		}
	}
	for _, h := range []string{"", ".", "a..b", "-a.example", "a_b.example", strings.Repeat("a.", 130)} {
		if validHostname(h) {
			t.Errorf("validHostname(%q) = true", h)
		}
	}
}

// TestValidationErrorBounded: however many fields are wrong and however
// long the values, the error lists a bounded number of fields with
// bounded text (it becomes a 422 body).
func TestValidationErrorBounded(t *testing.T) {
	manyKeys := pushEvent("fight")
	manyKeys.StreamKeys = nil
	for i := range 5000 {
		manyKeys.StreamKeys = append(manyKeys.StreamKeys, fmt.Sprintf("short%d", i))
	}
	long := strings.Repeat("A", 512<<10)
	tests := []struct {
		name string
		cmd  Command
	}{
		{"many fields", cmd(t, CmdPutEvent, manyKeys)},
		{"long id", cmd(t, CmdPutEvent, Event{ID: long, PullURL: "http://o/"})},
		{"long url", cmd(t, CmdPutEvent, Event{ID: "x", PullURL: "ftp://" + long})},
		{"long unknown field", Command{Type: CmdPutEvent, Payload: []byte(`{"` + long + `":1}`)}},
		{"long region key", cmd(t, CmdPutRegion, Region{Name: long + "\n"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newState().apply(entry{Cmd: tt.cmd, At: t0})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v", err)
			}
			if len(ve.Errs) > 20 {
				t.Errorf("%d field errors listed", len(ve.Errs))
			}
			for _, fe := range ve.Errs {
				if len(fe.Field) > 300 || len(fe.Message) > 600 {
					t.Errorf("field error of %d+%d bytes", len(fe.Field), len(fe.Message))
				}
			}
			if n := len(err.Error()); n > 16<<10 {
				t.Errorf("Error() is %d bytes", n)
			}
		})
	}
	_, err := newState().apply(entry{Cmd: cmd(t, CmdPutEvent, manyKeys), At: t0})
	if !strings.Contains(err.Error(), "more") {
		t.Errorf("the error does not say more fields are wrong: %.300s", err)
	}
}

// BenchmarkValidateLongLists: every voter validates the whole document
// at every command, so a list of thousands of prefixes or keys must not
// cost a quadratic duplicate check.
func BenchmarkValidateLongLists(b *testing.B) {
	d := emptyDocument()
	r := Region{Name: "big"}
	for i := range 1 << 16 {
		r.CIDRs = append(r.CIDRs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32))
	}
	d.Regions["big"] = r
	b.ReportAllocs()
	for b.Loop() {
		if err := validateDocument(d); err != nil {
			b.Fatal(err)
		}
	}
}
