package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"

	"github.com/ringside-live/ringside/pkg/poll"
)

const key = "s3cret-key"

func newOrigin(t testing.TB, mod func(*Config)) *Origin {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListedGrace = 200 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	o, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	o.SetEvents([]EventConfig{{ID: "ev", StreamKeys: []string{key}}})
	return o
}

func put(o *Origin, path, body string) error {
	_, err := o.Put(context.Background(), Upload{Event: "ev", Path: path, Token: key, Body: strings.NewReader(body), ContentLength: -1})
	return err
}

func mediaPL(seq int, n int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", seq)
	for i := seq; i < seq+n; i++ {
		fmt.Fprintf(&b, "#EXTINF:2.000000,\nindex%d.ts\n", i)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func body(t *testing.T, o *Origin, path string) string {
	t.Helper()
	obj, err := o.Get("ev", path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := obj.WaitDone(ctx)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	return string(b)
}

func TestPublishAndAdvance(t *testing.T) {
	o := newOrigin(t, nil)
	for i := range 5 {
		if err := put(o, fmt.Sprintf("0/index%d.ts", i), fmt.Sprintf("seg%d", i)); err != nil {
			t.Fatal(err)
		}
		start := max(0, i-2)
		if err := put(o, "0/index.m3u8", mediaPL(start, i-start+1)); err != nil {
			t.Fatalf("playlist %d: %v", i, err)
		}
	}
	if got := body(t, o, "0/index.m3u8"); !strings.Contains(got, "MEDIA-SEQUENCE:2") {
		t.Fatalf("playlist: %q", got)
	}
	// index0 left the window: retired, still served until DELETEd.
	if got := body(t, o, "0/index0.ts"); got != "seg0" {
		t.Fatalf("retired segment: %q", got)
	}
	if err := o.Delete("ev", "0/index0.ts", key); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Get("ev", "0/index0.ts"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted segment: %v", err)
	}
	if err := o.Delete("ev", "0/index0.ts", key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	ev := o.event("ev")
	if got, want := o.store.used.Load(), int64(len("seg2")*3)+ev.playlists["0/index.m3u8"].cost; got != want {
		t.Fatalf("live bytes = %d, want %d: only the 3 segments in the window and the playlist", got, want)
	}
}

func TestRejections(t *testing.T) {
	o := newOrigin(t, func(c *Config) { c.MaxBodyBytes, c.MaxPlaylistBytes, c.LiveBytes = 300, 300, 1000 })
	put(o, "0/index0.ts", "seg0")
	put(o, "0/index1.ts", "seg1")
	if err := put(o, "0/index.m3u8", mediaPL(0, 2)); err != nil {
		t.Fatal(err)
	}
	good := body(t, o, "0/index.m3u8")
	tests := []struct {
		name  string
		up    Upload
		want  error
		match string
	}{
		{"wrong key", Upload{Event: "ev", Path: "0/x.ts", Token: "nope"}, ErrUnauthorized, "stream key"},
		{"no key", Upload{Event: "ev", Path: "0/x.ts"}, ErrUnauthorized, "stream key"},
		{"no event", Upload{Event: "zz", Path: "0/x.ts", Token: key}, ErrNoEvent, `"zz"`},
		{"traversal", Upload{Event: "ev", Path: "../x.ts", Token: key}, ErrBadPath, "dot"},
		{"extension", Upload{Event: "ev", Path: "0/x.exe", Token: key}, ErrBadPath, "extension"},
		{"declared too large", Upload{Event: "ev", Path: "0/x.ts", Token: key, ContentLength: 301}, ErrTooLarge, "declared 301"},
		{"streamed too large", Upload{Event: "ev", Path: "0/x.ts", Token: key, Body: strings.NewReader(strings.Repeat("x", 301))}, ErrTooLarge, "more than 300"},
		{"regressing", Upload{Event: "ev", Path: "0/index.m3u8", Token: key, Body: strings.NewReader(mediaPL(0, 1))}, ErrInvalidPlaylist, ""},
		{"not a playlist", Upload{Event: "ev", Path: "0/index.m3u8", Token: key, Body: strings.NewReader("hello")}, ErrInvalidPlaylist, "EXTM3U"},
		{"lists missing", Upload{Event: "ev", Path: "0/index.m3u8", Token: key, Body: strings.NewReader(mediaPL(0, 3))}, ErrInvalidPlaylist, "index2.ts"},
		{"escaping uri", Upload{Event: "ev", Path: "0/index.m3u8", Token: key,
			Body: strings.NewReader("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n../../etc/passwd.ts\n")}, ErrInvalidPlaylist, "escapes"},
		{"aborted", Upload{Event: "ev", Path: "0/index9.ts", Token: key, Body: io.MultiReader(strings.NewReader("part"), failing{})}, ErrAborted, "reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.up.Body == nil {
				tt.up.Body = strings.NewReader("data")
			}
			if tt.up.ContentLength == 0 {
				tt.up.ContentLength = -1 // chunked, as ffmpeg sends
			}
			_, err := o.Put(context.Background(), tt.up)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.match) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.want, tt.match)
			}
			if got := body(t, o, "0/index.m3u8"); got != good {
				t.Fatalf("last good playlist replaced by %q", got)
			}
			if _, err := o.Get("ev", "0/x.ts"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("rejected upload stored: %v", err)
			}
			if _, err := o.Get("ev", "0/index9.ts"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("aborted upload stored: %v", err)
			}
		})
	}
	if got, want := o.store.used.Load(), 8+o.event("ev").playlists["0/index.m3u8"].cost; got != want {
		t.Fatalf("live bytes = %d after rejections, want %d", got, want)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestStoreFull(t *testing.T) {
	o := newOrigin(t, func(c *Config) { c.MaxBodyBytes, c.MaxPlaylistBytes, c.LiveBytes = 100, 100, 150 })
	if err := put(o, "0/a.ts", strings.Repeat("a", 100)); err != nil {
		t.Fatal(err)
	}
	err := put(o, "0/b.ts", strings.Repeat("b", 100))
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("err = %v, want ErrStoreFull", err)
	}
	if got := body(t, o, "0/a.ts"); len(got) != 100 {
		t.Fatal("accepted segment lost")
	}
}

// A playlist may finish arriving before the segment it lists (ffmpeg with
// -http_persistent 0): the pending segment is listed, readers wait for it.
func TestPlaylistBeforeSegment(t *testing.T) {
	o := newOrigin(t, func(c *Config) { c.ListedGrace = 5 * time.Second })
	pr, pw := io.Pipe()
	segDone := make(chan error, 1)
	go func() {
		_, err := o.Put(context.Background(), Upload{Event: "ev", Path: "0/index0.ts", Token: key, Body: pr, ContentLength: -1})
		segDone <- err
	}()
	// The playlist is sent before the segment's upload even started.
	plDone := make(chan error, 1)
	go func() { plDone <- put(o, "0/index.m3u8", mediaPL(0, 1)) }()
	poll.Until(t, "condition", 10*time.Second, func() bool { _, err := o.Get("ev", "0/index0.ts"); return err == nil })
	pw.Write([]byte("first half "))
	if err := <-plDone; err != nil {
		t.Fatalf("playlist listing a pending segment: %v", err)
	}
	obj, _ := o.Get("ev", "0/index0.ts")
	if obj.Done() {
		t.Fatal("segment complete before its upload finished")
	}
	var got atomic.Value
	read := make(chan struct{})
	go func() {
		b, _ := io.ReadAll(obj.NewReader(context.Background(), nil))
		got.Store(string(b))
		close(read)
	}()
	pw.Write([]byte("second half"))
	pw.Close()
	if err := <-segDone; err != nil {
		t.Fatal(err)
	}
	<-read
	if got.Load() != "first half second half" {
		t.Fatalf("reader got %q", got.Load())
	}
}

func TestReplacementVisibleOnlyWhenComplete(t *testing.T) {
	o := newOrigin(t, nil)
	put(o, "0/init.mp4", "old")
	_, err := o.Put(context.Background(), Upload{Event: "ev", Path: "0/init.mp4", Token: key,
		Body: io.MultiReader(strings.NewReader("new-partial"), failing{})})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v", err)
	}
	if got := body(t, o, "0/init.mp4"); got != "old" {
		t.Fatalf("after failed replacement: %q", got)
	}
	put(o, "0/init.mp4", "new")
	if got := body(t, o, "0/init.mp4"); got != "new" {
		t.Fatalf("after replacement: %q", got)
	}
}

func TestMasterAndGzip(t *testing.T) {
	o := newOrigin(t, nil)
	master := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n0/index.m3u8\n"
	if err := put(o, "master.m3u8", master); err != nil {
		t.Fatal(err)
	}
	obj, _ := o.Get("ev", "master.m3u8")
	if obj.Gzip == nil || obj.Kind != segment.KindPlaylist {
		t.Fatalf("master object: %+v", obj.Meta)
	}
	if err := put(o, "master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/abs/index.m3u8\n"); !errors.Is(err, ErrInvalidPlaylist) {
		t.Fatalf("absolute variant accepted: %v", err)
	}
}

func TestSetEventsDropsRemoved(t *testing.T) {
	o := newOrigin(t, nil)
	put(o, "0/a.ts", "aaaa")
	o.SetEvents([]EventConfig{{ID: "other", StreamKeys: []string{key}}})
	if _, err := o.Get("ev", "0/a.ts"); !errors.Is(err, ErrNoEvent) {
		t.Fatalf("removed event still served: %v", err)
	}
	if o.store.used.Load() != 0 {
		t.Fatal("bytes of removed event not released")
	}
}
