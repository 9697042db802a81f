package control

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The command functions of the dispatch table. Each one changes d, a private
// copy of the current document, replacing map values whole. The FSM then
// validates the whole document; a function checks only what validation of
// the result cannot see (existence, transitions, history). d.UpdatedAt is
// already the time the leader accepted the command: the one clock a
// command may read (every replica reads the same).

func putEvent(d *Document, ev Event) (string, error) {
	if ev.ID == "" {
		return "", invalid("events[].id", "required")
	}
	ev = ev.normalized()
	old, exists := d.Events[ev.ID]
	switch {
	case ev.State == "" && exists:
		ev.State = old.State
	case ev.State == "":
		ev.State = StateScheduled
	case exists && ev.State != old.State && !old.State.CanBecome(ev.State):
		return "", transitionErr(ev.ID, old.State, ev.State)
	}
	if exists {
		// A replacement built from an older read must not bring revoked
		// tokens back.
		ev.TokenGeneration = max(ev.TokenGeneration, old.TokenGeneration)
	}
	if ev.Feeds != nil {
		// Which feed is active is set_active_feed's: a replacement keeps it.
		fs := *ev.Feeds
		fs.Active, fs.LastSwitch = FeedPrimary, nil
		if exists && old.Feeds != nil {
			fs.Active, fs.LastSwitch = old.Feeds.ActiveFeed(), old.Feeds.LastSwitch
		}
		ev.Feeds = &fs
	}
	d.Events[ev.ID] = ev
	if exists {
		return fmt.Sprintf("replaced event %s (%s)", ev.ID, ev.State), nil
	}
	return fmt.Sprintf("created event %s (%s)", ev.ID, ev.State), nil
}

// createEvent is putEvent for an id that does not exist yet.
func createEvent(d *Document, ev Event) (string, error) {
	if _, exists := d.Events[ev.ID]; exists && ev.ID != "" {
		return "", fmt.Errorf("%w: event %q", ErrExists, ev.ID)
	}
	return putEvent(d, ev)
}

// deleteEvent refuses a live event: end it first, so one mistyped request
// cannot take a show off the air.
func deleteEvent(d *Document, a EventRef) (string, error) {
	ev, ok := d.Events[a.ID]
	if !ok {
		return "", notFound("event", a.ID)
	}
	if ev.State == StateLive {
		return "", fmt.Errorf("%w: events[%s] is live; end it before deleting it", ErrIllegalTransition, a.ID)
	}
	delete(d.Events, a.ID)
	return "deleted event " + a.ID, nil
}

func setEventState(d *Document, a EventStateArgs) (string, error) {
	ev, ok := d.Events[a.ID]
	if !ok {
		return "", notFound("event", a.ID)
	}
	if !a.State.valid() {
		return "", invalid("payload.state", "%q is not one of scheduled, rehearsal, live, ended", a.State)
	}
	if !ev.State.CanBecome(a.State) {
		return "", transitionErr(a.ID, ev.State, a.State)
	}
	from := ev.State
	ev.State = a.State
	d.Events[a.ID] = ev
	return fmt.Sprintf("event %s: %s -> %s", a.ID, from, a.State), nil
}

func transitionErr(id string, from, to EventState) error {
	if from == to {
		return fmt.Errorf("%w: events[%s].state is already %s", ErrIllegalTransition, id, to)
	}
	return fmt.Errorf("%w: events[%s].state: %s -> %s", ErrIllegalTransition, id, from, to)
}

func notFound(kind, id string) error {
	return fmt.Errorf("%w: %s %q", ErrNotFound, kind, id)
}

func putRegion(d *Document, r Region) (string, error) {
	if r.Name == "" {
		return "", invalid("regions[].name", "required")
	}
	_, exists := d.Regions[r.Name]
	d.Regions[r.Name] = r.normalized()
	return fmt.Sprintf("%s region %s (%d prefixes)", verb(exists), r.Name, len(r.CIDRs)), nil
}

func deleteRegion(d *Document, a RegionRef) (string, error) {
	if _, ok := d.Regions[a.Name]; !ok {
		return "", notFound("region", a.Name)
	}
	var users []string
	for _, id := range slices.Sorted(maps.Keys(d.Events)) {
		ev := d.Events[id]
		if slices.Contains(ev.AllowedRegions, a.Name) || slices.Contains(ev.BlackoutRegions, a.Name) {
			users = append(users, id)
		}
	}
	if len(users) > 0 {
		return "", invalid("regions["+a.Name+"]", "in use by events %s", strings.Join(users, ", "))
	}
	delete(d.Regions, a.Name)
	return "deleted region " + a.Name, nil
}

func putCDN(d *Document, c CDN) (string, error) {
	if c.ID == "" {
		return "", invalid("cdns[].id", "required")
	}
	if c.State == "" {
		c.State = CDNActive
	}
	_, exists := d.CDNs[c.ID]
	d.CDNs[c.ID] = c
	return fmt.Sprintf("%s cdn %s (weight %d, %s)", verb(exists), c.ID, c.Weight, c.State), nil
}

func setCDNWeight(d *Document, a CDNWeightArgs) (string, error) {
	c, ok := d.CDNs[a.ID]
	if !ok {
		return "", notFound("cdn", a.ID)
	}
	from := c.Weight
	c.Weight = a.Weight
	d.CDNs[a.ID] = c
	return fmt.Sprintf("cdn %s weight %d -> %d", a.ID, from, a.Weight), nil
}

func setCDNState(d *Document, a CDNStateArgs) (string, error) {
	c, ok := d.CDNs[a.ID]
	if !ok {
		return "", notFound("cdn", a.ID)
	}
	from := c.State
	c.State = a.State
	d.CDNs[a.ID] = c
	return fmt.Sprintf("cdn %s: %s -> %s", a.ID, from, a.State), nil
}

func deleteCDN(d *Document, a CDNRef) (string, error) {
	if _, ok := d.CDNs[a.ID]; !ok {
		return "", notFound("cdn", a.ID)
	}
	delete(d.CDNs, a.ID)
	return "deleted cdn " + a.ID, nil
}

// setNodeDrain keeps only nodes with a flag set, so undraining removes the
// entry.
func setNodeDrain(d *Document, a NodeDrainArgs) (string, error) {
	if !validNodeID(a.NodeID) {
		return "", invalid("payload.node_id", "node id must be 1 to 128 printable characters without spaces")
	}
	if a.Drain {
		d.Nodes[a.NodeID] = NodeFlags{Drain: true}
		return "drain node " + a.NodeID, nil
	}
	delete(d.Nodes, a.NodeID)
	return "undrain node " + a.NodeID, nil
}

// revokeTokens raises the event's token generation: every token issued
// for it before is refused by the edges from the moment they apply this
// version.
func revokeTokens(d *Document, a EventRef) (string, error) {
	ev, ok := d.Events[a.ID]
	if !ok {
		return "", notFound("event", a.ID)
	}
	ev.TokenGeneration++
	d.Events[a.ID] = ev
	return fmt.Sprintf("event %s: tokens before generation %d revoked", a.ID, ev.TokenGeneration), nil
}

func rotateSigningKey(d *Document, a RotateKeyArgs) (string, error) {
	from := d.Signing.Current
	s, err := d.Signing.Rotated(SigningKey{ID: a.ID, Secret: a.Secret}, a.MaxTokenTTL, d.UpdatedAt)
	if err != nil {
		return "", err
	}
	d.Signing = s
	if from == nil {
		return "signing key " + a.ID, nil
	}
	return fmt.Sprintf("signing key %s -> %s (%s valid until %s)", from.ID, a.ID, from.ID,
		s.Previous.ValidUntil.Format(time.RFC3339)), nil
}

// dropPreviousKey drops every retired key at once (a key that leaked):
// the tokens they signed stop working.
func dropPreviousKey(d *Document, _ struct{}) (string, error) {
	retired := d.Signing.Retired()
	if len(retired) == 0 {
		return "", fmt.Errorf("%w: no previous signing key", ErrNotFound)
	}
	ids := make([]string, len(retired))
	for i, k := range retired {
		ids[i] = k.ID
	}
	d.Signing = d.Signing.withRetired(nil)
	return "dropped signing keys " + strings.Join(ids, ", "), nil
}

// seed installs a whole document, only on an empty one: each node offers its
// static configuration at bootstrap and the first one wins.
func seed(d *Document, s Document) (string, error) {
	if d.Version != 0 {
		return "", fmt.Errorf("%w: seed needs an empty document, this one is at version %d", ErrConflict, d.Version)
	}
	s.normalize()
	for id, ev := range s.Events {
		if ev.State == "" {
			ev.State = StateScheduled
			s.Events[id] = ev
		}
	}
	for id, c := range s.CDNs {
		if c.State == "" {
			c.State = CDNActive
			s.CDNs[id] = c
		}
	}
	d.Events, d.Regions, d.CDNs, d.Nodes, d.Signing = s.Events, s.Regions, s.CDNs, s.Nodes, s.Signing
	return fmt.Sprintf("seeded %d events, %d regions, %d cdns", len(s.Events), len(s.Regions), len(s.CDNs)), nil
}

func verb(exists bool) string {
	if exists {
		return "replaced"
	}
	return "created"
}

// setActiveFeed switches an event's output timeline to another feed. With
// From set it applies only while From is the active feed, so two nodes
// that saw the same failure make one switch, not two.
func setActiveFeed(d *Document, a ActiveFeedArgs) (string, error) {
	ev, ok := d.Events[a.ID]
	if !ok {
		return "", notFound("event", a.ID)
	}
	if ev.Feeds == nil {
		return "", invalid("id", "event %q has no feeds", a.ID)
	}
	if _, ok := ev.Feeds.Feed(a.Feed); !ok {
		return "", invalid("feed", "%q is not primary or backup", a.Feed)
	}
	if msg := checkText(a.Reason); msg != "" {
		return "", invalid("reason", "%s", msg)
	}
	cur := ev.Feeds.ActiveFeed()
	switch {
	case a.From != "" && a.From != cur:
		return "", fmt.Errorf("%w: event %s is on its %s feed, not %s", ErrConflict, a.ID, cur, a.From)
	case a.Feed == cur:
		return "", fmt.Errorf("%w: event %s is already on its %s feed", ErrConflict, a.ID, cur)
	}
	fs := *ev.Feeds
	fs.Active = a.Feed
	fs.LastSwitch = &FeedSwitch{At: d.UpdatedAt, From: cur, To: a.Feed, Reason: a.Reason, By: a.By}
	ev.Feeds = &fs
	d.Events[a.ID] = ev
	return fmt.Sprintf("event %s: output switched from the %s feed to the %s feed (%s)", a.ID, cur, a.Feed, a.Reason), nil
}
