package crowd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/ringside-live/ringside/bench/originsim"
)

// player is one viewer: it joins at joinAt, then follows the live edge of
// one rendition on one base URL. It is used by one goroutine.
type player struct {
	c           *Crowd
	rng         *rand.Rand
	base        *url.URL
	playlistURL *url.URL
	joinAt      time.Duration
	buf         []byte // read buffer, reused for every request
	last        int64  // media sequence of the newest segment fetched
}

func newPlayer(c *Crowd, i int) *player {
	rng := rand.New(rand.NewPCG(c.cfg.Seed, uint64(i)))
	base, _ := url.Parse(c.cfg.Bases[i%len(c.cfg.Bases)]) // checked by Validate
	rendition := c.cfg.Renditions[rng.IntN(len(c.cfg.Renditions))]
	return &player{
		c:           c,
		rng:         rng,
		base:        base,
		playlistURL: base.JoinPath(rendition, "index.m3u8"),
		joinAt:      time.Duration(rng.Int64N(int64(c.cfg.JoinWindow) + 1)),
		buf:         make([]byte, 32<<10),
		last:        -1,
	}
}

func (p *player) run(ctx context.Context) {
	if !sleep(ctx, p.joinAt) {
		return
	}
	p.c.joined.Add(1)
	var pl *mediaPlaylist
	loaded := time.Now()
	for pl == nil {
		var ok bool
		loaded = time.Now()
		if pl, ok = p.loadPlaylist(ctx); !ok && !sleep(ctx, 500*time.Millisecond) {
			return
		}
	}
	k := min(p.c.cfg.JoinSegments, len(pl.uris))
	for _, uri := range pl.uris[len(pl.uris)-k:] {
		if ctx.Err() != nil {
			return
		}
		p.segment(ctx, uri, &p.c.join)
	}
	p.last = pl.lastSeq()
	p.follow(ctx, pl.targetDuration, loaded)
}

// follow reloads the playlist every target duration (half of it after a
// reload that brought nothing new, as the HLS spec asks), with ±10%
// jitter, and fetches each new segment once.
func (p *player) follow(ctx context.Context, td time.Duration, loaded time.Time) {
	changed := true
	for {
		wait := td
		if !changed {
			wait /= 2
		}
		wait = time.Duration(float64(wait) * (0.9 + 0.2*p.rng.Float64()))
		if !sleep(ctx, time.Until(loaded.Add(wait))) {
			return
		}
		loaded = time.Now()
		pl, ok := p.loadPlaylist(ctx)
		if !ok {
			changed = false
			continue
		}
		td = pl.targetDuration
		changed = pl.lastSeq() > p.last
		if gap := pl.firstSeq - p.last - 1; gap > 0 {
			p.c.skipped.Add(gap)
		}
		for i, uri := range pl.uris {
			seq := pl.firstSeq + int64(i)
			if seq <= p.last {
				continue
			}
			if ctx.Err() != nil {
				return
			}
			p.segment(ctx, uri, &p.c.live)
			p.last = seq
		}
	}
}

// loadPlaylist fetches and parses the media playlist.
func (p *player) loadPlaylist(ctx context.Context) (*mediaPlaylist, bool) {
	if !p.c.take() {
		return nil, false
	}
	resp, err := p.c.fetch(ctx, p.playlistURL.String(), nil, p.buf)
	if err != nil {
		p.fail(ctx, &p.c.playlists, "playlist", err)
		return nil, false
	}
	pl, err := parseMedia(resp.body)
	if err != nil {
		p.fail(ctx, &p.c.playlists, "playlist", err)
		return nil, false
	}
	p.c.playlists.add(resp.ttfb)
	return pl, true
}

// segment fetches and verifies the segment at uri, relative to the
// playlist, recording its time to first byte in rec.
func (p *player) segment(ctx context.Context, uri string, rec *recorder) {
	ref, err := url.Parse(uri)
	if err != nil {
		p.fail(ctx, rec, "segment", err)
		return
	}
	u := p.playlistURL.ResolveReference(ref)
	// The body is keyed by the path relative to the event root.
	rel := strings.TrimPrefix(u.Path, p.base.Path)
	if !p.c.take() {
		return
	}
	v := originsim.NewVerifier(rel)
	resp, err := p.c.fetch(ctx, u.String(), v, p.buf)
	if err != nil {
		p.fail(ctx, rec, "segment", err)
		return
	}
	rec.add(resp.ttfb)
	if !resp.verified {
		p.c.mismatch.Add(1)
		p.c.noteError(fmt.Sprintf("segment %s: body mismatch after %d bytes", rel, v.Written()))
	}
}

// fail counts a failed request, unless the run is over and cut it short.
func (p *player) fail(ctx context.Context, rec *recorder, what string, err error) {
	if ctx.Err() != nil {
		p.c.cancelled.Add(1)
		return
	}
	rec.addError()
	p.c.noteError(fmt.Sprintf("%s: %v", what, err))
}

// sleep waits d or until ctx ends, reporting whether ctx is still live.
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
