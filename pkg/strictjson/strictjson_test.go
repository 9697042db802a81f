package strictjson

import (
	"strings"
	"testing"
)

type inner struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

type body struct {
	Prefix string         `json:"prefix"`
	Items  []inner        `json:"items"`
	Nested inner          `json:"nested"`
	Labels map[string]int `json:"labels"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, err string // err "" = accepted
	}{
		{"ok", ` {"prefix":"/live/","items":[{"name":"a"},{"name":"b","n":1}],"nested":{"n":2}} ` + "\n", ""},
		{"same keys in sibling objects", `{"items":[{"name":"a"},{"name":"a"}],"nested":{"name":"a"}}`, ""},
		{"empty", ``, "empty body"},
		{"white space only", " \n", "empty body"},
		{"duplicate", `{"prefix":"a","prefix":"b"}`, `duplicate key "prefix"`},
		{"duplicate in another case", `{"prefix":"a","PREFIX":"b"}`, `duplicate key "PREFIX" (same as "prefix")`},
		{"duplicate by escape", `{"prefix":"a","\u0070refix":"b"}`, `duplicate key "prefix"`},
		{"duplicate by Kelvin sign", `{"labels":{"k":1,"\u212a":2}}`, "duplicate key \"\u212a\" (same as \"k\") in the object at labels"},
		{"duplicate by long s", `{"labels":{"s":1,"\u017f":2}}`, `duplicate key`},
		{"nested duplicate", `{"nested":{"n":1,"n":2}}`, `duplicate key "n" in the object at nested`},
		{"duplicate in an element", `{"items":[{"n":1},{"n":1,"n":2}]}`, `in the object at items[1]`},
		{"duplicate in an unknown member", `{"x":{"a":1,"a":2}}`, `duplicate key "a"`},
		{"second value", `{"prefix":"a"} {"prefix":"b"}`, "data after the JSON value"},
		{"trailing garbage", `{"prefix":"a"}xyz`, "after the JSON value"},
		{"trailing bracket", `{"prefix":"a"}]`, "after the JSON value"},
		{"truncated", `{"prefix":`, "unexpected EOF"},
		{"unknown field", `{"prefix":"a","colour":1}`, `unknown field "colour"`},
		{"long unknown field", `{"` + strings.Repeat("x", 10000) + `":1}`, "unknown field"},
		{"long duplicate", `{"` + strings.Repeat("x", 10000) + `":1,"` + strings.Repeat("x", 10000) + `":1}`, "duplicate key"},
		{"huge number", `{"items":[{"n":1e400}]}`, "number"},
		{"deep", strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), "nest deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b body
			err := Decode([]byte(tt.in), &b)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want one with %q", err, tt.err)
			case err != nil && len(err.Error()) > maxError+200:
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestFold(t *testing.T) {
	for _, p := range [][2]string{{"k", "K"}, {"k", "\u212a"}, {"s", "\u017f"}, {"Straße", "STRAßE"}, {"é", "É"}} {
		if fold(p[0]) != fold(p[1]) {
			t.Errorf("fold(%q) != fold(%q)", p[0], p[1])
		}
	}
	for _, p := range [][2]string{{"a", "b"}, {"ss", "ß"}, {"prefix", "prefix "}} {
		if fold(p[0]) == fold(p[1]) {
			t.Errorf("fold(%q) == fold(%q)", p[0], p[1])
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	in := []byte(`{"prefix":"/live/","items":[{"name":"a","n":1},{"name":"b","n":2}],"nested":{"name":"c"},"labels":{"x":1,"y":2}}`)
	b.ReportAllocs()
	for b.Loop() {
		var v body
		if err := Decode(in, &v); err != nil {
			b.Fatal(err)
		}
	}
}
