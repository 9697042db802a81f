package mesh

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func raw(typ EventType, id string, at int, mut ...func(*Member)) Event {
	m := Member{Meta: Meta{ID: id, Roles: []string{RoleEdge}}, GossipAddr: "127.0.0.1:1", Since: time.Unix(int64(at), 0)}
	for _, f := range mut {
		f(&m)
	}
	return Event{Type: typ, Member: m}
}

func draining(m *Member) { m.Drain = true }

type want struct {
	typ   EventType
	id    string
	state State
}

func TestCoalescer(t *testing.T) {
	known := func(c *coalescer) { c.known["k"] = raw(EventJoin, "k", 0).Member }
	none := func(string) bool { return false }
	tests := []struct {
		name   string
		setup  func(*coalescer)
		events []Event
		left   func(string) bool
		want   []want
		table  []string
	}{
		{"join", nil, []Event{raw(EventJoin, "a", 1)}, none,
			[]want{{EventJoin, "a", StateAlive}}, []string{"a"}},
		{"join then update is one join", nil, []Event{raw(EventJoin, "a", 1), raw(EventUpdate, "a", 2, draining)}, none,
			[]want{{EventJoin, "a", StateAlive}}, []string{"a"}},
		{"unknown join then fail is nothing", nil, []Event{raw(EventJoin, "a", 1), raw(EventFail, "a", 2)}, none,
			nil, nil},
		{"known fail then join is nothing", known, []Event{raw(EventFail, "k", 1), raw(EventJoin, "k", 2)}, none,
			nil, []string{"k"}},
		{"known fail then join with new meta is update", known, []Event{raw(EventFail, "k", 1), raw(EventJoin, "k", 2, draining)}, none,
			[]want{{EventUpdate, "k", StateAlive}}, []string{"k"}},
		{"known join then fail is fail", known, []Event{raw(EventJoin, "k", 1), raw(EventFail, "k", 2)}, none,
			[]want{{EventFail, "k", StateDead}}, nil},
		{"announced departure is leave", known, []Event{raw(EventFail, "k", 1)}, func(id string) bool { return id == "k" },
			[]want{{EventLeave, "k", StateLeft}}, nil},
		{"update of known", known, []Event{raw(EventUpdate, "k", 1, draining)}, none,
			[]want{{EventUpdate, "k", StateAlive}}, []string{"k"}},
		{"update of unknown is join", nil, []Event{raw(EventUpdate, "u", 1)}, nil,
			[]want{{EventJoin, "u", StateAlive}}, []string{"u"}},
		{"sorted by id", nil, []Event{raw(EventJoin, "c", 1), raw(EventJoin, "a", 1), raw(EventJoin, "b", 1)}, none,
			[]want{{EventJoin, "a", StateAlive}, {EventJoin, "b", StateAlive}, {EventJoin, "c", StateAlive}}, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCoalescer()
			if tt.setup != nil {
				tt.setup(c)
			}
			checkFlush(t, c, tt.events, tt.left, tt.want, tt.table)
		})
	}
}

// checkFlush adds events as one window, flushes it and compares the events
// and the resulting table.
func checkFlush(t *testing.T, c *coalescer, events []Event, left func(string) bool, wantEvs []want, wantTable []string) {
	t.Helper()
	for i, ev := range events {
		if first := c.add(ev); first != (i == 0) {
			t.Fatalf("add #%d: first = %v", i, first)
		}
	}
	var got []want
	for _, ev := range c.flush(left) {
		got = append(got, want{ev.Type, ev.Member.ID, ev.Member.State})
	}
	if !slices.Equal(got, wantEvs) {
		t.Fatalf("events = %v, want %v", got, wantEvs)
	}
	table := slices.Sorted(maps.Keys(c.known))
	if !slices.Equal(table, wantTable) {
		t.Fatalf("table = %v, want %v", table, wantTable)
	}
	if len(c.pending) != 0 || !c.add(raw(EventJoin, "z", 9)) {
		t.Fatal("flush must start a new window")
	}
}

func TestCoalescerKeepsJoinTimeAndFailTime(t *testing.T) {
	c := newCoalescer()
	c.add(raw(EventJoin, "a", 1))
	c.flush(nil)
	c.add(raw(EventUpdate, "a", 5, draining))
	if evs := c.flush(nil); len(evs) != 1 || !evs[0].Member.Since.Equal(time.Unix(1, 0)) || !evs[0].Member.Drain {
		t.Fatalf("update = %+v, want Since of the join and the new meta", evs)
	}
	c.add(raw(EventFail, "a", 7))
	if evs := c.flush(nil); len(evs) != 1 || !evs[0].Member.Since.Equal(time.Unix(7, 0)) || !evs[0].Member.Drain {
		t.Fatalf("fail = %+v, want Since of the failure and the last meta", evs)
	}
}

func TestCoalescerEventsDoNotAliasTable(t *testing.T) {
	c := newCoalescer()
	c.add(raw(EventJoin, "a", 1))
	evs := c.flush(nil)
	evs[0].Member.Roles[0] = "mutated"
	if c.known["a"].Roles[0] != RoleEdge {
		t.Fatal("event shares its Roles slice with the table")
	}
}
