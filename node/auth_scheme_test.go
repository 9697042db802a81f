package node

import (
	"net/http"
	"strings"
	"testing"
)

// TestIngestBearerScheme: the auth scheme is case-insensitive (RFC 9110
// §11.1), and only a Bearer credential is a stream key.
func TestIngestBearerScheme(t *testing.T) {
	for h, want := range map[string]string{
		"Bearer k":    "k",
		"bearer k":    "k",
		"BEARER k":    "k",
		"Bearer   k":  "k",
		"Basic k":     "",
		"Bearerk":     "",
		"Bearer ":     "",
		"k":           "",
		"":            "",
		"Bearer k k2": "k k2",
	} {
		if got := bearer([]byte(h)); got != want {
			t.Errorf("bearer(%q) = %q, want %q", h, got, want)
		}
	}
	_, base := pushNode(t)
	req, err := http.NewRequest("PUT", base+"/ingest/ev/0/index0.ts", strings.NewReader("segment"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+testKey)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("lower-case bearer: %d", resp.StatusCode)
	}
}

// TestAdminInternalBodiesStrict: the node's internal bodies are one JSON
// value whose objects name each key once.
func TestAdminInternalBodiesStrict(t *testing.T) {
	var purge struct {
		Key    string `json:"key"`
		Prefix string `json:"prefix"`
	}
	for body, want := range map[string]string{
		`{"prefix":"/live/ev1/","prefix":"/live/"}`: `"prefix"`,
		`{"prefix":"/live/ev1/","Prefix":"/live/"}`: `"Prefix"`,
		`{"prefix":"/live/ev1/"} {"prefix":"/"}`:    "after the JSON value",
		`{"prefix":"/live/ev1/"}garbage`:            "after the JSON value",
		`{"prefix":"/live/ev1/","extra":1}`:         "extra",
		``:                                          "JSON",
	} {
		if err := strictJSON([]byte(body), &purge); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one naming %s", body, err, want)
		}
	}
	if err := strictJSON([]byte(" {\"prefix\":\"/live/ev1/\"}\n"), &purge); err != nil || purge.Prefix != "/live/ev1/" {
		t.Errorf("a good body: %v %+v", err, purge)
	}
}
