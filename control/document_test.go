package control

import (
	"slices"
	"strings"
	"testing"
)

func TestWithoutStreamKeys(t *testing.T) {
	d := emptyDocument()
	d.Events["a"] = Event{ID: "a", State: StateLive, StreamKeys: []string{"key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"}}
	d.Events["b"] = Event{ID: "b", State: StateLive, PullURL: "http://origin.example/b"}
	d.Signing.Current = &SigningKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	c := d.WithoutStreamKeys()
	keys := c.Events["a"].StreamKeys
	if len(keys) != 2 || keys[0] == keys[1] || !strings.HasPrefix(keys[0], "redacted-") || slices.Contains(keys, "key-aaaaaaaaaaaaaaaa") {
		t.Fatalf("stream keys %q", keys)
	}
	if d.Events["a"].StreamKeys[0] != "key-aaaaaaaaaaaaaaaa" {
		t.Fatal("the original document changed")
	}
	if c.Signing.Current == nil || len(c.Signing.Current.Secret) == 0 {
		t.Fatal("signing keys must stay: edges verify tokens")
	}
	b, err := EncodeDocument(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeDocument(b); err != nil {
		t.Fatalf("a redacted document must stay valid for followers: %v", err)
	}
}
