package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)

// cmd builds a command or fails the test.
func cmd(t testing.TB, typ string, payload any) Command {
	t.Helper()
	c, err := NewCommand(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pushEvent(id string) Event {
	return Event{ID: id, Title: "Title of " + id, StreamKeys: []string{"key-0123456789abcdef"}}
}

func pullEvent(id string) Event {
	return Event{ID: id, PullURL: "https://origin.example/" + id}
}

func region(name string, cidrs ...string) Region {
	r := Region{Name: name}
	for _, c := range cidrs {
		r.CIDRs = append(r.CIDRs, mustPrefix(c))
	}
	return r
}

func cdnFixture(id string) CDN {
	return CDN{ID: id, Hostname: id + ".cdn.example", BaseURL: "https://" + id + ".cdn.example/", Weight: 100, CapacityMbps: 40000}
}

func key(id string) SigningKey {
	return SigningKey{ID: id, Secret: bytes.Repeat([]byte(id[:1]), MinSecretLen)}
}

// patch returns ev changed by f (a copy: fixtures stay shared-safe).
func patch(ev Event, f func(*Event)) Event {
	f(&ev)
	return ev
}

// applyAll applies cmds to st, failing the test on any error.
func applyAll(t *testing.T, st *state, cmds ...Command) {
	t.Helper()
	for _, c := range cmds {
		if _, err := st.apply(entry{Cmd: c, At: t0}); err != nil {
			t.Fatalf("setup %s: %v", c.Type, err)
		}
	}
}

type cmdCase struct {
	name   string
	setup  []Command
	cmd    Command
	err    error    // sentinel expected, nil = success
	fields []string // for ErrInvalid: the fields named, in order
	check  func(t *testing.T, d *Document)
}

// runCases applies each case's command to a fresh state and checks the
// outcome; on error it also checks nothing changed (never half-applied).
func runCases(t *testing.T, cases []cmdCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newState()
			applyAll(t, st, tc.setup...)
			before, beforeJSON := st.doc, mustJSON(t, st.doc)
			res, err := st.apply(entry{Cmd: tc.cmd, At: t0.Add(time.Minute)})
			if tc.err == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if res.Version != before.Version+1 || st.doc.Version != res.Version || res.Doc != st.doc {
					t.Fatalf("version %d -> result %d, doc %d", before.Version, res.Version, st.doc.Version)
				}
				if !st.doc.UpdatedAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("UpdatedAt = %v", st.doc.UpdatedAt)
				}
				if got := mustJSON(t, before); got != beforeJSON {
					t.Errorf("the previous document was modified:\n%s\n%s", beforeJSON, got)
				}
				if tc.check != nil {
					tc.check(t, st.doc)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if st.doc != before || mustJSON(t, st.doc) != beforeJSON {
				t.Fatalf("failed command changed the document")
			}
			if tc.fields != nil {
				if got := fieldsOf(err); !slices.Equal(got, tc.fields) {
					t.Errorf("fields = %q, want %q (%v)", got, tc.fields, err)
				}
			}
		})
	}
}

func fieldsOf(err error) []string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return []string{"<not a ValidationError>"}
	}
	var out []string
	for _, fe := range ve.Errs {
		out = append(out, fe.Field)
	}
	return out
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	*bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegionAndCDNCommands(t *testing.T) {
	eu := cmd(t, CmdPutRegion, region("eu", "10.0.0.0/8", "2001:db8::/32"))
	akamai := cmd(t, CmdPutCDN, cdnFixture("akamai"))
	runCases(t, []cmdCase{
		{name: "put region", cmd: eu, check: func(t *testing.T, d *Document) {
			if r := d.Regions["eu"]; len(r.CIDRs) != 2 {
				t.Errorf("region = %+v", r)
			}
		}},
		{name: "region prefixes", cmd: cmd(t, CmdPutRegion, Region{Name: "eu", CIDRs: []netip.Prefix{
			mustPrefix("10.1.2.3/8"), mustPrefix("192.0.2.0/24"), mustPrefix("192.0.2.0/24")}}),
			err: ErrInvalid, fields: []string{"regions[eu].cidrs[0]", "regions[eu].cidrs[2]"}},
		{name: "region without prefixes", cmd: cmd(t, CmdPutRegion, Region{Name: "eu"}),
			err: ErrInvalid, fields: []string{"regions[eu].cidrs"}},
		{name: "region bad name", cmd: cmd(t, CmdPutRegion, region("EU West", "10.0.0.0/8")),
			err: ErrInvalid, fields: []string{"regions[EU West].name"}},
		{name: "region bad prefix text", cmd: Command{Type: CmdPutRegion, Payload: json.RawMessage(`{"name":"eu","cidrs":["10.0.0.0/33"]}`)},
			err: ErrInvalid, fields: []string{"payload"}},
		{name: "delete region", setup: []Command{eu}, cmd: cmd(t, CmdDeleteRegion, RegionRef{Name: "eu"})},
		{name: "delete missing region", cmd: cmd(t, CmdDeleteRegion, RegionRef{Name: "eu"}), err: ErrNotFound},
		{name: "delete region in use", setup: []Command{eu,
			cmd(t, CmdPutEvent, patch(pushEvent("b"), func(e *Event) { e.BlackoutRegions = []string{"eu"} })),
			cmd(t, CmdPutEvent, patch(pushEvent("a"), func(e *Event) { e.AllowedRegions = []string{"eu"} }))},
			cmd: cmd(t, CmdDeleteRegion, RegionRef{Name: "eu"}), err: ErrInvalid, fields: []string{"regions[eu]"}},
		{name: "put cdn", cmd: akamai, check: func(t *testing.T, d *Document) {
			if c := d.CDNs["akamai"]; c.State != CDNActive || c.Weight != 100 {
				t.Errorf("cdn = %+v", c)
			}
		}},
		{name: "put cdn invalid", cmd: cmd(t, CmdPutCDN, CDN{ID: "x", Hostname: "-bad-.example", BaseURL: "mailto:a@b",
			Weight: 1001, CapacityMbps: -1, State: "gone"}), err: ErrInvalid,
			fields: []string{"cdns[x].hostname", "cdns[x].base_url", "cdns[x].weight", "cdns[x].capacity_mbps", "cdns[x].state"}},
		{name: "cdn weight", setup: []Command{akamai}, cmd: cmd(t, CmdSetCDNWeight, CDNWeightArgs{ID: "akamai", Weight: 0}),
			check: func(t *testing.T, d *Document) {
				if d.CDNs["akamai"].Weight != 0 {
					t.Errorf("weight = %d", d.CDNs["akamai"].Weight)
				}
			}},
		{name: "cdn weight range", setup: []Command{akamai}, cmd: cmd(t, CmdSetCDNWeight, CDNWeightArgs{ID: "akamai", Weight: 5000}),
			err: ErrInvalid, fields: []string{"cdns[akamai].weight"}},
		{name: "cdn weight missing", cmd: cmd(t, CmdSetCDNWeight, CDNWeightArgs{ID: "akamai"}), err: ErrNotFound},
		{name: "cdn state", setup: []Command{akamai}, cmd: cmd(t, CmdSetCDNState, CDNStateArgs{ID: "akamai", State: CDNDraining}),
			check: func(t *testing.T, d *Document) {
				if d.CDNs["akamai"].State != CDNDraining {
					t.Errorf("state = %s", d.CDNs["akamai"].State)
				}
			}},
		{name: "cdn state invalid", setup: []Command{akamai}, cmd: cmd(t, CmdSetCDNState, CDNStateArgs{ID: "akamai", State: "off"}),
			err: ErrInvalid, fields: []string{"cdns[akamai].state"}},
		{name: "cdn state missing", cmd: cmd(t, CmdSetCDNState, CDNStateArgs{ID: "akamai", State: CDNDisabled}), err: ErrNotFound},
		{name: "delete cdn", setup: []Command{akamai}, cmd: cmd(t, CmdDeleteCDN, CDNRef{ID: "akamai"})},
		{name: "delete cdn missing", cmd: cmd(t, CmdDeleteCDN, CDNRef{ID: "akamai"}), err: ErrNotFound},
	})
}

func TestNodeAndKeyCommands(t *testing.T) {
	drain := cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "edge-1", Drain: true})
	k1, k2 := cmd(t, CmdRotateSigningKey, key("k1")), cmd(t, CmdRotateSigningKey, key("k2"))
	runCases(t, []cmdCase{
		{name: "drain", cmd: drain, check: func(t *testing.T, d *Document) {
			if !d.Nodes["edge-1"].Drain {
				t.Errorf("nodes = %v", d.Nodes)
			}
		}},
		{name: "undrain", setup: []Command{drain}, cmd: cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "edge-1"}),
			check: func(t *testing.T, d *Document) {
				if len(d.Nodes) != 0 {
					t.Errorf("nodes = %v", d.Nodes)
				}
			}},
		{name: "drain bad id", cmd: cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "edge 1", Drain: true}),
			err: ErrInvalid, fields: []string{"payload.node_id"}},
		{name: "first key", cmd: k1, check: func(t *testing.T, d *Document) {
			if d.Signing.Current.ID != "k1" || d.Signing.Previous != nil {
				t.Errorf("signing = %+v", d.Signing)
			}
		}},
		{name: "rotate", setup: []Command{k1}, cmd: k2, check: func(t *testing.T, d *Document) {
			if d.Signing.Current.ID != "k2" || d.Signing.Previous.ID != "k1" {
				t.Errorf("signing = %+v", d.Signing)
			}
		}},
		{name: "rotate keeps older", setup: []Command{k1, k2}, cmd: cmd(t, CmdRotateSigningKey, key("k3")),
			check: func(t *testing.T, d *Document) {
				if d.Signing.Current.ID != "k3" || d.Signing.Previous.ID != "k2" || len(d.Signing.Older) != 1 || d.Signing.Older[0].ID != "k1" {
					t.Errorf("signing = %+v", d.Signing)
				}
			}},
		{name: "rotate same id", setup: []Command{k1}, cmd: k1, err: ErrInvalid, fields: []string{"payload.id"}},
		// k1 still verifies the tokens it signed: its id names it.
		{name: "rotate back to previous id", setup: []Command{k1, k2}, cmd: k1, err: ErrInvalid, fields: []string{"payload.id"}},
		{name: "short secret", cmd: cmd(t, CmdRotateSigningKey, SigningKey{ID: "k1", Secret: []byte("short")}),
			err: ErrInvalid, fields: []string{"signing.current.secret"}},
		{name: "bad key id", cmd: cmd(t, CmdRotateSigningKey, SigningKey{ID: "", Secret: key("k").Secret}),
			err: ErrInvalid, fields: []string{"signing.current.id"}},
		{name: "drop previous", setup: []Command{k1, k2}, cmd: cmd(t, CmdDropPreviousKey, struct{}{}),
			check: func(t *testing.T, d *Document) {
				if d.Signing.Current.ID != "k2" || d.Signing.Previous != nil {
					t.Errorf("signing = %+v", d.Signing)
				}
			}},
		{name: "drop previous none", setup: []Command{k1}, cmd: cmd(t, CmdDropPreviousKey, struct{}{}), err: ErrNotFound},
	})
}

func seedDoc() Document {
	k := key("k1")
	return Document{
		Version: 99, // ignored
		Events:  map[string]Event{"fight": pushEvent("fight"), "final": patch(pullEvent("final"), func(e *Event) { e.AllowedRegions = []string{"eu"} })},
		Regions: map[string]Region{"eu": region("eu", "10.0.0.0/8", "2001:db8::/32")},
		CDNs:    map[string]CDN{"akamai": cdnFixture("akamai")},
		Nodes:   map[string]NodeFlags{"edge-1": {Drain: true}},
		Signing: SigningKeys{Current: &k},
	}
}

func TestGeneralCommandRules(t *testing.T) {
	fight := cmd(t, CmdPutEvent, pushEvent("fight"))
	withExpect := func(c Command, v uint64) Command { c.Expect = v; return c }
	bad := seedDoc()
	bad.Events = map[string]Event{"x": pushEvent("y")}
	runCases(t, []cmdCase{
		{name: "seed empty", cmd: cmd(t, CmdSeed, seedDoc()), check: func(t *testing.T, d *Document) {
			if d.Version != 1 || len(d.Events) != 2 || d.Events["fight"].State != StateScheduled || d.CDNs["akamai"].State != CDNActive {
				t.Errorf("doc = %+v", d)
			}
		}},
		{name: "seed not empty", setup: []Command{fight}, cmd: cmd(t, CmdSeed, seedDoc()), err: ErrConflict},
		{name: "seed invalid", cmd: cmd(t, CmdSeed, bad), err: ErrInvalid, fields: []string{"events[x].id"}},
		{name: "unknown type", cmd: Command{Type: "launch_rocket", Payload: json.RawMessage(`{}`)},
			err: ErrInvalid, fields: []string{"type"}},
		{name: "no payload", cmd: Command{Type: CmdPutEvent}, err: ErrInvalid, fields: []string{"payload"}},
		{name: "trailing payload", cmd: Command{Type: CmdDeleteEvent, Payload: json.RawMessage(`{"id":"a"} {}`)},
			err: ErrInvalid, fields: []string{"payload"}},
		{name: "expect matches", setup: []Command{fight}, cmd: withExpect(cmd(t, CmdPutEvent, pushEvent("b")), 1)},
		{name: "expect stale", setup: []Command{fight, fight}, cmd: withExpect(cmd(t, CmdPutEvent, pushEvent("b")), 1), err: ErrConflict},
	})
}

func TestIdempotency(t *testing.T) {
	st := newState()
	c := cmd(t, CmdPutEvent, pushEvent("fight"))
	c.IdempotencyKey = "req-1"
	first, err := st.apply(entry{Cmd: c, At: t0})
	if err != nil || first.Version != 1 || first.Duplicate {
		t.Fatalf("first = %+v, %v", first, err)
	}
	applyAll(t, st, cmd(t, CmdPutEvent, pushEvent("other")))
	// A retry (even reformatted JSON, even with a now-stale Expect) is not applied again.
	retry := c
	retry.Payload = json.RawMessage(" " + string(c.Payload) + "\n")
	retry.Expect = 1
	again, err := st.apply(entry{Cmd: retry, At: t0})
	if err != nil || again.Version != 1 || !again.Duplicate || st.doc.Version != 2 {
		t.Fatalf("retry = %+v, %v; doc version %d", again, err, st.doc.Version)
	}
	other := cmd(t, CmdPutEvent, pullEvent("fight"))
	other.IdempotencyKey = "req-1"
	if _, err := st.apply(entry{Cmd: other, At: t0}); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("same key, other payload: %v", err)
	}
	// A failed command's key is not remembered: fixing it and retrying works.
	broken := cmd(t, CmdPutEvent, pullEvent("BAD"))
	broken.IdempotencyKey = "req-2"
	if _, err := st.apply(entry{Cmd: broken, At: t0}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("broken: %v", err)
	}
	fixed := cmd(t, CmdPutEvent, pullEvent("good"))
	fixed.IdempotencyKey = "req-2"
	if res, err := st.apply(entry{Cmd: fixed, At: t0}); err != nil || res.Duplicate || res.Version != 3 {
		t.Fatalf("fixed = %+v, %v", res, err)
	}
}

func TestIdempotencyAndHistoryBounded(t *testing.T) {
	st := newState()
	st.maxIdem, st.maxHist = 3, 2
	var cmds []Command
	for i := range 5 {
		c := cmd(t, CmdSetNodeDrain, NodeDrainArgs{NodeID: "n", Drain: i%2 == 0})
		c.IdempotencyKey = string(rune('a' + i))
		c.Actor = "ops"
		cmds = append(cmds, c)
	}
	applyAll(t, st, cmds...)
	if len(st.idem) != 3 || len(st.order) != 3 || st.order[0] != "c" {
		t.Fatalf("idem = %v order %v", st.idem, st.order)
	}
	if len(st.history) != 2 || st.history[1].Version != 5 || st.history[1].Actor != "ops" {
		t.Fatalf("history = %+v", st.history)
	}
	// "a" was forgotten, so it applies again.
	res, err := st.apply(entry{Cmd: cmds[0], At: t0})
	if err != nil || res.Duplicate || res.Version != 6 {
		t.Fatalf("forgotten key: %+v, %v", res, err)
	}
}

func TestImageRoundTrip(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdSeed, seedDoc()))
	c := cmd(t, CmdPutEvent, patch(pushEvent("late"), func(e *Event) {
		e.Start = time.Date(2026, 3, 1, 21, 0, 0, 0, time.FixedZone("CET", 3600))
		e.Renditions = []Rendition{}
		e.DVRWindow = Duration(90 * time.Minute)
	}))
	c.IdempotencyKey = "k"
	applyAll(t, st, c)
	var buf bytes.Buffer
	if err := (&fsmSnapshot{img: st.image()}).Persist(&memSink{Buffer: &buf}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"dvr_window":"1h30m"`) {
		t.Errorf("duration not written as a string: %s", buf.String())
	}
	got, err := readImage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.doc, st.doc) {
		t.Errorf("doc differs:\n%+v\n%+v", got.doc, st.doc)
	}
	if !reflect.DeepEqual(got.idem, st.idem) || !reflect.DeepEqual(got.history, st.history) {
		t.Errorf("idem/history differ")
	}
}

func TestDurationText(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{30 * time.Minute, "30m"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"}, {1500 * time.Millisecond, "1.5s"},
		{0, "0s"}, {time.Hour + time.Second, "1h0m1s"}, {200 * time.Millisecond, "200ms"}} {
		if got := Duration(tc.d).String(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.d, got, tc.want)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(tc.want)); err != nil || time.Duration(back) != tc.d {
			t.Errorf("%q: %v, %v", tc.want, back, err)
		}
	}
}

func TestRedacted(t *testing.T) {
	st := newState()
	applyAll(t, st, cmd(t, CmdSeed, seedDoc()), cmd(t, CmdRotateSigningKey, key("k2")))
	before := mustJSON(t, st.doc)
	r := st.doc.Redacted()
	if mustJSON(t, st.doc) != before {
		t.Fatal("Redacted changed the document")
	}
	out := mustJSON(t, r)
	for _, secret := range []string{"key-0123456789abcdef", `"secret"`} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted document still has %s: %s", secret, out)
		}
	}
	if r.Signing.Current.ID != "k2" || r.Signing.Previous.ID != "k1" || r.Events["fight"].StreamKeys[0] != "redacted" {
		t.Errorf("redacted = %s", out)
	}
}

// Retries carry the first try's idempotency key (the admin layer gives one
// to every write, and reuses it on retries and forwards): a retry of a
// command that applied gets the first result back, whatever changed since.
func TestIdempotentRetries(t *testing.T) {
	withKey := func(c Command, key string, expect uint64) Command {
		c.IdempotencyKey, c.Expect = key, expect
		return c
	}
	otherSecret := key("k2")
	otherSecret.Secret = bytes.Repeat([]byte("z"), MinSecretLen)
	for _, tc := range []struct {
		name  string
		first Command
		then  []Command // applied between the first try and the retry
		retry Command
		err   error // nil: a duplicate of the first try
		check func(t *testing.T, d *Document)
	}{
		{name: "if-match retry after it applied",
			first: withKey(cmd(t, CmdPutEvent, pushEvent("a")), "req-1", 1),
			then:  []Command{cmd(t, CmdPutEvent, pushEvent("b"))},
			retry: withKey(cmd(t, CmdPutEvent, pushEvent("a")), "req-1", 1)},
		{name: "if-match write, new key, stale version",
			first: withKey(cmd(t, CmdPutEvent, pushEvent("a")), "req-1", 1),
			retry: withKey(cmd(t, CmdPutEvent, pushEvent("c")), "req-2", 1), err: ErrConflict},
		{name: "rotation retried through another node, with another secret",
			first: withKey(cmd(t, CmdRotateSigningKey, key("k2")), "rot-1", 0),
			retry: withKey(cmd(t, CmdRotateSigningKey, otherSecret), "rot-1", 0),
			check: func(t *testing.T, d *Document) {
				if d.Signing.Current.ID != "k2" || !bytes.Equal(d.Signing.Current.Secret, key("k2").Secret) || d.Signing.Previous.ID != "k1" {
					t.Errorf("signing = %+v %+v", d.Signing.Current, d.Signing.Previous)
				}
			}},
		{name: "rotation retried with another secret, expect",
			first: withKey(cmd(t, CmdRotateSigningKey, key("k2")), "rot-1", 1),
			then:  []Command{cmd(t, CmdPutEvent, pushEvent("b"))},
			retry: withKey(cmd(t, CmdRotateSigningKey, otherSecret), "rot-1", 1)},
		{name: "another key id under the same idempotency key",
			first: withKey(cmd(t, CmdRotateSigningKey, key("k2")), "rot-1", 0),
			retry: withKey(cmd(t, CmdRotateSigningKey, key("k3")), "rot-1", 0), err: ErrIdempotencyMismatch},
		{name: "another command type under the same key",
			first: withKey(cmd(t, CmdRotateSigningKey, key("k2")), "rot-1", 0),
			retry: withKey(cmd(t, CmdPutEvent, pushEvent("k2")), "rot-1", 0), err: ErrIdempotencyMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newState()
			applyAll(t, st, cmd(t, CmdRotateSigningKey, key("k1"))) // version 1
			first, err := st.apply(entry{Cmd: tc.first, At: t0})
			if err != nil {
				t.Fatalf("first try: %v", err)
			}
			applyAll(t, st, tc.then...)
			before := st.doc
			res, err := st.apply(entry{Cmd: tc.retry, At: t0})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("retry: %+v, %v; want %v", res, err, tc.err)
				}
				return
			}
			if err != nil || !res.Duplicate || res.Version != first.Version || st.doc != before {
				t.Fatalf("retry: %+v, %v; first try made version %d", res, err, first.Version)
			}
			if tc.check != nil {
				tc.check(t, st.doc)
			}
		})
	}
}
