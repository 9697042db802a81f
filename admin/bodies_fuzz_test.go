package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/control"
)

// bodyTypes are the bodies the API decodes, by route.
var bodyTypes = []func() any{
	func() any { return new(control.Event) },          // POST events, PUT events/{id}
	func() any { return new(control.EventStateArgs) }, // POST events/{id}/state
	func() any { return new(control.Region) },         // PUT regions/{name}
	func() any { return new(control.CDN) },            // PUT cdns/{id}
	func() any { return new(control.CDNWeightArgs) },  // POST cdns/{id}/weight
	func() any { return new(control.CDNStateArgs) },   // POST cdns/{id}/state
	func() any { return new(PurgeRequest) },           // POST purge
	func() any { return new(MeshKeyRequest) },         // POST mesh/keys
}

// FuzzBodies checks the strict decoder on every body type: it never
// panics; what it accepts is one valid JSON value without a key twice in
// an object (counted independently, by decoding into maps), and
// re-encoding what it decoded is accepted again and decodes the same; its
// errors are short.
func FuzzBodies(f *testing.F) {
	for _, seed := range []string{
		`{"id":"fight","title":"Fight","stream_keys":["key-0123456789abcdef"],"renditions":[{"name":"720p","bandwidth":3000000,"width":1280,"height":720}],"low_latency":{"enabled":true,"part_target":"1s"},"dvr_window":"1h"}`,
		`{"id":"fight","pull_url":"http://o/","start":"2026-03-01T20:00:00Z","allowed_regions":["eu"]}`,
		`{"state":"live"}`,
		`{"name":"eu","cidrs":["192.0.2.0/24","2001:db8::/32"]}`,
		`{"id":"akam","hostname":"a.example.net","base_url":"https://a.example.net/","weight":100,"capacity_mbps":40000,"state":"active"}`,
		`{"weight":250}`,
		`{"prefix":"/live/ev1/"}`,
		`{"op":"install","key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		`{"prefix":"/live/ev1/","prefix":"/live/"}`,
		`{"prefix":"/live/ev1/","Prefix":"/live/"}`,
		`{"prefix":"/live/ev1/","\u0070refix":"/live/"}`,
		`{"low_latency":{"enabled":false,"enabled":true}}`,
		`{"renditions":[{"name":"a"},{"name":"a","name":"b"}]}`,
		`{"weight":1} {"weight":2}`,
		`{"weight":1}]`,
		`{"weight":1e400}`,
		`{"weight":`,
		`[]`,
		`null`,
		``,
		` {"state":"ended"}` + "\n",
	} {
		for kind := range bodyTypes {
			f.Add(uint8(kind), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		newBody := bodyTypes[int(kind)%len(bodyTypes)]
		v := newBody()
		err := strictJSON(body, v)
		if err != nil {
			if n := len(err.Error()); n > 1024 {
				t.Fatalf("an error of %d bytes", n)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if dup := duplicateKey(t, body); dup != "" {
			t.Fatalf("accepted %q, which names %q twice", body, dup)
		}
		again, err := json.Marshal(v)
		if err != nil {
			return // a value the types cannot encode (e.g. an out-of-range time)
		}
		w := newBody()
		if err := strictJSON(again, w); err != nil {
			t.Fatalf("re-encoded %s refused: %v", again, err)
		}
		if third, _ := json.Marshal(w); !bytes.Equal(third, again) {
			t.Fatalf("%s decodes to %s", again, third)
		}
	})
}

// duplicateKey is a key some object of b (valid JSON) names twice, ignoring
// case as encoding/json does, or "". It is independent of strictjson: it
// counts the keys the token stream names per object against the distinct
// ones.
func duplicateKey(t *testing.T, b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type object struct{ seen map[string]bool }
	var stack []*object
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			t.Fatalf("token stream of accepted %q: %v", b, err)
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, ok := tok.(string); ok && top != nil && expectKey {
			for s := range top.seen {
				if strings.EqualFold(s, k) {
					return k
				}
			}
			top.seen[k] = true
			expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{seen: map[string]bool{}})
			expectKey = true
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1] != nil
	}
}
