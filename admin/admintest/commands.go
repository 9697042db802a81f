package admintest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ringside-live/ringside/control"
)

// appliedAt is when the fake's leader accepts every command.
func appliedAt() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// handlers are the commands the fake applies, by type.
var handlers = map[string]func(d *control.Document, payload json.RawMessage) error{
	control.CmdPutEvent: with(putEvent),
	control.CmdCreateEvent: with(func(d *control.Document, ev control.Event) error {
		if _, ok := d.Events[ev.ID]; ok && ev.ID != "" {
			return fmt.Errorf("%w: event %q", control.ErrExists, ev.ID)
		}
		return putEvent(d, ev)
	}),
	control.CmdDeleteEvent: with(func(d *control.Document, r control.EventRef) error {
		return remove(d.Events, "event", r.ID)
	}),
	control.CmdSetEventState: with(func(d *control.Document, a control.EventStateArgs) error {
		ev, ok := d.Events[a.ID]
		if !ok {
			return notFound("event", a.ID)
		}
		if ev.State != a.State && !ev.State.CanBecome(a.State) {
			return fmt.Errorf("%w: event %s cannot go from %s to %s", control.ErrIllegalTransition, a.ID, ev.State, a.State)
		}
		ev.State = a.State
		d.Events[a.ID] = ev
		return nil
	}),
	control.CmdPutRegion: with(func(d *control.Document, r control.Region) error {
		if len(r.CIDRs) == 0 {
			return invalid("regions["+r.Name+"].cidrs", "at least one")
		}
		d.Regions[r.Name] = r
		return nil
	}),
	control.CmdDeleteRegion: with(func(d *control.Document, r control.RegionRef) error {
		return remove(d.Regions, "region", r.Name)
	}),
	control.CmdPutCDN: with(func(d *control.Document, c control.CDN) error {
		if c.State == "" {
			c.State = control.CDNActive
		}
		d.CDNs[c.ID] = c
		return checkWeight(c)
	}),
	control.CmdSetCDNWeight: with(func(d *control.Document, a control.CDNWeightArgs) error {
		c, ok := d.CDNs[a.ID]
		if !ok {
			return notFound("cdn", a.ID)
		}
		c.Weight = a.Weight
		d.CDNs[a.ID] = c
		return checkWeight(c)
	}),
	control.CmdSetCDNState: with(func(d *control.Document, a control.CDNStateArgs) error {
		c, ok := d.CDNs[a.ID]
		if !ok {
			return notFound("cdn", a.ID)
		}
		c.State = a.State
		d.CDNs[a.ID] = c
		return nil
	}),
	control.CmdDeleteCDN: with(func(d *control.Document, r control.CDNRef) error {
		return remove(d.CDNs, "cdn", r.ID)
	}),
	control.CmdSetNodeDrain: with(func(d *control.Document, a control.NodeDrainArgs) error {
		d.Nodes[a.NodeID] = control.NodeFlags{Drain: a.Drain}
		return nil
	}),
	control.CmdRotateSigningKey: with(func(d *control.Document, a control.RotateKeyArgs) error {
		if len(a.Secret) < 32 {
			return invalid("payload.secret", "at least 32 bytes")
		}
		s, err := d.Signing.Rotated(control.SigningKey{ID: a.ID, Secret: a.Secret}, a.MaxTokenTTL, appliedAt())
		d.Signing = s
		return err
	}),
	control.CmdRevokeTokens: with(func(d *control.Document, r control.EventRef) error {
		ev, ok := d.Events[r.ID]
		if !ok {
			return notFound("event", r.ID)
		}
		ev.TokenGeneration++
		d.Events[r.ID] = ev
		return nil
	}),
}

// with decodes the payload strictly into T and calls f.
func with[T any](f func(d *control.Document, v T) error) func(*control.Document, json.RawMessage) error {
	return func(d *control.Document, payload json.RawMessage) error {
		var v T
		if err := json.Unmarshal(payload, &v); err != nil {
			return invalid("payload", err.Error())
		}
		return f(d, v)
	}
}

func notFound(kind, id string) error { return fmt.Errorf("%w: %s %s", control.ErrNotFound, kind, id) }

func remove[V any](m map[string]V, kind, id string) error {
	if _, ok := m[id]; !ok {
		return notFound(kind, id)
	}
	delete(m, id)
	return nil
}

func checkWeight(c control.CDN) error {
	if c.Weight < 0 || c.Weight > 1000 {
		return invalid("cdns["+c.ID+"].weight", "must be 0..1000")
	}
	return nil
}

func putEvent(d *control.Document, ev control.Event) error {
	if !idRE.MatchString(ev.ID) {
		return invalid("events["+ev.ID+"].id", "must match "+idRE.String())
	}
	if ev.State == "" {
		ev.State = d.Events[ev.ID].State
	}
	if ev.State == "" {
		ev.State = control.StateScheduled
	}
	d.Events[ev.ID] = ev
	return nil
}
