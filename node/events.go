package node

import (
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/pkg/token"
	"github.com/ringside-live/ringside/steering"
)

// Event is one live event as this node serves it: the one event type of
// the node, built from the config file's events: section (before any
// control plane publishes a document) or from the control document. The
// packages that need a part of it get their own projection.
type Event struct {
	ID    string
	Title string
	// State is scheduled, rehearsal, live or ended; always set (events of
	// the config file are live).
	State        string
	StreamKeys   []string // push: any one authenticates an encoder
	PullURL      string   // pull: /live/{id}/{rest} comes from {PullURL}/{rest}
	RequireToken bool
	LowLatency   bool          // LL-HLS: blocking playlist directives (_HLS_msn...) apply
	PartTarget   time.Duration // with LowLatency: the parts' target duration
	Allowed      []string      // regions allowed (empty: everywhere)
	Blackout     []string      // regions refused
	TokenKeys    []token.Key   // playback-token keys, current first
	// TokenGeneration: tokens signed for a lower one were revoked.
	TokenGeneration uint64
	// TokenTTL caps steering.token_ttl: the document's max_token_ttl,
	// which its retired keys are kept for.
	TokenTTL time.Duration
	// Regions are the document's regions (shared by its events): the
	// edge finds a token holder's region with them on every request.
	Regions *steering.Regions
	// Feeds, when set, make the event redundant (read-only: shared with
	// the document).
	Feeds *control.Feeds
	// DVRWindow and VODOnEnd: the event's DVR (ingest nodes with a DVR
	// store keep it).
	DVRWindow time.Duration
	VODOnEnd  bool
}

// Push reports whether the event's content comes from ingest nodes: an
// encoder pushes it, or it is redundant (the ingest nodes publish its
// output timeline, from pushed or pulled feeds).
func (e *Event) Push() bool {
	return e.Feeds != nil || len(e.StreamKeys) > 0
}

// eventsFromConfig are the config file's events: explicitly live.
func eventsFromConfig(evs []EventConfig) []Event {
	out := make([]Event, 0, len(evs))
	for _, ev := range evs {
		e := Event{ID: ev.ID, Title: ev.Title, State: string(control.StateLive), PullURL: ev.PullURL,
			LowLatency: ev.LowLatency.Enabled, PartTarget: time.Duration(ev.LowLatency.PartTarget),
			DVRWindow: time.Duration(ev.DVRWindow)}
		if ev.StreamKey != "" {
			e.StreamKeys = []string{ev.StreamKey}
		}
		if f := ev.Feeds; f != nil {
			e.Feeds = &control.Feeds{Primary: f.Primary.feed(), Backup: f.Backup.feed(), SwitchBack: f.SwitchBack,
				HealthySegments: f.HealthySegments, UnhealthyAfter: control.Duration(f.UnhealthyAfter)}
		}
		out = append(out, e)
	}
	return out
}

// eventsFromDocument are the control document's events.
func eventsFromDocument(d *control.Document) []Event {
	keys := tokenKeys(d)
	regions := make([]steering.Region, 0, len(d.Regions))
	for _, r := range d.Regions {
		regions = append(regions, steering.Region{Name: r.Name, CIDRs: r.CIDRs})
	}
	rt := steering.NewRegions(regions)
	out := make([]Event, 0, len(d.Events))
	for _, ev := range d.Events {
		out = append(out, Event{ID: ev.ID, Title: ev.Title, State: string(ev.State), StreamKeys: ev.StreamKeys,
			PullURL: ev.PullURL, RequireToken: ev.RequireToken, LowLatency: ev.LowLatency.Enabled,
			PartTarget: time.Duration(ev.LowLatency.PartTarget), Allowed: ev.AllowedRegions,
			Blackout: ev.BlackoutRegions, TokenKeys: keys, TokenGeneration: ev.TokenGeneration,
			TokenTTL: d.Signing.TokenTTL(), Regions: rt, Feeds: ev.Feeds, DVRWindow: time.Duration(ev.DVRWindow),
			VODOnEnd: ev.VODOnEnd})
	}
	return out
}

// tokenKeys converts the document's signing keys: the current one first
// (it signs), then the retired ones, each until its last token expires.
func tokenKeys(d *control.Document) []token.Key {
	var keys []token.Key
	if k := d.Signing.Current; k != nil {
		keys = append(keys, token.Key{ID: k.ID, Secret: k.Secret})
	}
	for _, k := range d.Signing.Retired() {
		keys = append(keys, token.Key{ID: k.ID, Secret: k.Secret, NotAfter: k.ValidUntil})
	}
	return keys
}

// control is the event as the control document's seed holds it.
func (e *Event) control() control.Event {
	return control.Event{ID: e.ID, Title: e.Title, State: control.EventState(e.State), StreamKeys: e.StreamKeys,
		PullURL: e.PullURL, RequireToken: e.RequireToken, AllowedRegions: e.Allowed, BlackoutRegions: e.Blackout,
		LowLatency: control.LowLatency{Enabled: e.LowLatency, PartTarget: control.Duration(e.PartTarget)}, Feeds: e.Feeds,
		DVRWindow: control.Duration(e.DVRWindow), VODOnEnd: e.VODOnEnd}
}

// feed is one feed of the config file as the document holds it.
func (f FeedSourceConfig) feed() control.Feed {
	out := control.Feed{PullURL: f.PullURL}
	if f.StreamKey != "" {
		out.StreamKeys = []string{f.StreamKey}
	}
	return out
}

// ingest is the event as the ingest origin needs it.
func (e *Event) ingest() ingest.EventConfig {
	ec := ingest.EventConfig{ID: e.ID, StreamKeys: e.StreamKeys, DVRWindow: e.DVRWindow, VODOnEnd: e.VODOnEnd,
		Ended: e.State == string(control.StateEnded)}
	if e.LowLatency {
		ec.PartTarget = e.PartTarget
	}
	if f := e.Feeds; f != nil {
		ec.Feeds = []ingest.FeedConfig{{Name: control.FeedPrimary, StreamKeys: f.Primary.StreamKeys, PullURL: f.Primary.PullURL},
			{Name: control.FeedBackup, StreamKeys: f.Backup.StreamKeys, PullURL: f.Backup.PullURL}}
		ec.Active, ec.SwitchBack, ec.HealthySegments = f.ActiveFeed(), f.SwitchBack, f.HealthySegments
		ec.UnhealthyAfter = time.Duration(f.UnhealthyAfter)
	}
	return ec
}

// steering is the event as the steering engine needs it.
func (e *Event) steering() steering.Event {
	return steering.Event{ID: e.ID, State: e.State, AllowedRegions: e.Allowed, BlackoutRegions: e.Blackout,
		RequireToken: e.RequireToken}
}

// eventTable is the immutable set of events; replaced whole on change.
type eventTable struct {
	byID map[string]*Event
}

// setEvents makes evs the node's events, and the push events the ingest
// origin's.
func (n *running) setEvents(evs []Event) {
	t := &eventTable{byID: make(map[string]*Event, len(evs))}
	var push []ingest.EventConfig
	for i := range evs {
		ev := &evs[i]
		t.byID[ev.ID] = ev
		if ev.Push() {
			push = append(push, ev.ingest())
		}
	}
	n.events.Store(t)
	if n.ingest != nil {
		n.ingest.SetEvents(push)
	}
}

func (n *running) event(id string) *Event { return n.events.Load().byID[id] }

// Source implements route.Sources.
func (n *running) Source(event string) (pullURL string, push bool) {
	ev := n.event(event)
	if ev == nil {
		return "", false
	}
	return ev.PullURL, ev.Push()
}

func (n *running) eventTable() *eventTable { return n.events.Load() }

// document is the configuration document this node serves (nil without a
// control plane).
func (n *running) document() *control.Document {
	if n.cfgSrc == nil {
		return nil
	}
	return n.cfgSrc.Current()
}

// versions are the served document's version and the routing table's
// generation: steering rebuilds its input when either moves.
func (n *running) versions() (doc, table uint64) { return n.docVersion.Load(), n.tableGen.Load() }

var _ steerInputs = (*running)(nil)
