package node

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCORSOnEveryPlayerResponse: a player on another origin reads every
// player-facing answer, errors and redirects included, and its preflights
// are answered; operator and encoder routes carry no CORS headers.
func TestCORSOnEveryPlayerResponse(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n0/index.m3u8\n"))
	}))
	defer origin.Close()
	n := steerNode(t, origin.URL, func(c *Config) { c.Admin.Token = "admin-token-for-cors-test" })
	base := "http://" + n.HTTPAddr()
	const page = "https://publisher.example"
	tests := []struct {
		name, path string
		status     int
	}{
		{"media", "/live/fight/master.m3u8", 200},
		{"unknown event", "/live/nope/master.m3u8", 404},
		{"bad path", "/live/fight/x.exe", 400},
		{"steered master", "/s/live/fight/master.m3u8", 200},
		{"steering manifest", "/steer/fight", 200},
		{"playback API", "/play/fight", 200},
		{"playback API error", "/play/nope", 404},
		{"redirect", "/r/live/fight/master.m3u8", 302},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", base+tc.path, "", nil, "Origin", page)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Expose-Headers") == "" {
				t.Fatalf("CORS headers: %v", r.header)
			}
			p := do(t, "OPTIONS", base+tc.path, "", nil, "Origin", page, "Access-Control-Request-Method", "GET",
				"Access-Control-Request-Headers", "CMCD-Request, CMCD-Session")
			if p.status != 204 || p.header.Get("Access-Control-Allow-Origin") != "*" ||
				p.header.Get("Access-Control-Allow-Headers") != "CMCD-Request, CMCD-Session" ||
				p.header.Get("Access-Control-Allow-Methods") == "" {
				t.Fatalf("preflight: %d %v", p.status, p.header)
			}
		})
	}
	for _, path := range []string{"/admin/v1/nodes", "/ingest/fight/x.ts", "/internal/v1/config"} {
		if r := do(t, "GET", base+path, "", nil, "Origin", page); r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s carries CORS headers", path)
		}
	}
}

func TestCORSOriginList(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n0/index.m3u8\n"))
	}))
	defer origin.Close()
	n := startNode(t, func(c *Config) {
		c.HTTP.CORSOrigins = []string{"https://a.example"}
		c.Events = []EventConfig{{ID: "fight", PullURL: origin.URL}}
	})
	url := "http://" + n.HTTPAddr() + "/live/fight/master.m3u8"
	if r := do(t, "GET", url, "", nil, "Origin", "https://a.example"); r.header.Get("Access-Control-Allow-Origin") != "https://a.example" ||
		r.header.Get("Vary") == "" {
		t.Fatalf("allowed origin: %v", r.header)
	}
	if r := do(t, "GET", url, "", nil, "Origin", "https://evil.example"); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin: %d %v", r.status, r.header)
	}
	if p := do(t, "OPTIONS", url, "", nil, "Origin", "https://evil.example"); p.status != 403 {
		t.Fatalf("preflight from another origin: %d", p.status)
	}
}
