package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"
	"time"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// putPlaylist validates a master or media playlist and publishes it. A
// media playlist must follow the one it replaces (segment.CheckNext) and
// every segment and map it lists must exist or be arriving; a listed file
// whose upload has not started yet is waited for up to ListedGrace.
func (o *Origin) putPlaylist(ctx context.Context, ev *event, u Upload) (Result, error) {
	data, err := readLimited(u.Body, o.cfg.MaxPlaylistBytes)
	if err != nil {
		return Result{}, err
	}
	kind, err := segment.Detect(data)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, u.Path, err)
	}
	dir := path.Dir(u.Path)
	if dir == "." {
		dir = ""
	}
	if kind == segment.PlaylistMaster {
		return o.publishMaster(ev, u.Path, dir, data)
	}
	pl, err := segment.ParseMedia(data)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, u.Path, err)
	}
	listed, err := listedPaths(dir, pl)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, u.Path, err)
	}
	ev.mu.Lock()
	prev := ev.playlists[u.Path]
	ev.mu.Unlock()
	if err := checkNext(prev, pl); err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, u.Path, err)
	}
	if err := ev.waitListed(ctx, listed, o.cfg.ListedGrace); err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, u.Path, err)
	}
	o.fill(ctx, ev, prev, listed)
	return o.publishMedia(ev, u.Path, prev, pl, listed, data)
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
func (o *Origin) publishMedia(ev *event, p string, checked *playlist, pl *segment.MediaPlaylist, listed []string, data []byte) (Result, error) {
	obj := object.NewComplete(object.Meta{
		Status: 200, Kind: segment.KindPlaylist, ContentType: "application/vnd.apple.mpegurl",
		CacheControl: object.CacheControl(segment.KindPlaylist, pl.TargetDuration),
		Gzip:         object.Compress(data), Source: "ingest",
	}, data)
	var retired []retiree
	defer func() { o.retireAll(retired) }() // after ev.mu is released
	ev.mu.Lock()
	defer ev.mu.Unlock()
	prev := ev.playlists[p]
	if prev != checked { // another update was published meanwhile
		if err := checkNext(prev, pl); err != nil {
			return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
		}
	}
	for _, lp := range listed {
		if f := ev.files[lp]; f != nil {
			f.listed++
			f.ever = true
		}
	}
	if prev != nil {
		retired = o.unlist(ev, prev.listed, retired)
	}
	ev.playlists[p] = &playlist{media: pl, obj: obj, listed: listed}
	retired = o.sweepOrphans(ev, retired)
	o.m.published.WithLabelValues("media").Inc()
	defer o.markActive(ev)
	return Result{Kind: segment.KindPlaylist, Bytes: int64(len(data)), Created: prev == nil}, nil
}

// retiree is a file that left the live window, to be moved to the retired
// cache once the event lock is released.
type retiree struct {
	key string
	obj *object.Object
}

func (o *Origin) retireAll(rs []retiree) {
	for _, r := range rs {
		o.store.retire(r.key, r.obj)
	}
}

// unlist drops one listing from each path and appends the files that left
// the window to out; ev.mu held.
func (o *Origin) unlist(ev *event, paths []string, out []retiree) []retiree {
	for _, lp := range paths {
		f := ev.files[lp]
		if f == nil {
			continue
		}
		f.listed--
		if f.listed <= 0 && !f.done.IsZero() {
			delete(ev.files, lp)
			o.store.release(f.size)
			out = append(out, retiree{ev.id + "/" + lp, f.obj})
		}
	}
	return out
}

// sweepOrphans retires files that left the window while still arriving,
// and drops complete segments that no playlist ever listed once they are
// older than OrphanTTL; ev.mu held.
func (o *Origin) sweepOrphans(ev *event, out []retiree) []retiree {
	cutoff := o.now().Add(-o.cfg.OrphanTTL)
	for p, f := range ev.files {
		if f.listed > 0 || f.done.IsZero() {
			continue
		}
		switch {
		case f.ever:
			delete(ev.files, p)
			o.store.release(f.size)
			out = append(out, retiree{ev.id + "/" + p, f.obj})
		case f.kind == segment.KindSegment && f.done.Before(cutoff):
			delete(ev.files, p)
			o.store.release(f.size)
		}
	}
	return out
}

func (o *Origin) publishMaster(ev *event, p, dir string, data []byte) (Result, error) {
	mp, err := segment.ParseMaster(data)
	if err == nil {
		err = mp.Validate()
	}
	if err == nil {
		for _, v := range mp.Variants {
			if _, rerr := segment.ResolveURI(dir, v.URI); rerr != nil {
				err = errors.Join(err, fmt.Errorf("variant %q: %w", v.URI, rerr))
			}
		}
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrInvalidPlaylist, p, err)
	}
	obj := object.NewComplete(object.Meta{
		Status: 200, Kind: segment.KindPlaylist, ContentType: "application/vnd.apple.mpegurl",
		CacheControl: object.CacheControl(segment.KindPlaylist, 2),
		Gzip:         object.Compress(data), Source: "ingest",
	}, data)
	ev.mu.Lock()
	_, existed := ev.playlists[p]
	ev.playlists[p] = &playlist{obj: obj}
	ev.mu.Unlock()
	o.markActive(ev)
	o.m.published.WithLabelValues("master").Inc()
	return Result{Kind: segment.KindPlaylist, Bytes: int64(len(data)), Created: !existed}, nil
}

// readLimited reads a whole body of at most limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w after %d bytes: %w", ErrAborted, len(data), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: playlist over %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}
