package shield

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// run performs the shared upstream fetch of flight f on its own deadline.
func (s *Shield) run(f *flight, r Request) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.FetchTimeout)
	defer cancel()
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
		s.fillStream(ctx, f, r, resp, ct)
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
// answered, then copies the body into it; a body that breaks is resumed
// from the next upstream with a Range request, so waiters see no error.
func (s *Shield) fillStream(ctx context.Context, f *flight, r Request, resp *Response, ct string) {
	obj := object.New(object.Meta{Status: http.StatusOK, Kind: r.Kind, ContentType: ct,
		CacheControl: object.CacheControl(r.Kind, 0), Source: resp.Source}, int(resp.ContentLength))
	f.publish(obj, nil)
	want := resp.ContentLength
	for attempt := 0; ; attempt++ {
		n, err := object.Copy(obj, resp.Body)
		resp.Body.Close()
		s.m.bytesIn.Add(float64(n))
		if err == nil && want >= 0 && int64(obj.Len()) < r.Offset+want {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			break
		}
		if attempt >= s.cfg.Resumes || ctx.Err() != nil {
			s.m.upstreamErrors.Inc()
			s.finish(f, r.Key, nil, 0)
			obj.Fail(err)
			return
		}
		if resp, want, err = s.resume(ctx, r, obj.Len()); err != nil {
			s.m.upstreamErrors.Inc()
			s.finish(f, r.Key, nil, 0)
			obj.Fail(err)
			return
		}
	}
	// Store before closing, so a request that sees the body complete also
	// finds it cached rather than joining a finished flight.
	now := s.now()
	fresh := now.Add(s.cfg.SegmentTTL)
	s.finish(f, r.Key, &entry{obj: obj, freshUntil: fresh, staleUntil: fresh.Add(s.cfg.StaleFor)}, int64(obj.Len()))
	obj.Close()
}

// resume asks the upstream again for the bytes from have on. An upstream
// that ignores Range answers the whole body; the part already held is
// skipped.
func (s *Shield) resume(ctx context.Context, r Request, have int) (*Response, int64, error) {
	s.m.resumes.Inc()
	r.Offset = int64(have)
	resp, err := s.fetch.Fetch(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	if resp.Status != http.StatusOK {
		drain(resp)
		return nil, 0, fmt.Errorf("%w: resuming %s: status %d", ErrUpstream, r.Key, resp.Status)
	}
	if !resp.Partial {
		if _, err := io.CopyN(io.Discard, resp.Body, int64(have)); err != nil {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("%w: resuming %s: %w", ErrUpstream, r.Key, err)
		}
		if resp.ContentLength >= 0 {
			resp.ContentLength -= int64(have)
		}
	}
	r.Offset = 0
	return resp, resp.ContentLength, nil
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
	if r.Kind == segment.KindPlaylist && td > 0 {
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
