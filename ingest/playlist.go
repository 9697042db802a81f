package ingest

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"
	"unsafe"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// putPlaylist validates a master or media playlist and publishes it. A
// media playlist must follow the one it replaces (segment.CheckNext) and
// every segment and map it lists must exist or be arriving; a listed file
// whose upload has not started yet is waited for up to ListedGrace. Every
// URI in it must stay inside the event (checkURIs). The body is read into
// memory reserved from the event's budget; the published playlist stays
// accounted until it is replaced or deleted.
func (o *Origin) putPlaylist(ctx context.Context, ev *event, u Upload) (Result, error) {
	data, held, err := o.readBody(ev, u, o.cfg.MaxPlaylistBytes)
	if err != nil {
		return Result{}, err
	}
	res, err := o.validatePlaylist(ctx, ev, u.Path, data, &held)
	o.release(ev, held) // all of it on error; nothing once handed to the event
	return res, err
}

// validatePlaylist checks the playlist read from p and publishes it,
// handing the reservation *held over to the event on success.
func (o *Origin) validatePlaylist(ctx context.Context, ev *event, p string, data []byte, held *int64) (Result, error) {
	kind, err := segment.Detect(data)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	dir := path.Dir(p)
	if dir == "." {
		dir = ""
	}
	if kind == segment.PlaylistMaster {
		return o.publishMaster(ev, p, dir, data, held)
	}
	pl, err := segment.ParseMedia(data)
	if err == nil {
		err = checkURIs(data, dir)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	listed, err := listedPaths(dir, pl)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	ev.mu.Lock()
	prev := ev.playlists[p]
	ev.mu.Unlock()
	if err := ev.checkNext(prev, pl); err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	if err := ev.waitListed(ctx, listed, o.cfg.ListedGrace); err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	if ev.out == nil { // a feed's files reach the shields as the output's
		o.fill(ctx, ev, prev, listed)
	}
	return o.publishMedia(ev, p, prev, pl, listed, data, held)
}

// readBody reads a whole playlist body into memory reserved from ev's
// budget; the caller owns the reservation it returns. A body shorter than
// its declared length is ErrAborted.
func (o *Origin) readBody(ev *event, u Upload, limit int64) ([]byte, int64, error) {
	buf := &growBuf{}
	bw := o.newBudgetWriter(ev, buf, u.Path, limit, u.ContentLength)
	_, err := object.Copy(bw, u.Body)
	if err == nil {
		err = bw.complete()
	}
	if err != nil {
		bw.abandon()
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrStoreFull) || errors.Is(err, ErrAborted) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w after %d bytes of %s: %w", ErrAborted, bw.n, u.Path, err)
	}
	bw.trim()
	return buf.b, bw.handOver(), nil
}

// checkNext validates next and checks that it may follow prev (the
// published playlist, nil for the first one).
func checkNext(prev *playlist, next *segment.MediaPlaylist) error {
	var pm *segment.MediaPlaylist
	if prev != nil {
		pm = prev.media
	}
	return segment.CheckNext(pm, next)
}

// checkNext is checkNext for ev: a feed of a redundant event may also
// start over (a restarted encoder numbers from 0 again and rewrites its
// names): its playlists are Ringside's input, not what players see, and
// the output timeline keeps the players' numbers going.
func (ev *event) checkNext(prev *playlist, next *segment.MediaPlaylist) error {
	err := checkNext(prev, next)
	if err != nil && ev.out != nil && prev != nil && (errors.Is(err, segment.ErrSequenceRegressed) ||
		errors.Is(err, segment.ErrInconsistent) || errors.Is(err, segment.ErrTargetDurationChanged)) {
		if verr := next.Validate(); verr != nil {
			return verr
		}
		return nil // a new run of the encoder
	}
	return err
}

// listedPaths resolves the segment and map URIs of pl inside the event.
func listedPaths(dir string, pl *segment.MediaPlaylist) ([]string, error) {
	seen := make(map[string]bool, len(pl.Segments)+1)
	out := make([]string, 0, len(pl.Segments)+1)
	add := func(uri string) error {
		p, err := segment.ResolveURI(dir, uri)
		if err != nil {
			return err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
		return nil
	}
	for i := range pl.Segments {
		s := &pl.Segments[i]
		if s.Map != nil {
			if err := add(s.Map.URI); err != nil {
				return nil, err
			}
		}
		if err := add(s.URI); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitListed waits until every path has a file entry (complete or pending).
func (ev *event) waitListed(ctx context.Context, paths []string, grace time.Duration) error {
	var timer <-chan time.Time
	for {
		ev.mu.Lock()
		missing := ""
		for _, p := range paths {
			if _, ok := ev.files[p]; !ok {
				missing = p
				break
			}
		}
		changed := ev.changed
		ev.mu.Unlock()
		if missing == "" {
			return nil
		}
		if timer == nil {
			t := time.NewTimer(grace)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
			return fmt.Errorf("lists %s, which was not uploaded within %v", missing, grace)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", missing, ctx.Err())
		}
	}
}

// fill pushes the newly listed files to the shield tier before the playlist
// goes live. Failures are counted by the filler and never block publishing
// beyond the context.
func (o *Origin) fill(ctx context.Context, ev *event, prev *playlist, listed []string) {
	if o.filler == nil {
		return
	}
	old := map[string]bool{}
	if prev != nil {
		for _, p := range prev.listed {
			old[p] = true
		}
	}
	var wg sync.WaitGroup
	for _, p := range listed {
		if old[p] {
			continue
		}
		ev.mu.Lock()
		f := ev.files[p]
		ev.mu.Unlock()
		if f == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.filler.Fill(ctx, ev.id, p, f.obj); err != nil {
				o.log.Debug("push fill failed", "event", ev.id, "path", p, "err", err)
			}
		}()
	}
	wg.Wait()
}

// publishMedia makes pl the live playlist at p, unless another update won
// the race and pl no longer follows it. Files that no playlist lists any
// more leave the live window: they are retired to the evictable cache.
func (o *Origin) publishMedia(ev *event, p string, checked *playlist, pl *segment.MediaPlaylist, listed []string, data []byte, held *int64) (Result, error) {
	gz := object.Compress(data)
	obj := object.NewComplete(object.Meta{
		Status: 200, Kind: segment.KindPlaylist, ContentType: "application/vnd.apple.mpegurl",
		CacheControl: object.CacheControl(segment.KindPlaylist, pl.TargetDuration),
		Gzip:         gz, Source: "ingest",
	}, data)
	next := &playlist{media: pl, obj: obj, listed: listed}
	var retired []retiree
	defer func() { o.retireAll(retired) }() // after ev.mu is released
	var replaced *playlist
	published := false
	defer func() { // after ev.mu is released
		switch {
		case !published:
		case ev.out != nil:
			ev.out.feedPublished(ev, replaced, next)
		default:
			var pm *segment.MediaPlaylist
			if replaced != nil {
				pm = replaced.media
			}
			o.recordPlaylist(ev, p, pm, pl)
		}
	}()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	prev := ev.playlists[p]
	if prev != checked { // another update was published meanwhile
		if err := ev.checkNext(prev, pl); err != nil {
			return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
		}
	}
	if err := o.admitPlaylist(ev, prev, next, playlistCost(data, gz, pl, listed), held); err != nil {
		return Result{}, err
	}
	for _, lp := range listed {
		if f := ev.files[lp]; f != nil {
			f.listed++
			f.ever = true
		}
	}
	if prev != nil {
		o.release(ev, prev.cost)
		retired = o.unlist(ev, prev.listed, retired)
	}
	ev.playlists[p] = next
	retired = o.sweep(ev, retired)
	o.m.published.WithLabelValues("media").Inc()
	defer o.markActive(ev)
	replaced, published = prev, true
	return Result{Kind: segment.KindPlaylist, Bytes: int64(len(data)), Created: prev == nil}, nil
}

// admitPlaylist checks that next may be published in place of prev (nil
// for a new path) and hands it the reservation *held, settled to cost;
// ev.mu held. On error *held is unchanged.
func (o *Origin) admitPlaylist(ev *event, prev, next *playlist, cost int64, held *int64) error {
	if err := o.admit(ev); err != nil {
		return err
	}
	if prev == nil {
		if err := o.roomForFile(ev); err != nil {
			return err
		}
	}
	h := *held
	if err := o.settle(ev, &h, cost); err != nil {
		return err
	}
	next.cost, *held = h, 0
	return nil
}

// playlistCost is what a published playlist keeps in memory: its body and
// gzip copy and, for a media playlist, the parsed form kept to check the
// next update against (a string copy of the body, the segment and tag
// structs) and the listed paths.
func playlistCost(data, gz []byte, pl *segment.MediaPlaylist, listed []string) int64 {
	n := int64(cap(data) + cap(gz))
	if pl == nil {
		return n
	}
	const (
		segSize = int64(unsafe.Sizeof(segment.MediaSegment{}))
		tagSize = int64(unsafe.Sizeof(segment.Tag{}))
		mapSize = int64(unsafe.Sizeof(segment.Map{}))
		strSize = int64(unsafe.Sizeof(""))
	)
	n += int64(len(data)) + int64(cap(pl.Segments))*segSize + int64(cap(pl.Tags)+cap(pl.TrailingTags))*tagSize
	for i := range pl.Segments {
		s := &pl.Segments[i]
		n += int64(cap(s.Tags)) * tagSize
		if s.Map != nil {
			n += mapSize
		}
	}
	for _, p := range listed {
		n += int64(len(p)) + strSize
	}
	return n
}

// publishMaster checks a master playlist (every URI inside the event)
// and publishes it.
func (o *Origin) publishMaster(ev *event, p, dir string, data []byte, held *int64) (Result, error) {
	mp, err := segment.ParseMaster(data)
	if err == nil {
		err = mp.Validate()
	}
	if err == nil {
		err = checkURIs(data, dir)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	gz := object.Compress(data)
	obj := object.NewComplete(object.Meta{
		Status: 200, Kind: segment.KindPlaylist, ContentType: "application/vnd.apple.mpegurl",
		CacheControl: object.CacheControl(segment.KindPlaylist, 2),
		Gzip:         gz, Source: "ingest",
	}, data)
	next := &playlist{obj: obj}
	ev.mu.Lock()
	prev := ev.playlists[p]
	if err := o.admitPlaylist(ev, prev, next, playlistCost(data, gz, nil, nil), held); err != nil {
		ev.mu.Unlock()
		return Result{}, err
	}
	if prev != nil {
		o.release(ev, prev.cost)
	}
	ev.playlists[p] = next
	ev.mu.Unlock()
	o.markActive(ev)
	o.m.published.WithLabelValues("master").Inc()
	return Result{Kind: segment.KindPlaylist, Bytes: int64(len(data)), Created: prev == nil}, nil
}
