package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

// A pulled feed (FeedConfig.PullURL): the ingest node polls the feed's
// HLS origin (a third-party packager, a contribution encoder's own HTTP
// server) and takes what it publishes as if it had been pushed: the
// master playlist at {pull_url}/master.m3u8 (or a single media playlist
// at {pull_url}/index.m3u8), each media playlist every half target
// duration, each new segment and init segment once. Uploads go through
// the same validation, budget and window as pushes, so the output, the
// failover and the DVR are the same for pushed and pulled feeds. Every
// ingest node pulls; the timeline takes each segment once (a second
// append of the same feed segment is a duplicate that answers the same
// number), so the nodes publish one timeline.

// Pull timing and bounds.
const (
	pullMasterEvery = 30 * time.Second
	pullMinEvery    = 250 * time.Millisecond
	pullTimeout     = 10 * time.Second
	pullMaxVariants = 32
)

// puller polls one feed of an output.
type puller struct {
	o      *Origin
	out    *output
	feed   string
	base   string // the pull URL, ending in "/"
	client *http.Client
	media  []string  // event-relative media playlist paths
	master time.Time // when the master was last read
}

// startPullers starts a puller for each pulled feed of out (o.mu held);
// the output's context stops them.
func (o *Origin) startPullers(ctx context.Context, out *output, cfg outputConfig) {
	if o.pullClient == nil {
		return
	}
	for _, f := range cfg.Feeds {
		if f.PullURL == "" {
			continue
		}
		p := &puller{o: o, out: out, feed: f.Name, base: strings.TrimSuffix(f.PullURL, "/") + "/", client: o.pullClient}
		o.wg.Go(func() { p.run(ctx) })
	}
}

func (p *puller) run(ctx context.Context) {
	every := time.Second
	for ctx.Err() == nil {
		td, err := p.poll(ctx)
		if err != nil && ctx.Err() == nil {
			p.o.log.Warn("pulling a feed", "event", p.out.id, "feed", p.feed, "err", err)
			p.out.feedHealth(p.feed).rejected.Add(1)
		}
		if td > 0 {
			every = max(td/2, pullMinEvery)
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

// poll reads the master when due and each media playlist once, taking
// new segments; it returns the target duration seen.
func (p *puller) poll(ctx context.Context) (time.Duration, error) {
	fev := p.feedEvent()
	if fev == nil {
		return 0, nil
	}
	if p.media == nil || p.o.now().Sub(p.master) > pullMasterEvery {
		if err := p.readMaster(ctx, fev); err != nil {
			return 0, err
		}
	}
	var td time.Duration
	for _, mp := range p.media {
		d, err := p.readMedia(ctx, fev, mp)
		if err != nil {
			return td, err
		}
		td = max(td, d)
	}
	return td, nil
}

func (p *puller) feedEvent() *event {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.feeds[p.feed]
}

func (p *puller) get(ctx context.Context, rel string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+rel, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s: status %d", rel, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, rel, limit)
	}
	return b, nil
}

// readMaster learns the media playlists: the master's variants and
// renditions, or index.m3u8 alone.
func (p *puller) readMaster(ctx context.Context, fev *event) error {
	b, err := p.get(ctx, "master.m3u8", p.o.cfg.MaxPlaylistBytes)
	if err != nil { // no master: a single media playlist
		p.media, p.master = []string{"index.m3u8"}, p.o.now()
		return nil
	}
	mp, err := segment.ParseMaster(b)
	if err != nil {
		return fmt.Errorf("%w: master.m3u8: %w", ErrInvalidPlaylist, err)
	}
	var media []string
	add := func(uri string) {
		if uri == "" || len(media) >= pullMaxVariants {
			return
		}
		if rp, err := segment.ResolveURI("", uri); err == nil && !containsStr(media, rp) {
			media = append(media, rp)
		}
	}
	for _, v := range mp.Variants {
		add(v.URI)
	}
	for _, r := range mp.Media {
		add(r.URI)
	}
	if _, err := p.o.putPlaylist(ctx, fev, Upload{Path: "master.m3u8", Body: bytes.NewReader(b), ContentLength: int64(len(b))}); err != nil {
		return err
	}
	p.media, p.master = media, p.o.now()
	return nil
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// readMedia takes the new segments (and init segments) of one media
// playlist, then the playlist itself.
func (p *puller) readMedia(ctx context.Context, fev *event, mp string) (time.Duration, error) {
	b, err := p.get(ctx, mp, p.o.cfg.MaxPlaylistBytes)
	if err != nil {
		return 0, err
	}
	pl, err := segment.ParseMedia(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, mp, err)
	}
	dir := ""
	if i := strings.LastIndexByte(mp, '/'); i >= 0 {
		dir = mp[:i]
	}
	paths, err := listedPaths(dir, pl)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, mp, err)
	}
	for _, fp := range paths {
		if fev.fileObj(fp) != nil {
			continue
		}
		kind, ct, err := segment.CheckPath(fp)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrBadPath, err)
		}
		// Event-relative is pull-relative: the pull URL is the feed's root.
		body, err := p.get(ctx, fp, p.o.cfg.MaxBodyBytes)
		if err != nil {
			return 0, err
		}
		if _, err := p.o.putFile(fev, Upload{Path: fp, Body: bytes.NewReader(body), ContentLength: int64(len(body))}, kind, ct); err != nil {
			return 0, err
		}
	}
	if _, err := p.o.putPlaylist(ctx, fev, Upload{Path: mp, Body: bytes.NewReader(b), ContentLength: int64(len(b))}); err != nil {
		return 0, err
	}
	p.o.markActive(fev)
	return time.Duration(pl.TargetDuration) * time.Second, nil
}
