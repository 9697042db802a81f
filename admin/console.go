package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// consoleFiles are the ops console: one page, its script and styles,
// embedded so the console works on an appliance with no internet; it
// loads nothing from elsewhere (the Content-Security-Policy says so).
//
//go:embed console
var consoleFiles embed.FS

// Console serves the ops console under /console/. The files are public
// (they hold no secret); the page asks for the admin or the read-only
// token and sends it with each API call, so it can do what the token may.
func Console() http.Handler {
	sub, _ := fs.Sub(consoleFiles, "console")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeProblem(w, http.StatusMethodNotAllowed, "only GET and HEAD on the console")
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/console")
		if name == "" || name == "/" {
			name = "/index.html"
		}
		if _, err := fs.Stat(sub, strings.TrimPrefix(name, "/")); err != nil {
			writeProblem(w, http.StatusNotFound, "no such console file: "+name)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = name
		if name == "/index.html" {
			r2.URL.Path = "/" // FileServer redirects /index.html to ./
		}
		files.ServeHTTP(w, r2)
	})
}
