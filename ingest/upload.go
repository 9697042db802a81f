package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// Upload is one PUT from an encoder.
type Upload struct {
	Event string
	Path  string // inside the event: "0/index3.ts"
	Token string // bearer token presented
	Body  io.Reader
	// ContentLength is the declared length, or -1 (ffmpeg sends chunked).
	ContentLength int64
}

// Result says what an accepted upload did.
type Result struct {
	Kind    segment.FileKind
	Bytes   int64
	Created bool // false: it replaced an existing file or playlist
}

// Put takes one upload. On any error nothing of the upload is kept and what
// was published before stays served. Errors wrap the package sentinels.
func (o *Origin) Put(ctx context.Context, u Upload) (res Result, err error) {
	defer func() {
		if err != nil {
			o.m.rejected.WithLabelValues(reasonOf(err)).Inc()
			o.log.Warn("upload rejected", "event", u.Event, "path", u.Path, "err", err)
		}
	}()
	kind, ct, err := segment.CheckPath(u.Path)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrBadPath, err)
	}
	ev, err := o.authorize(u.Event, u.Token)
	if err != nil {
		return Result{}, err
	}
	if ev.out != nil {
		defer func() {
			if err != nil {
				ev.out.feedHealth(ev.feed).rejected.Add(1)
			}
		}()
		if kind == segment.KindManifest {
			return Result{}, fmt.Errorf("%w: %s: an event with feeds takes HLS pushes only", ErrBadPath, u.Path)
		}
	}
	o.maybeSweep(ev)
	if k, _, _ := dvrKind(u.Path); k != "" {
		return Result{}, fmt.Errorf("%w: %s is a name Ringside writes for the DVR (*.dvr.m3u8, *.startover.m3u8, *.clip-NAME.m3u8)", ErrBadPath, u.Path)
	}
	if ev.dashState().reservedLL(u.Path) {
		return Result{}, fmt.Errorf("%w: %s is a name Ringside writes in a low-latency event (ll.m3u8, ll-*)", ErrBadPath, u.Path)
	}
	limit := o.cfg.MaxBodyBytes
	if kind == segment.KindPlaylist || kind == segment.KindManifest {
		limit = o.cfg.MaxPlaylistBytes
	}
	if u.ContentLength > limit {
		return Result{}, fmt.Errorf("%w: declared %d bytes, limit %d", ErrTooLarge, u.ContentLength, limit)
	}
	switch kind {
	case segment.KindPlaylist:
		res, err = o.putPlaylist(ctx, ev, u)
	case segment.KindManifest:
		res, err = o.putMPD(ev, u)
	default:
		res, err = o.putFile(ev, u, kind, ct)
	}
	if err == nil {
		o.m.uploads.WithLabelValues(kind.String()).Inc()
		o.m.bytes.Add(float64(res.Bytes))
	}
	return res, err
}

// putFile stores a segment, init segment or manifest. A new file is visible
// as pending from the first byte; a replacement becomes visible only once
// complete, so readers never see a half-written replacement. A body that
// ends before its declared length is an abort: nothing of it is kept.
func (o *Origin) putFile(ev *event, u Upload, kind segment.FileKind, ct string) (Result, error) {
	meta := object.Meta{Status: 200, Kind: kind, ContentType: ct, CacheControl: object.CacheControl(kind, 0), Source: "ingest"}
	if kind == segment.KindManifest {
		meta.CacheControl = object.CacheControl(kind, 2)
	}
	obj := object.New(meta, 0) // the budget writer sizes it as bytes arrive
	nf := &file{obj: obj, kind: kind}
	ev.mu.Lock()
	cur := ev.files[u.Path]
	replacing := cur != nil
	err := o.admit(ev)
	if err == nil && replacing && !cur.obj.Done() {
		err = fmt.Errorf("%w: %s", ErrConflict, u.Path)
	}
	if err == nil && !replacing {
		err = o.roomForFile(ev)
	}
	if err != nil {
		ev.mu.Unlock()
		return Result{}, err
	}
	if !replacing {
		ev.files[u.Path] = nf
		ev.notify()
	}
	d := ev.dash
	ev.mu.Unlock()
	o.markActive(ev) // readable from its first byte: this node now originates the event
	if d != nil && !replacing && kind == segment.KindSegment {
		d.segmentStarted(u.Path, obj)
	}

	bw := o.newBudgetWriter(ev, obj, u.Path, o.cfg.MaxBodyBytes, u.ContentLength)
	_, err = object.Copy(bw, u.Body)
	if err == nil {
		err = bw.complete()
	}
	if err != nil {
		o.dropUpload(ev, u.Path, nf, bw, err)
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrStoreFull) || errors.Is(err, ErrAborted) {
			return Result{}, err
		}
		return Result{}, fmt.Errorf("%w after %d bytes of %s: %w", ErrAborted, bw.n, u.Path, err)
	}
	bw.trim()
	ev.mu.Lock()
	if err := o.admit(ev); err != nil {
		ev.mu.Unlock()
		o.dropUpload(ev, u.Path, nf, bw, err)
		return Result{}, err
	}
	obj.Close()
	nf.size, nf.done = bw.handOver(), o.now()
	if replacing {
		if old := ev.files[u.Path]; old != nil {
			nf.listed, nf.ever = old.listed, old.ever
			o.release(ev, old.size)
		}
		ev.files[u.Path] = nf
		ev.notify()
	}
	ev.mu.Unlock()
	return Result{Kind: kind, Bytes: bw.n, Created: !replacing}, nil
}

// dropUpload discards a failed upload: its readers get the error, its
// reservation goes back, and a new file's pending entry is removed.
func (o *Origin) dropUpload(ev *event, p string, nf *file, bw *budgetWriter, err error) {
	nf.obj.Fail(err)
	bw.abandon()
	ev.mu.Lock()
	if f := ev.files[p]; f == nf {
		delete(ev.files, p)
	}
	ev.mu.Unlock()
}

// admit fails when the event was removed since the upload was authorized;
// ev.mu held.
func (o *Origin) admit(ev *event) error {
	if ev.removed {
		return fmt.Errorf("%w: %q was removed during the upload", ErrNoEvent, ev.id)
	}
	return nil
}

// roomForFile fails when the event already holds MaxEventFiles files and
// playlists; ev.mu held.
func (o *Origin) roomForFile(ev *event) error {
	if n, limit := len(ev.files)+len(ev.playlists), o.cfg.maxEventFiles(); n >= limit {
		return fmt.Errorf("%w: event %q holds %d files, the most it may", ErrStoreFull, ev.id, limit)
	}
	return nil
}

// Delete removes a file or playlist that the encoder no longer wants
// served (ffmpeg's delete_segments). It returns ErrNotFound when there was
// nothing to remove.
func (o *Origin) Delete(id, path, token string) (err error) {
	defer func() {
		if err != nil && !errors.Is(err, ErrNotFound) {
			o.m.rejected.WithLabelValues(reasonOf(err)).Inc()
		}
	}()
	if _, _, err := segment.CheckPath(path); err != nil {
		return fmt.Errorf("%w: %w", ErrBadPath, err)
	}
	ev, err := o.authorize(id, token)
	if err != nil {
		return err
	}
	found := false
	var retired []retiree
	ev.mu.Lock()
	if p, ok := ev.playlists[path]; ok {
		delete(ev.playlists, path)
		o.release(ev, p.cost)
		retired = o.unlist(ev, p.listed, retired)
		found = true
	}
	if f, ok := ev.files[path]; ok && f.obj.Done() {
		if f.listed > 0 {
			// Still listed (a playlist Ringside writes, or one the encoder
			// has not replaced yet): it goes when it leaves the window.
			f.ever = true
		} else {
			delete(ev.files, path)
			o.release(ev, f.size)
		}
		found = true
	}
	ev.mu.Unlock()
	o.retireAll(retired)
	if o.store.dropRetired(ev.id + "/" + path) {
		found = true
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	o.m.deletes.Inc()
	return nil
}
