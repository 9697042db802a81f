package control

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPutEvent(t *testing.T) {
	eu := cmd(t, CmdPutRegion, region("eu", "10.0.0.0/8"))
	us := cmd(t, CmdPutRegion, region("us", "192.0.2.0/24"))
	fight := cmd(t, CmdPutEvent, pushEvent("fight"))
	live := cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateLive})
	put := func(f func(*Event)) Command { return cmd(t, CmdPutEvent, patch(pushEvent("fight"), f)) }
	runCases(t, []cmdCase{
		{name: "create push", cmd: fight, check: func(t *testing.T, d *Document) {
			if ev := d.Events["fight"]; ev.State != StateScheduled || ev.StreamKeys[0] != "key-0123456789abcdef" {
				t.Errorf("event = %+v", ev)
			}
		}},
		{name: "create pull with everything", setup: []Command{eu, us}, cmd: cmd(t, CmdPutEvent, Event{
			ID: "final", Title: "Cup final", State: StateRehearsal, Start: t0, End: t0.Add(2 * time.Hour),
			PullURL: "http://origin.example/final/",
			Renditions: []Rendition{{Name: "1080p", Bandwidth: 6e6, Width: 1920, Height: 1080, Codecs: "avc1.640028,mp4a.40.2"},
				{Name: "audio", Bandwidth: 128e3, Codecs: "mp4a.40.2"}},
			DVRWindow: Duration(2 * time.Hour), LowLatency: LowLatency{Enabled: true, PartTarget: Duration(time.Second)},
			AllowedRegions: []string{"eu"}, BlackoutRegions: []string{"us"}, RequireToken: true,
		}), check: func(t *testing.T, d *Document) {
			if ev := d.Events["final"]; ev.State != StateRehearsal || len(ev.Renditions) != 2 || !ev.RequireToken {
				t.Errorf("event = %+v", ev)
			}
		}},
		{name: "replace keeps state", setup: []Command{fight, live}, cmd: put(func(e *Event) { e.Title = "new" }),
			check: func(t *testing.T, d *Document) {
				if ev := d.Events["fight"]; ev.State != StateLive || ev.Title != "new" {
					t.Errorf("event = %+v", ev)
				}
			}},
		{name: "replace with legal state", setup: []Command{fight}, cmd: put(func(e *Event) { e.State = StateLive })},
		{name: "replace with illegal state", setup: []Command{fight, live},
			cmd: put(func(e *Event) { e.State = StateScheduled }), err: ErrIllegalTransition},
		{name: "both origins", cmd: put(func(e *Event) { e.PullURL = "https://o.example/" }),
			err: ErrInvalid, fields: []string{"events[fight].pull_url"}},
		{name: "no origin", cmd: put(func(e *Event) { e.StreamKeys = nil }),
			err: ErrInvalid, fields: []string{"events[fight].stream_keys"}},
		{name: "bad stream keys", cmd: put(func(e *Event) {
			e.StreamKeys = []string{"short", "key-0123456789abcdef", "key-0123456789abcdef", "has space 0123456789"}
		}), err: ErrInvalid, fields: []string{"events[fight].stream_keys[0]", "events[fight].stream_keys[2]", "events[fight].stream_keys[3]"}},
		{name: "bad pull url", cmd: cmd(t, CmdPutEvent, Event{ID: "p", PullURL: "ftp://x.example/"}),
			err: ErrInvalid, fields: []string{"events[p].pull_url"}},
		{name: "bad id", cmd: cmd(t, CmdPutEvent, pushEvent("Fight!")), err: ErrInvalid, fields: []string{"events[Fight!].id"}},
		{name: "missing id", cmd: cmd(t, CmdPutEvent, pushEvent("")), err: ErrInvalid, fields: []string{"events[].id"}},
		{name: "bad state", cmd: put(func(e *Event) { e.State = "paused" }), err: ErrInvalid, fields: []string{"events[fight].state"}},
		{name: "regions", setup: []Command{eu}, cmd: put(func(e *Event) {
			e.AllowedRegions = []string{"eu", "mars", "eu"}
			e.BlackoutRegions = []string{"eu"}
		}), err: ErrInvalid, fields: []string{"events[fight].allowed_regions[1]", "events[fight].allowed_regions[2]",
			"events[fight].blackout_regions[0]"}},
		{name: "renditions", cmd: put(func(e *Event) {
			e.Renditions = []Rendition{{Name: "../x", Bandwidth: 0, Width: 640}, {Name: "a", Bandwidth: 1, Codecs: `a"b`}, {Name: "a", Bandwidth: 1}}
		}), err: ErrInvalid, fields: []string{"events[fight].renditions[0].name", "events[fight].renditions[0].bandwidth",
			"events[fight].renditions[0].width", "events[fight].renditions[1].codecs", "events[fight].renditions[2].name"}},
		{name: "schedule and windows", cmd: put(func(e *Event) {
			e.Start, e.End = t0, t0.Add(-time.Hour)
			e.DVRWindow = Duration(-time.Second)
			e.LowLatency = LowLatency{Enabled: true}
			e.Title = "bell\a"
		}), err: ErrInvalid, fields: []string{"events[fight].title", "events[fight].end", "events[fight].dvr_window",
			"events[fight].low_latency.part_target"}},
		{name: "part target range", cmd: put(func(e *Event) { e.LowLatency.PartTarget = Duration(10 * time.Second) }),
			err: ErrInvalid, fields: []string{"events[fight].low_latency.part_target"}},
		{name: "unknown payload field", cmd: Command{Type: CmdPutEvent, Payload: json.RawMessage(`{"id":"x","colour":1}`)},
			err: ErrInvalid, fields: []string{"payload"}},
		{name: "bad duration", cmd: Command{Type: CmdPutEvent, Payload: json.RawMessage(`{"id":"x","dvr_window":30}`)},
			err: ErrInvalid, fields: []string{"payload"}},
	})
}

func TestEventLifecycle(t *testing.T) {
	fight := cmd(t, CmdPutEvent, pushEvent("fight"))
	live := cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateLive})
	runCases(t, []cmdCase{
		{name: "delete", setup: []Command{fight}, cmd: cmd(t, CmdDeleteEvent, EventRef{ID: "fight"}),
			check: func(t *testing.T, d *Document) {
				if len(d.Events) != 0 {
					t.Errorf("events = %v", d.Events)
				}
			}},
		{name: "delete missing", cmd: cmd(t, CmdDeleteEvent, EventRef{ID: "fight"}), err: ErrNotFound},
		{name: "delete live", setup: []Command{fight, live}, cmd: cmd(t, CmdDeleteEvent, EventRef{ID: "fight"}), err: ErrIllegalTransition},
		{name: "delete ended", setup: []Command{fight, live, cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateEnded})},
			cmd: cmd(t, CmdDeleteEvent, EventRef{ID: "fight"})},
		{name: "set state", setup: []Command{fight}, cmd: live, check: func(t *testing.T, d *Document) {
			if d.Events["fight"].State != StateLive {
				t.Errorf("state = %s", d.Events["fight"].State)
			}
		}},
		{name: "set state missing", cmd: live, err: ErrNotFound},
		{name: "set state same", setup: []Command{fight, live}, cmd: live, err: ErrIllegalTransition},
		{name: "set state back", setup: []Command{fight, live},
			cmd: cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: StateRehearsal}), err: ErrIllegalTransition},
		{name: "set state unknown", setup: []Command{fight},
			cmd: cmd(t, CmdSetEventState, EventStateArgs{ID: "fight", State: "paused"}), err: ErrInvalid, fields: []string{"payload.state"}},
	})
}

func TestStateTransitions(t *testing.T) {
	legal := map[EventState][]EventState{
		StateScheduled: {StateRehearsal, StateLive, StateEnded},
		StateRehearsal: {StateScheduled, StateLive, StateEnded},
		StateLive:      {StateEnded},
		StateEnded:     nil,
	}
	all := []EventState{StateScheduled, StateRehearsal, StateLive, StateEnded}
	for _, from := range all {
		for _, to := range all {
			want := slices.Contains(legal[from], to)
			st := newState()
			applyAll(t, st, cmd(t, CmdPutEvent, patch(pushEvent("e"), func(e *Event) { e.State = from })))
			_, err := st.apply(entry{Cmd: cmd(t, CmdSetEventState, EventStateArgs{ID: "e", State: to}), At: t0})
			if got := err == nil; got != want || from.CanBecome(to) != want {
				t.Errorf("%s -> %s: err %v, CanBecome %v, want legal=%v", from, to, err, from.CanBecome(to), want)
			}
			if err != nil && !errors.Is(err, ErrIllegalTransition) {
				t.Errorf("%s -> %s: err %v, want ErrIllegalTransition", from, to, err)
			}
		}
	}
}

// create_event is decided by the log: whether the id exists is checked
// where the command applies, not by a possibly stale read before it.
func TestCreateEvent(t *testing.T) {
	create := func(ev Event) Command { return cmd(t, CmdCreateEvent, ev) }
	runCases(t, []cmdCase{
		{name: "new", cmd: create(pushEvent("fight")), check: func(t *testing.T, d *Document) {
			if ev := d.Events["fight"]; ev.State != StateScheduled || ev.Title != "Title of fight" {
				t.Errorf("event = %+v", ev)
			}
		}},
		{name: "new with a state", cmd: create(patch(pullEvent("final"), func(e *Event) { e.State = StateRehearsal })),
			check: func(t *testing.T, d *Document) {
				if d.Events["final"].State != StateRehearsal {
					t.Errorf("event = %+v", d.Events["final"])
				}
			}},
		{name: "exists", setup: []Command{cmd(t, CmdPutEvent, pushEvent("fight"))},
			cmd: create(patch(pushEvent("fight"), func(e *Event) { e.Title = "other" })), err: ErrExists},
		{name: "exists, created by create", setup: []Command{create(pushEvent("fight"))},
			cmd: create(pushEvent("fight")), err: ErrExists},
		{name: "again after delete", setup: []Command{create(pushEvent("fight")), cmd(t, CmdDeleteEvent, EventRef{ID: "fight"})},
			cmd: create(pushEvent("fight"))},
		{name: "other events untouched", setup: []Command{create(pushEvent("a"))}, cmd: create(pushEvent("b")),
			check: func(t *testing.T, d *Document) {
				if len(d.Events) != 2 {
					t.Errorf("events = %v", d.Events)
				}
			}},
		{name: "invalid", cmd: create(Event{ID: "p", PullURL: "ftp://x.example/"}),
			err: ErrInvalid, fields: []string{"events[p].pull_url"}},
		{name: "missing id", cmd: create(pushEvent("")), err: ErrInvalid, fields: []string{"events[].id"}},
		{name: "unknown payload field", cmd: Command{Type: CmdCreateEvent, Payload: json.RawMessage(`{"id":"x","colour":1}`)},
			err: ErrInvalid, fields: []string{"payload"}},
	})
	if ErrExists.Error() != "control: already exists" {
		t.Errorf("ErrExists = %q", ErrExists)
	}
	// A retry of a create that applied is its duplicate, not ErrExists.
	st := newState()
	c := create(pushEvent("fight"))
	c.IdempotencyKey = "req-1"
	applyAll(t, st, c)
	if res, err := st.apply(entry{Cmd: c, At: t0}); err != nil || !res.Duplicate || res.Version != 1 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
}
