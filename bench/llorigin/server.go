package llorigin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
)

// Server is the simulated low-latency origin, an http.Handler serving at
// its root:
//
//	GET  /master.m3u8                 the master playlist
//	GET  /r{i}/index.m3u8[?directives] rendition i's media playlist (blocking, delta)
//	GET  /r{i}/init.mp4               the initialisation section (EXT-X-MAP)
//	GET  /r{i}/seg{M}.m4s             segment M, once complete
//	GET  /r{i}/{M}.{P}.m4s            part P of segment M; the hinted part is held
//	GET  /_stats                      Stats as JSON
//	POST /_stats/reset                zero the counts
//
// Parts are published by Run (or Advance); the holds and TTFBs use real
// time.
type Server struct {
	cfg       Config
	now       func() time.Time
	start     time.Time
	tl        *timeline
	playlists playlists
	stats     counter
}

// New returns a Server for cfg with the parts due at now() published.
// now may be nil for time.Now.
func New(cfg Config, now func() time.Time) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	t := now()
	s := &Server{cfg: cfg, now: now, start: cfg.Start}
	if s.start.IsZero() {
		s.start = t.Add(-time.Duration(cfg.Window) * cfg.SegmentDuration())
	}
	s.tl = newTimeline(s.due(t), s.scheduled)
	s.stats.reset(t)
	return s, nil
}

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// scheduled returns when part a (counting from part 0 of segment 0) is due.
func (s *Server) scheduled(a int64) time.Time {
	return s.start.Add(time.Duration(a+1) * s.cfg.PartDuration)
}

// due returns how many parts are due at t.
func (s *Server) due(t time.Time) int64 {
	if t.Before(s.start) {
		return 0
	}
	return int64(t.Sub(s.start) / s.cfg.PartDuration)
}

// Published returns how many parts exist: part a (of segment
// a/PartsPerSegment) exists when a < Published().
func (s *Server) Published() int64 { return s.tl.published() }

// Advance publishes every part due at t, stamped t, waking the requests
// held for them. It returns how many it published.
func (s *Server) Advance(t time.Time) int64 {
	due := s.due(t)
	n := s.tl.publish(due, t)
	if n > 0 {
		// The oldest part published now is the latest against its schedule.
		s.stats.lateBy(t.Sub(s.scheduled(due - n)))
	}
	return n
}

// Run publishes each part when it is due on the wall clock until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	for {
		next := s.scheduled(s.tl.published())
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		s.Advance(time.Now())
	}
}

// Stats returns the counts since the last reset and the publication times.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	st.PartsPerSegment = s.cfg.PartsPerSegment
	st.PartDurationMS = float64(s.cfg.PartDuration) / 1e6
	n := s.tl.published()
	st.PublishedFrom = max(0, n-pubRing)
	for a := st.PublishedFrom; a < n; a++ {
		ns, _ := s.tl.publishedAt(a)
		st.PublishedNS = append(st.PublishedNS, ns)
	}
	return st
}

// ResetStats zeroes the counts (the publication times stay).
func (s *Server) ResetStats() { s.stats.reset(s.now()) }

type kind uint8

const (
	kindOther kind = iota
	kindMaster
	kindMedia    // a media playlist without _HLS_msn
	kindBlocking // a media playlist with _HLS_msn
	kindInit
	kindSegment
	kindPart
	kindCount
)

// target is a parsed request path.
type target struct {
	kind      kind
	rend      int
	msn, part int64
}

// parsePath classifies a path relative to the root.
func parsePath(p string, renditions int) target {
	if p == "master.m3u8" {
		return target{kind: kindMaster}
	}
	dir, file, ok := strings.Cut(p, "/")
	if !ok || len(dir) < 2 || dir[0] != 'r' || !digits(dir[1:]) {
		return target{}
	}
	rend, err := strconv.Atoi(dir[1:])
	if err != nil || rend >= renditions {
		return target{}
	}
	t := target{rend: rend}
	switch {
	case file == "index.m3u8":
		t.kind = kindMedia
	case file == "init.mp4":
		t.kind = kindInit
	case strings.HasPrefix(file, "seg") && strings.HasSuffix(file, ".m4s"):
		num := file[len("seg") : len(file)-len(".m4s")]
		if !digits(num) {
			return target{}
		}
		t.kind = kindSegment
		t.msn, _ = strconv.ParseInt(num, 10, 64)
	case strings.HasSuffix(file, ".m4s"):
		m, pt, ok := strings.Cut(file[:len(file)-len(".m4s")], ".")
		if !ok || !digits(m) || !digits(pt) {
			return target{}
		}
		t.kind = kindPart
		t.msn, _ = strconv.ParseInt(m, 10, 64)
		t.part, _ = strconv.ParseInt(pt, 10, 64)
	}
	return t
}

func digits(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

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
	t := parsePath(p, s.cfg.Renditions)
	switch t.kind {
	case kindMaster:
		s.stats.add(kindMaster, "", false)
		s.servePlaylist(w, r, s.master(), s.cfg.MasterMaxAge)
	case kindMedia:
		s.serveMedia(w, r, p, t.rend)
	case kindInit:
		s.stats.add(kindInit, "", false)
		s.serveBody(w, r, p, 1024, s.cfg.PartMaxAge)
	case kindSegment:
		s.stats.add(kindSegment, "", false)
		s.serveSegment(w, r, p, t)
	case kindPart:
		s.stats.add(kindPart, p, false)
		s.servePart(w, r, p, t)
	default:
		s.stats.add(kindOther, "", false)
		s.fail(w, http.StatusNotFound, "not found")
	}
}

// serveMedia answers a media playlist request and its delivery directives.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, p string, rend int) {
	d, err := parseDirectives(r.URL.RawQuery)
	if d.msn < 0 {
		s.stats.add(kindMedia, "", d.skip)
	} else {
		s.stats.add(kindBlocking, BlockingKey(p, d.msn, d.part), d.skip)
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	maxAge := s.cfg.PlaylistMaxAge
	n := s.tl.published()
	if d.msn >= 0 {
		maxAge = s.cfg.BlockingMaxAge
		need, err := s.needed(d, n)
		if err != nil {
			s.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		if need >= n {
			s.stats.park(false, 1)
			var ok bool
			n, ok = s.tl.await(r.Context(), need, s.cfg.holdLimit())
			s.stats.park(false, -1)
			if !ok {
				if r.Context().Err() == nil {
					w.Header().Set("Retry-After", "1")
					s.fail(w, http.StatusServiceUnavailable, "llorigin: the part did not come within the hold limit")
				}
				return
			}
		}
	}
	s.servePlaylist(w, r, s.media(rend, n, d.skip), maxAge)
}

// errTooFar: a blocking request beyond what RFC 8216bis lets a client ask.
var errTooFar = errors.New("llorigin: _HLS_msn more than two segments, or _HLS_part more than the Advance Part Limit, beyond the live edge")

// needed returns the index of the part a blocking request waits for (its
// segment's last part when it names no part; a part index past the last
// part of a segment means the next segment's first), or errTooFar.
func (s *Server) needed(d directives, n int64) (int64, error) {
	pps := int64(s.cfg.PartsPerSegment)
	need := d.msn*pps + d.part
	switch {
	case d.part < 0:
		need = (d.msn+1)*pps - 1
	case d.part >= pps:
		need = (d.msn + 1) * pps
	}
	lastMSN := n/pps - 1
	if d.msn > lastMSN+2 || d.part >= 0 && need-(n-1) > s.cfg.AdvancePartLimit() {
		return 0, errTooFar
	}
	return need, nil
}

// servePart serves a part once it exists: the hinted part (the next one)
// is held until it is published, older parts within retention are served
// at once, anything else is 404.
func (s *Server) servePart(w http.ResponseWriter, r *http.Request, p string, t target) {
	pps := int64(s.cfg.PartsPerSegment)
	if t.part >= pps {
		s.fail(w, http.StatusNotFound, "not found")
		return
	}
	a := t.msn*pps + t.part
	n := s.tl.published()
	if a == n {
		s.stats.park(true, 1)
		var ok bool
		n, ok = s.tl.await(r.Context(), a, s.cfg.holdLimit())
		s.stats.park(true, -1)
		if !ok {
			if r.Context().Err() == nil {
				s.fail(w, http.StatusNotFound, "llorigin: the hinted part did not come within the hold limit")
			}
			return
		}
	}
	if a >= n || t.msn < s.oldest(n) {
		s.fail(w, http.StatusNotFound, "not found")
		return
	}
	s.serveBody(w, r, p, s.cfg.PartSize(t.rend), s.cfg.PartMaxAge)
}

func (s *Server) serveSegment(w http.ResponseWriter, r *http.Request, p string, t target) {
	n := s.tl.published()
	if t.msn >= n/int64(s.cfg.PartsPerSegment) || t.msn < s.oldest(n) {
		s.fail(w, http.StatusNotFound, "not found")
		return
	}
	s.serveBody(w, r, p, s.cfg.PartsPerSegment*s.cfg.PartSize(t.rend), s.cfg.PartMaxAge)
}

// oldest is the oldest segment still served with n parts published.
func (s *Server) oldest(n int64) int64 {
	return n/int64(s.cfg.PartsPerSegment) - int64(s.cfg.Window+s.cfg.Retain)
}

func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	s.stats.answered(code)
	w.Header().Set("Cache-Control", "no-cache")
	http.Error(w, msg, code)
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
	s.stats.answered(http.StatusOK)
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", cacheControl(maxAge))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// serveBody serves the originsim body of path with the given size.
func (s *Server) serveBody(w http.ResponseWriter, r *http.Request, p string, size int, maxAge time.Duration) {
	if !sleep(r.Context(), s.cfg.TTFB) {
		return
	}
	s.stats.answered(http.StatusOK)
	body := originsim.NewReader(p, size)
	h := w.Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	h.Set("Cache-Control", cacheControl(maxAge))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, body)
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
	_ = json.NewEncoder(w).Encode(s.Stats())
}

var _ http.Handler = (*Server)(nil)
