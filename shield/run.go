package shield

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// PushedPlaylistTTL is how long a pushed LL-HLS playlist answers its
// blocking key: three target durations of 2 s.
const PushedPlaylistTTL = 6 * time.Second

// awaitPush waits up to r.WaitPush for the answer to be pushed to this
// tier and hands it to the flight's waiters; false when it did not come
// (the fetch goes upstream).
func (s *Shield) awaitPush(ctx context.Context, f *flight, r Request) bool {
	t := time.NewTimer(r.WaitPush)
	defer t.Stop()
	select {
	case obj := <-f.pushed:
		s.m.pushWakes.Inc()
		s.finish(f, r.Key, nil, 0) // Store already cached it
		f.publish(obj, nil)
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		s.finish(f, r.Key, nil, 0)
		f.publish(nil, fmt.Errorf("%w: %s: %w", ErrUpstream, r.Key, ctx.Err()))
		return true
	}
}

// run performs the shared upstream fetch of flight f on its own deadline.
func (s *Shield) run(f *flight, r Request) {
	defer s.runs.Done()
	ctx, cancel := context.WithTimeout(s.base, s.cfg.FetchTimeout)
	defer cancel()
	if f.pushed != nil && s.awaitPush(ctx, f, r) {
		return
	}
	s.m.fetches.Inc()
	resp, err := s.fetch.Fetch(ctx, r)
	if err != nil {
		s.m.upstreamErrors.Inc()
		s.finish(f, r.Key, nil, 0)
		f.publish(nil, fmt.Errorf("%w: %s: %w", ErrUpstream, r.Key, err))
		return
	}
	ct := contentType(r.Path)
	switch {
	case resp.Status == http.StatusOK && (r.Kind == segment.KindPlaylist || r.Kind == segment.KindManifest):
		s.fillPlaylist(ctx, f, r, resp, ct)
	case resp.Status == http.StatusOK:
		s.fillStream(f, r, resp, ct)
	case resp.Status == http.StatusNotFound || resp.Status == http.StatusGone:
		drain(resp)
		obj := object.NewComplete(object.Meta{Status: resp.Status, ContentType: "text/plain; charset=utf-8",
			CacheControl: "public, max-age=1", Source: resp.Source}, []byte("not found\n"))
		now := s.now()
		s.finish(f, r.Key, &entry{obj: obj, freshUntil: now.Add(s.cfg.NegativeTTL), staleUntil: now.Add(s.cfg.NegativeTTL)}, 64)
		f.publish(obj, nil)
	case resp.Status >= 500:
		drain(resp)
		s.m.upstreamErrors.Inc()
		s.finish(f, r.Key, nil, 0)
		f.publish(nil, fmt.Errorf("%w: %s: status %d from %s", ErrUpstream, r.Key, resp.Status, resp.Source))
	default:
		// Other answers (403, 416...) pass through uncached.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		drain(resp)
		s.finish(f, r.Key, nil, 0)
		f.publish(object.NewComplete(object.Meta{Status: resp.Status, ContentType: "text/plain; charset=utf-8",
			CacheControl: "no-store", Source: resp.Source}, body), nil)
	}
}

func drain(resp *Response) {
	if resp.Body != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

func contentType(p string) string {
	_, ct := segment.KindOf(p)
	if ct == "" {
		return "application/octet-stream"
	}
	return ct
}

// fillStream hands the waiters a growing object as soon as the upstream
// answered, then copies the body into it. The fetcher resumes a body that
// breaks; an error here is final.
func (s *Shield) fillStream(f *flight, r Request, resp *Response, ct string) {
	obj := object.New(object.Meta{Status: http.StatusOK, Kind: r.Kind, ContentType: ct,
		CacheControl: object.CacheControl(r.Kind, 0), Source: resp.Source}, int(resp.ContentLength))
	f.publish(obj, nil)
	n, err := object.Copy(obj, resp.Body)
	resp.Body.Close()
	s.m.bytesIn.Add(float64(n))
	if err == nil && resp.ContentLength >= 0 && int64(n) < resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		s.m.upstreamErrors.Inc()
		s.finish(f, r.Key, nil, 0)
		obj.Fail(err)
		return
	}
	// Store before closing, so a request that sees the body complete also
	// finds it cached rather than joining a finished flight. A large body
	// is kept as a file copy; the heap copy is then only its streaming
	// readers' (and counts against their budget) until they are done.
	now := s.now()
	fresh := now.Add(s.cfg.SegmentTTL)
	kept, cost := obj, int64(obj.Len())
	if body, _ := obj.Complete(); len(body) > 0 {
		if fobj := s.fileCopy(obj.Meta, body); fobj != nil {
			defer fobj.Release()
			kept, cost = fobj, int64(fobj.Cap())
		}
	}
	s.finish(f, r.Key, &entry{obj: kept, freshUntil: fresh, staleUntil: fresh.Add(s.cfg.StaleFor)}, cost)
	if kept != obj {
		obj.Settled()
	}
	obj.Close()
}

// fillPlaylist reads a playlist whole (they are small), refuses one that
// goes back in media sequence, and hands waiters a complete, pre-gzipped
// object.
func (s *Shield) fillPlaylist(ctx context.Context, f *flight, r Request, resp *Response, ct string) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxPlaylistBytes+1))
	if err == nil && int64(len(body)) > s.cfg.MaxPlaylistBytes {
		err = fmt.Errorf("playlist over %d bytes", s.cfg.MaxPlaylistBytes)
	}
	s.m.bytesIn.Add(float64(len(body)))
	ttl, td := s.cfg.MasterTTL, 0
	if err == nil && r.Kind == segment.KindPlaylist {
		td, err = s.checkPlaylist(r.Key, body)
		if td > 0 {
			ttl = object.PlaylistTTL(td)
		}
		if strings.Contains(r.Query, "_HLS_msn=") {
			// The answer to a blocking request (LL-HLS directives in its
			// key) lists what was asked for and stays a valid answer to
			// it: kept as a pushed one is, so a late joiner asking the
			// same key does not cost the origin a second request.
			ttl = PushedPlaylistTTL
		}
	}
	if err != nil {
		if !errors.Is(err, ErrRegressed) {
			err = fmt.Errorf("%w: %s: %w", ErrUpstream, r.Key, err)
		}
		s.m.upstreamErrors.Inc()
		s.finish(f, r.Key, nil, 0)
		f.publish(nil, err)
		return
	}
	obj := object.NewComplete(object.Meta{Status: http.StatusOK, Kind: r.Kind, ContentType: ct,
		CacheControl: object.CacheControl(r.Kind, td), Gzip: object.Compress(body), Source: resp.Source}, body)
	now := s.now()
	e := &entry{obj: obj, freshUntil: now.Add(ttl), staleUntil: now.Add(ttl + s.cfg.StaleFor)}
	if r.Kind == segment.KindPlaylist && td > 0 && !strings.Contains(r.Query, "_HLS_msn=") {
		// Refreshed ahead: the live playlist. An answer to a blocking
		// request (LL-HLS directives in its key) is final: it lists what
		// was asked for, and a refetch would only cost the origin.
		e.refreshAt = now.Add(ttl / 2)
	}
	s.finish(f, r.Key, e, int64(len(body)+len(obj.Gzip)))
	f.publish(obj, nil)
}

// checkPlaylist parses a media playlist and enforces that its media
// sequence never goes below what this tier already served for the key. It
// returns the target duration (0 for a master playlist).
func (s *Shield) checkPlaylist(key string, body []byte) (int, error) {
	kind, err := segment.Detect(body)
	if err != nil {
		return 0, err
	}
	if kind == segment.PlaylistMaster {
		return 0, nil
	}
	pl, err := segment.ParseMedia(body)
	if err != nil {
		return 0, err
	}
	base, _, _ := strings.Cut(key, "?")
	s.mu.Lock()
	defer s.mu.Unlock()
	if hw, ok := s.seqs[base]; ok && pl.MediaSequence < hw {
		s.m.regressions.Inc()
		return pl.TargetDuration, fmt.Errorf("%w: %s: %d after %d", ErrRegressed, key, pl.MediaSequence, hw)
	}
	if len(s.seqs) > 100_000 {
		clear(s.seqs) // bound memory; losing the marks only loosens the check
	}
	s.seqs[base] = pl.MediaSequence
	return pl.TargetDuration, nil
}
