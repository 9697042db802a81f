//go:build unix

package browser

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// startPage serves the test page (page/index.html, page/harness.js) and
// the players' builds from node_modules on its own 127.0.0.1 port: another
// origin than the stream, so every request the players make is a
// cross-origin one and Ringside's CORS headers are what lets them read it.
func startPage(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("page", "index.html"))
	})
	mux.HandleFunc("GET /harness.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("page", "harness.js"))
	})
	for _, p := range playerFiles {
		mux.HandleFunc("GET "+p.path, func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, filepath.Join("node_modules", p.file))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// startNoCORS is a third origin that answers 404 without CORS headers: a
// player on the page must see status 0 there, which shows that the status
// a player reports from Ringside is one CORS let it read.
func startNoCORS(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.URL
}
