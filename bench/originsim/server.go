package originsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Server is the simulated origin, an http.Handler serving at its root:
//
//	GET  /master.m3u8            the master playlist
//	GET  /r{i}/index.m3u8        the live media playlist of rendition i
//	GET  /r{i}/seg{N}.ts         segment N of rendition i, 404 unless published and retained
//	GET  /_stats                 Stats as JSON
//	POST /_stats/reset           zero the stats
//
// The injected clock drives the live edge; the delays and the pacing use
// real time.
type Server struct {
	cfg   Config
	now   func() time.Time
	start time.Time
	stats counter
}

// New returns a Server for cfg. now may be nil for time.Now.
func New(cfg Config, now func() time.Time) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Server{cfg: cfg, now: now, start: cfg.Start}
	t := now()
	if s.start.IsZero() {
		s.start = t.Add(-time.Duration(cfg.Window) * cfg.SegmentDuration)
	}
	s.stats.reset(t)
	return s, nil
}

// Start returns when segment 0 began.
func (s *Server) Start() time.Time { return s.start }

// LiveEdge returns the number of the newest published segment at t, -1
// when none is.
func (s *Server) LiveEdge(t time.Time) int64 {
	e := t.Sub(s.start)
	if e < 0 {
		return -1
	}
	return int64(e/s.cfg.SegmentDuration) - 1
}

// Stats returns the request counts since the last reset.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the request counts.
func (s *Server) ResetStats() { s.stats.reset(s.now()) }

type kind uint8

const (
	kindOther kind = iota
	kindMaster
	kindMedia
	kindSegment
)

// ServeHTTP routes a request; see Server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	switch p {
	case "_stats":
		s.serveStats(w, r)
		return
	case "_stats/reset":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	k, rend, seq := parsePath(p, s.cfg.Renditions)
	s.stats.add(p, k)
	switch k {
	case kindMaster:
		s.servePlaylist(w, r, s.master(), s.cfg.MasterMaxAge)
	case kindMedia:
		s.servePlaylist(w, r, s.media(s.LiveEdge(s.now())), s.cfg.PlaylistMaxAge)
	case kindSegment:
		s.serveSegment(w, r, p, rend, seq)
	default:
		s.notFound(w)
	}
}

// parsePath classifies a path relative to the root. For media playlists
// and segments it returns the rendition index, for segments the number.
func parsePath(p string, renditions int) (kind, int, int64) {
	if p == "master.m3u8" {
		return kindMaster, 0, 0
	}
	dir, file, ok := strings.Cut(p, "/")
	if !ok || len(dir) < 2 || dir[0] != 'r' || !digits(dir[1:]) {
		return kindOther, 0, 0
	}
	rend, err := strconv.Atoi(dir[1:])
	if err != nil || rend >= renditions {
		return kindOther, 0, 0
	}
	if file == "index.m3u8" {
		return kindMedia, rend, 0
	}
	num, ok := strings.CutPrefix(file, "seg")
	num, ok2 := strings.CutSuffix(num, ".ts")
	if !ok || !ok2 || !digits(num) {
		return kindOther, 0, 0
	}
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return kindOther, 0, 0
	}
	return kindSegment, rend, seq
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) notFound(w http.ResponseWriter) {
	s.stats.addNotFound()
	w.Header().Set("Cache-Control", "no-cache")
	http.Error(w, "not found", http.StatusNotFound)
}

func cacheControl(maxAge time.Duration) string {
	return "public, max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
}

// sleep waits d or until ctx ends, reporting whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) servePlaylist(w http.ResponseWriter, r *http.Request, body []byte, maxAge time.Duration) {
	if !sleep(r.Context(), s.cfg.PlaylistTTFB) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", cacheControl(maxAge))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) serveSegment(w http.ResponseWriter, r *http.Request, p string, rend int, seq int64) {
	edge := s.LiveEdge(s.now())
	oldest := edge - int64(s.cfg.Window) + 1 - int64(s.cfg.Retain)
	if seq > edge || seq < oldest {
		s.notFound(w)
		return
	}
	if !sleep(r.Context(), s.cfg.TTFB) {
		return
	}
	body := NewReader(p, s.cfg.SegmentSize(rend))
	h := w.Header()
	h.Set("Content-Type", "video/mp2t")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	h.Set("Cache-Control", cacheControl(s.cfg.SegmentMaxAge))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if s.cfg.Bandwidth <= 0 {
		_, _ = io.Copy(w, body)
		return
	}
	s.writePaced(r.Context(), w, body)
}

// writePaced writes body in chunks of ChunkSize, flushing each and sleeping
// so that the bytes sent never run ahead of Bandwidth.
func (s *Server) writePaced(ctx context.Context, w http.ResponseWriter, body *Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, s.cfg.ChunkSize)
	began := time.Now()
	sent := int64(0)
	for body.Len() > 0 {
		n, _ := body.Read(buf)
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		sent += int64(n)
		due := time.Duration(float64(sent) / float64(s.cfg.Bandwidth) * float64(time.Second))
		if body.Len() > 0 && !sleep(ctx, due-time.Since(began)) {
			return
		}
	}
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.Stats())
}

var _ http.Handler = (*Server)(nil)
