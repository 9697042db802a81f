package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

// Regression tests of issue 12 ("Hardening"): each reproduces a finding of
// the attack run.

// observed is an origin whose log and metrics the test reads.
type observed struct {
	*Origin
	log *syncbuf.Buffer
	reg *prometheus.Registry
}

func newObserved(t *testing.T, mod func(*Config)) observed {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListedGrace = 200 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	ob := observed{log: &syncbuf.Buffer{}, reg: prometheus.NewRegistry()}
	o, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(ob.log, nil)), Registerer: ob.reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	o.SetEvents([]EventConfig{{ID: "ev", StreamKeys: []string{key}}})
	ob.Origin = o
	return ob
}

// rejected reads ringside_ingest_rejected_total{reason}.
func (ob observed) rejected(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := ob.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ringside_ingest_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no rejected_total{reason=%q}", reason)
	return 0
}

// Finding 1: a body shorter than its Content-Length was stored as complete
// and replaced the published file.
func TestShortBodyIsAborted(t *testing.T) {
	full := strings.Repeat("A", 188000)
	tests := []struct {
		name     string
		path     string
		declared int64
		body     string
		before   string // published before the short upload, "" for none
	}{
		{"replacement segment", "0/index1.ts", 188000, strings.Repeat("B", 10000), full},
		{"new segment", "0/index2.ts", 188000, strings.Repeat("B", 10000), ""},
		{"empty body", "0/index3.ts", 5000, "", ""},
		{"replacement init", "0/init.mp4", 3000, "short", "init-old"},
		{"manifest", "manifest.mpd", 900, "<MPD", ""},
		{"playlist", "0/index.m3u8", 4000, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ob := newObserved(t, nil)
			if tt.before != "" {
				if err := put(ob.Origin, tt.path, tt.before); err != nil {
					t.Fatal(err)
				}
			}
			used := ob.store.used.Load()
			_, err := ob.Put(context.Background(), Upload{Event: "ev", Path: tt.path, Token: key,
				Body: strings.NewReader(tt.body), ContentLength: tt.declared})
			if !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), fmt.Sprintf("of %d declared", tt.declared)) {
				t.Fatalf("err = %v, want ErrAborted naming the %d declared bytes", err, tt.declared)
			}
			if tt.before != "" {
				if got := body(t, ob.Origin, tt.path); got != tt.before {
					t.Fatalf("published file replaced by a short body (%d bytes)", len(got))
				}
			} else if _, err := ob.Get("ev", tt.path); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInactive) {
				t.Fatalf("short upload stored: %v", err)
			}
			if got := ob.store.used.Load(); got != used {
				t.Fatalf("live bytes %d after the rejected upload, want %d", got, used)
			}
			checkAccounting(t, ob.Origin)
			if got := ob.rejected(t, reasonAborted); got != 1 {
				t.Fatalf("rejected{aborted} = %v, want 1", got)
			}
			if !strings.Contains(ob.log.String(), "upload rejected") {
				t.Fatalf("rejection not logged: %q", ob.log.String())
			}
		})
	}
}

// Finding 1: the buffer of a declared length was allocated before any byte
// arrived, outside the live budget (12 x 64 MiB declared = +767 MiB heap).
func TestDeclaredLengthNotPreallocated(t *testing.T) {
	o := newOrigin(t, nil)
	const uploads, sent = 4, 16 << 10
	declared := o.cfg.MaxBodyBytes
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	pws := make([]*io.PipeWriter, uploads)
	errs := make(chan error, uploads)
	for i := range uploads {
		pr, pw := io.Pipe()
		pws[i] = pw
		go func() {
			_, err := o.Put(context.Background(), Upload{Event: "ev", Path: fmt.Sprintf("0/big%d.ts", i), Token: key,
				Body: pr, ContentLength: declared})
			errs <- err
		}()
		pw.Write(make([]byte, sent))
	}
	poll.Until(t, "every upload pending with its first bytes", 10*time.Second, func() bool {
		for i := range uploads {
			obj, err := o.Get("ev", fmt.Sprintf("0/big%d.ts", i))
			if err != nil || obj.Len() != sent {
				return false
			}
		}
		return true
	})
	var during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&during)
	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	accounted, allocated := o.store.used.Load(), int64(0)
	for i := range uploads {
		obj, _ := o.Get("ev", fmt.Sprintf("0/big%d.ts", i))
		allocated += int64(obj.Cap())
	}
	for _, pw := range pws {
		pw.CloseWithError(errors.New("encoder gone"))
	}
	for range uploads {
		if err := <-errs; !errors.Is(err, ErrAborted) {
			t.Errorf("upload: %v", err)
		}
	}
	if grown > 32<<20 {
		t.Fatalf("heap grew by %d MiB for %d uploads that sent %d KiB each (%d bytes accounted)",
			grown>>20, uploads, sent>>10, accounted)
	}
	if accounted != allocated {
		t.Fatalf("%d bytes accounted for %d bytes of body buffers", accounted, allocated)
	}
	if got := o.store.used.Load(); got != 0 {
		t.Fatalf("live bytes %d after every upload failed", got)
	}
}

func masterPL(variants int) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n")
	for i := range variants {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=640x360\n%d/index.m3u8\n", 800000+i, i%4)
	}
	return b.String()
}

// Finding 2: published playlists were outside the live budget and
// unbounded in number (100 x 1 MiB playlists = +1.1 GiB).
func TestPlaylistsCountAgainstLiveBytes(t *testing.T) {
	o := newOrigin(t, func(c *Config) { c.MaxBodyBytes, c.MaxPlaylistBytes, c.LiveBytes = 4<<10, 4<<10, 32<<10 })
	pl := masterPL(40) // about 2 KiB
	var published []string
	var err error
	for i := range 100 {
		p := fmt.Sprintf("m%d.m3u8", i)
		if err = put(o, p, pl); err != nil {
			break
		}
		published = append(published, p)
	}
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("after %d playlists of %d bytes in a %d-byte budget: err = %v, want ErrStoreFull",
			len(published), len(pl), o.cfg.LiveBytes, err)
	}
	if used := o.store.used.Load(); used < int64(len(published)*len(pl)) || used > o.cfg.LiveBytes {
		t.Fatalf("live bytes %d for %d playlists of %d bytes (budget %d)", used, len(published), len(pl), o.cfg.LiveBytes)
	}
	for _, p := range published { // nothing published was evicted
		if got := body(t, o, p); got != pl {
			t.Fatalf("%s lost", p)
		}
	}
	// Deleting one gives its bytes back: the one refused fits now.
	used := o.store.used.Load()
	if err := o.Delete("ev", published[1], key); err != nil {
		t.Fatal(err)
	}
	if o.store.used.Load() >= used {
		t.Fatal("deleting a playlist released nothing")
	}
	if err := put(o, "again.m3u8", pl); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	checkAccounting(t, o)
	// One that can never fit is 413, not 507.
	if err := put(o, "huge.m3u8", masterPL(100)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized playlist: %v", err)
	}
}

// Finding 3: URIs leaving the event were accepted in tags other than
// EXTINF and EXT-X-MAP.
func TestOffEventTagURIs(t *testing.T) {
	media := func(lines ...string) string {
		return "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=0.5\n" +
			strings.Join(lines, "\n") + "\n#EXTINF:2.0,\nindex0.ts\n"
	}
	master := func(lines ...string) string {
		return "#EXTM3U\n#EXT-X-VERSION:7\n" + strings.Join(lines, "\n") +
			"\n#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"a\"\n0/index.m3u8\n"
	}
	audio := `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="%s"`
	tests := []struct {
		name, path, pl string
		bad            string // "" if accepted; else the tag named in the error
		line           int
	}{
		{"key https", "0/index.m3u8", media(`#EXT-X-KEY:METHOD=AES-128,URI="https://evil.example/k"`), "EXT-X-KEY", 5},
		{"key escapes", "0/index.m3u8", media(`#EXT-X-KEY:METHOD=AES-128,URI="../../other/k.ts"`), "EXT-X-KEY", 5},
		{"key rooted", "0/index.m3u8", media(`#EXT-X-KEY:METHOD=AES-128,URI="/other/k.ts"`), "EXT-X-KEY", 5},
		{"key unquoted", "0/index.m3u8", media(`#EXT-X-KEY:METHOD=AES-128,URI=k.ts`), "EXT-X-KEY", 5},
		{"key data", "0/index.m3u8", media(`#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,KEYFORMAT="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",URI="data:text/plain;base64,AAAA"`), "", 0},
		{"key none", "0/index.m3u8", media(`#EXT-X-KEY:METHOD=NONE`), "", 0},
		{"part off", "0/index.m3u8", media(`#EXT-X-PART:DURATION=0.5,URI="//evil.example/p.m4s"`), "EXT-X-PART", 5},
		{"part data", "0/index.m3u8", media(`#EXT-X-PART:DURATION=0.5,URI="data:,abc"`), "EXT-X-PART", 5},
		{"part ok", "0/index.m3u8", media(`#EXT-X-PART:DURATION=0.5,URI="index0.0.m4s"`), "", 0},
		{"hint off", "0/index.m3u8", media(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="http://evil.example/p.m4s"`), "EXT-X-PRELOAD-HINT", 5},
		{"hint ok", "0/index.m3u8", media(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="index0.1.m4s"`), "", 0},
		{"report off", "0/index.m3u8", media(`#EXT-X-RENDITION-REPORT:URI="../../x/index.m3u8",LAST-MSN=1`), "EXT-X-RENDITION-REPORT", 5},
		{"prefetch off", "0/index.m3u8", media(`#EXT-X-PREFETCH:https://evil.example/c.m4s`), "EXT-X-PREFETCH", 5},
		{"media off", "master.m3u8", master(fmt.Sprintf(audio, "https://evil.example/a.m3u8")), "EXT-X-MEDIA", 3},
		{"media ok", "master.m3u8", master(fmt.Sprintf(audio, "a/index.m3u8")), "", 0},
		{"iframe off", "master.m3u8", master(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en"`,
			`#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="../x/iframe.m3u8"`), "EXT-X-I-FRAME-STREAM-INF", 4},
		{"session key off", "master.m3u8", master(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en"`,
			`#EXT-X-SESSION-KEY:METHOD=AES-128,URI="https://evil.example/k"`), "EXT-X-SESSION-KEY", 4},
		{"steering off", "master.m3u8", master(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en"`,
			`#EXT-X-CONTENT-STEERING:SERVER-URI="https://evil.example/steer.json"`), "EXT-X-CONTENT-STEERING", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, nil)
			if err := put(o, "0/index0.ts", "seg0"); err != nil {
				t.Fatal(err)
			}
			err := put(o, tt.path, tt.pl)
			if tt.bad == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			want := fmt.Sprintf("line %d: %s", tt.line, tt.bad)
			if !errors.Is(err, ErrInvalidPlaylist) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want ErrInvalidPlaylist naming %q", err, want)
			}
		})
	}
}

// Finding 4: removing an event while an upload into it was arriving leaked
// the upload's reservation forever.
func TestEventRemovedMidUpload(t *testing.T) {
	for _, replacing := range []bool{false, true} {
		t.Run(fmt.Sprintf("replacing=%v", replacing), func(t *testing.T) {
			o := newOrigin(t, nil)
			if replacing {
				if err := put(o, "0/init.mp4", "old"); err != nil {
					t.Fatal(err)
				}
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				_, err := o.Put(context.Background(), Upload{Event: "ev", Path: "0/init.mp4", Token: key, Body: pr, ContentLength: -1})
				done <- err
			}()
			pw.Write([]byte("first bytes "))
			poll.Until(t, "upload reserved its first bytes", 10*time.Second, func() bool { return o.store.used.Load() > 3 })
			o.SetEvents([]EventConfig{{ID: "other", StreamKeys: []string{key}}})
			pw.Write([]byte("the rest"))
			pw.Close()
			if err := <-done; !errors.Is(err, ErrNoEvent) {
				t.Fatalf("upload into a removed event: err = %v, want ErrNoEvent", err)
			}
			if got := o.store.used.Load(); got != 0 {
				t.Fatalf("live bytes %d leaked by the removed event", got)
			}
		})
	}
}

// Finding 4: init segments and manifests that no playlist lists were never
// swept.
func TestUnlistedInitAndManifestSwept(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	cfg := DefaultConfig()
	o, err := New(cfg, Deps{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	o.SetEvents([]EventConfig{{ID: "ev", StreamKeys: []string{key}}})
	for p, b := range map[string]string{
		"0/init_1.mp4": "never listed init", "old.mpd": testMPD("old"), "0/init_0.mp4": "listed init", "0/index0.m4s": "seg0",
	} {
		if err := put(o, p, b); err != nil {
			t.Fatal(err)
		}
	}
	now.Add(int64(time.Second))
	if err := put(o, "live.mpd", testMPD("newest")); err != nil {
		t.Fatal(err)
	}
	pl := "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init_0.mp4\"\n#EXTINF:2.0,\nindex0.m4s\n"
	if err := put(o, "0/index.m3u8", pl); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(cfg.OrphanTTL + time.Second))
	if err := put(o, "0/index1.m4s", "seg1"); err != nil { // any upload lets the sweeper run
		t.Fatal(err)
	}
	checkAccounting(t, o)
	for p, want := range map[string]error{
		"0/init_1.mp4": ErrNotFound, "old.mpd": ErrNotFound,
		"0/init_0.mp4": nil, "live.mpd": nil, "0/index0.m4s": nil, "0/index.m3u8": nil,
	} {
		if _, err := o.Get("ev", p); !errors.Is(err, want) {
			t.Errorf("%s after OrphanTTL: err = %v, want %v", p, err, want)
		}
	}
}

// Finding 4: one event's encoder could take the whole live budget and make
// every other event get 507. By default each event is guaranteed
// LiveBytes/(2 x events) and borrows only what no other guarantee needs;
// EventBytes caps each event instead.
func TestOneEventCannotStarveOthers(t *testing.T) {
	tests := []struct {
		name       string
		events     int   // "hog", then quiet ones
		eventBytes int64 // 0: guarantees
		hog, quiet int   // 100-byte files each gets before 507
	}{
		{"lone event uses it all", 1, 0, 12, 0},
		{"two events", 2, 0, 9, 3},
		{"three events", 3, 0, 8, 2},
		{"fixed share", 2, 400, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, func(c *Config) {
				c.MaxBodyBytes, c.MaxPlaylistBytes, c.LiveBytes, c.EventBytes = 100, 100, 1200, tt.eventBytes
			})
			evs := []EventConfig{{ID: "hog", StreamKeys: []string{key}}}
			for i := 1; i < tt.events; i++ {
				evs = append(evs, EventConfig{ID: fmt.Sprintf("quiet%d", i), StreamKeys: []string{key}})
			}
			o.SetEvents(evs)
			fill := func(id string) int {
				for i := 0; i < 20; i++ {
					_, err := o.Put(context.Background(), Upload{Event: id, Path: fmt.Sprintf("0/index%d.ts", i), Token: key,
						Body: strings.NewReader(strings.Repeat("x", 100)), ContentLength: 100})
					if errors.Is(err, ErrStoreFull) {
						return i
					}
					if err != nil {
						t.Fatalf("%s: %v", id, err)
					}
				}
				return -1
			}
			if got := fill("hog"); got != tt.hog {
				t.Fatalf("the greedy event took %d files, want %d", got, tt.hog)
			}
			for _, ec := range evs[1:] {
				if got := fill(ec.ID); got < tt.quiet {
					t.Fatalf("%s starved: %d files, want at least %d", ec.ID, got, tt.quiet)
				}
			}
			checkAccounting(t, o)
		})
	}
}

// checkAccounting fails t unless the live bytes are exactly what the
// events hold, and each file holds what its buffer allocated. No upload
// may be in progress.
func checkAccounting(t testing.TB, o *Origin) {
	t.Helper()
	o.mu.RLock()
	defer o.mu.RUnlock()
	var total int64
	for id, ev := range o.events {
		var held int64
		ev.mu.Lock()
		for p, f := range ev.files {
			if c := int64(f.obj.Cap()); f.size != c {
				t.Errorf("%s/%s: %d bytes accounted, %d allocated", id, p, f.size, c)
			}
			held += f.size
		}
		for _, pl := range ev.playlists {
			held += pl.cost
		}
		ev.mu.Unlock()
		if got := ev.used.Load(); got != held {
			t.Errorf("event %s: %d bytes accounted, holds %d", id, got, held)
		}
		total += held
	}
	if got := o.store.used.Load(); got != total {
		t.Errorf("live bytes %d, events hold %d", got, total)
	}
}

// A file past MaxEventFiles is 507; what the event holds stays, and a
// replacement (no new file) is still taken.
func TestMaxEventFiles(t *testing.T) {
	o := newOrigin(t, func(c *Config) { c.MaxEventFiles = 4 })
	for _, p := range []string{"0/index0.ts", "0/index1.ts", "0/init.mp4"} {
		if err := put(o, p, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(o, "0/index.m3u8", mediaPL(0, 2)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"0/index2.ts", "master.m3u8"} {
		body := "x"
		if p == "master.m3u8" {
			body = masterPL(1)
		}
		if err := put(o, p, body); !errors.Is(err, ErrStoreFull) || !strings.Contains(err.Error(), "4 files") {
			t.Fatalf("%s: err = %v, want ErrStoreFull naming the 4 files", p, err)
		}
	}
	if err := put(o, "0/init.mp4", "y"); err != nil {
		t.Fatalf("replacement at the file limit: %v", err)
	}
	if err := put(o, "0/index.m3u8", mediaPL(1, 1)); err != nil {
		t.Fatalf("playlist update at the file limit: %v", err)
	}
	checkAccounting(t, o)
}

// countingSink is a sink that counts its reallocations.
type countingSink struct {
	growBuf
	resizes int
}

func (c *countingSink) SetCap(n int) { c.resizes++; c.growBuf.SetCap(n) }

// Growth reserves before it allocates, doubles while the budget allows and
// then takes the room left, so a body that fits a nearly full budget is
// not copied again for every chunk.
func TestBudgetWriterGrowth(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name          string
		live, body    int64
		declared      int64
		wantCap       int64
		maxResizes    int
		wantErr       error
		preUsedEvents int64
	}{
		{"chunked", 64 * mib, 5 * mib, -1, 8 * mib, 9, nil, 0},
		{"declared", 64 * mib, 5 * mib, 5 * mib, 5 * mib, 9, nil, 0},
		{"room for the body, not for doubling", 64 * mib, 40 * mib, -1, 48 * mib, 12, nil, 16 * mib},
		{"no room", 64 * mib, 50 * mib, -1, 0, 20, ErrStoreFull, 16 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, func(c *Config) { c.LiveBytes = tt.live })
			ev := o.event("ev")
			if err := o.reserve(ev, tt.preUsedEvents); err != nil {
				t.Fatal(err)
			}
			dst := &countingSink{}
			bw := o.newBudgetWriter(ev, dst, "0/x.ts", o.cfg.MaxBodyBytes, tt.declared)
			_, err := io.Copy(bw, io.LimitReader(zeros{}, tt.body))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && bw.reserved != tt.wantCap {
				t.Errorf("reserved %d MiB, want %d MiB", bw.reserved/mib, tt.wantCap/mib)
			}
			if int64(cap(dst.b)) != bw.reserved || ev.used.Load() != tt.preUsedEvents+bw.reserved {
				t.Errorf("cap %d, reserved %d, event holds %d", cap(dst.b), bw.reserved, ev.used.Load())
			}
			if dst.resizes > tt.maxResizes {
				t.Errorf("%d reallocations for %d MiB", dst.resizes, tt.body/mib)
			}
			bw.abandon()
			o.release(ev, tt.preUsedEvents)
			if o.store.used.Load() != 0 {
				t.Fatalf("live bytes %d after abandon", o.store.used.Load())
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"zero file limit is the default", func(c *Config) { c.MaxEventFiles = 0 }, ""},
		{"event share", func(c *Config) { c.EventBytes = 128 << 20 }, ""},
		{"event share below a body", func(c *Config) { c.EventBytes = 1 << 20 }, "event bytes"},
		{"event share over live", func(c *Config) { c.EventBytes = 2 << 30 }, "event bytes"},
		{"negative files", func(c *Config) { c.MaxEventFiles = -1 }, "max event files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

// testMPD is a small valid static MPD whose Period id is id.
func testMPD(id string) string {
	return `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S"` +
		` minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period id="` + id + `">` +
		`<AdaptationSet mimeType="video/mp4"><Representation id="0" bandwidth="1000" codecs="avc1.42c016">` +
		`<SegmentTemplate media="c-$Number$.m4s" initialization="i.m4s" duration="2" timescale="1"/>` +
		`</Representation></AdaptationSet></Period></MPD>`
}
