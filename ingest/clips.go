package ingest

import (
	"fmt"
	"time"
)

// Clip is a named range of an event kept out of the DVR's eviction and
// published as VOD playlists.
type Clip struct {
	Name string    `json:"name"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// maxClipLength bounds one clip.
const maxClipLength = 24 * time.Hour

// AddClip pins [from, to] of event id under name: its segments are kept
// whatever the DVR window, and X.clip-NAME.m3u8 serves them as VOD.
func (o *Origin) AddClip(id, name string, from, to time.Time) error {
	if o.dvr == nil {
		return ErrNoDVR
	}
	if _, ok := o.dvrSettings(id); !ok {
		return fmt.Errorf("%w: event %q keeps no DVR window here", ErrNoDVR, id)
	}
	switch {
	case !clipNameRE.MatchString(name) || name == vodClip:
		return fmt.Errorf("%w: name %q must match %s and not be %q", ErrBadClip, name, clipNameRE, vodClip)
	case from.IsZero() || to.IsZero() || !to.After(from):
		return fmt.Errorf("%w: from and to are required, to after from", ErrBadClip)
	case to.Sub(from) > maxClipLength:
		return fmt.Errorf("%w: at most %v long", ErrBadClip, maxClipLength)
	}
	found := false
	for _, r := range o.dvr.store.Renditions(id) {
		if len(o.dvr.store.Entries(id, r, from, to)) > 0 {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: no kept segment between %s and %s", ErrBadClip, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if err := o.dvr.store.Pin(id, name, from, to); err != nil {
		return fmt.Errorf("%w: %w", ErrBadClip, err)
	}
	return nil
}

// Clips lists event id's clips.
func (o *Origin) Clips(id string) []Clip {
	if o.dvr == nil {
		return nil
	}
	var out []Clip
	for _, p := range o.dvr.store.Pins(id) {
		if p.Name != vodClip {
			out = append(out, Clip{Name: p.Name, From: p.From, To: p.To})
		}
	}
	return out
}

// DeleteClip removes a clip: its segments become evictable again.
func (o *Origin) DeleteClip(id, name string) error {
	if o.dvr == nil {
		return ErrNoDVR
	}
	if err := o.dvr.store.Unpin(id, name); err != nil {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return nil
}
