package control

import (
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
