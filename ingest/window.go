package ingest

import (
	"time"

	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

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
			o.release(ev, f.size)
			out = append(out, retiree{ev.id + "/" + lp, f.obj})
		}
	}
	return out
}

// sweepEvery is how often an upload lets the sweeper run over its event
// (publishing a media playlist always does).
func (o *Origin) sweepEvery() time.Duration { return o.cfg.OrphanTTL / 8 }

// maybeSweep sweeps ev when it was not swept for a while, so files nobody
// lists go even when the encoder sends no playlist at all.
func (o *Origin) maybeSweep(ev *event) {
	now := o.now()
	ev.mu.Lock()
	if now.Sub(ev.swept) < o.sweepEvery() {
		ev.mu.Unlock()
		return
	}
	retired := o.sweep(ev, nil)
	ev.mu.Unlock()
	o.retireAll(retired)
}

// sweep retires files that left the window while still arriving and,
// once they are older than OrphanTTL, drops the files no playlist ever
// listed: segments and init segments (an encoder that crashed between
// segment and playlist, or one that uploads what it never lists) and
// manifests other than the newest (a manifest is the root of its
// presentation, nothing lists it; the newest one is the live one). ev.mu
// held.
func (o *Origin) sweep(ev *event, out []retiree) []retiree {
	now := o.now()
	ev.swept = now
	cutoff := now.Add(-o.cfg.OrphanTTL)
	newest := ""
	for p, f := range ev.files {
		if f.kind == segment.KindManifest && !f.done.IsZero() &&
			(newest == "" || f.done.After(ev.files[newest].done) || f.done.Equal(ev.files[newest].done) && p > newest) {
			newest = p
		}
	}
	for p, f := range ev.files {
		if f.listed > 0 || f.done.IsZero() {
			continue
		}
		switch {
		case f.ever:
			delete(ev.files, p)
			o.release(ev, f.size)
			out = append(out, retiree{ev.id + "/" + p, f.obj})
		case !f.done.Before(cutoff):
		case f.kind == segment.KindSegment, f.kind == segment.KindInit, f.kind == segment.KindManifest && p != newest:
			delete(ev.files, p)
			o.release(ev, f.size)
		}
	}
	return out
}
