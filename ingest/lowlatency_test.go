package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/pkg/segment"
)

// llFixture is a low-latency CMAF encode made by ffmpeg for the test: the
// init segments, the media segments of Representation 0 (video, 15 fps,
// a keyframe per 2-s segment, 0.5-s fragments) and of 1 (audio), and a
// dynamic MPD for them that starts now.
type llFixture struct {
	mpd   []byte
	init  [2][]byte
	segs  [2][][]byte
	frags [2][][]bmff.Fragment // per segment
}

func newLLFixture(t testing.TB, seconds int) *llFixture {
	t.Helper()
	return newLLFixtureOf(t, seconds, "0.5", "sine")
}

// newLLFixtureOf is newLLFixture with ffmpeg's -frag_duration frag and
// audio source (lavfi) audio.
func newLLFixtureOf(t testing.TB, seconds int, frag, audio string) *llFixture {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is required (make test installs it): %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=15", "-f", "lavfi", "-i", audio, "-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-c:a", "aac",
		"-f", "dash", "-ldash", "1", "-streaming", "1", "-seg_duration", "2", "-frag_duration", frag, "-frag_type", "duration",
		"-use_template", "1", "-use_timeline", "0", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
		filepath.Join(dir, "manifest.mpd"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	f := &llFixture{}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := segment.ParseMPD(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.Type, m.MediaPresentationDuration = "dynamic", ""
	m.AvailabilityStartTime = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	m.MinimumUpdatePeriod = "PT2S"
	f.mpd = m.Render()
	for r := range 2 {
		f.init[r], err = os.ReadFile(filepath.Join(dir, fmt.Sprintf("init-stream%d.m4s", r)))
		if err != nil {
			t.Fatal(err)
		}
		in, err := bmff.ParseInit(f.init[r])
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; ; n++ {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("chunk-stream%d-%05d.m4s", r, n)))
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var frags []bmff.Fragment
			s := bmff.NewScanner(in, func(fr bmff.Fragment) { frags = append(frags, fr) })
			s.Write(b)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			f.segs[r], f.frags[r] = append(f.segs[r], b), append(f.frags[r], frags)
		}
	}
	return f
}

const llEvent = "ll"

func newLLOrigin(t testing.TB, mod func(*Config)) *Origin {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListedGrace = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	o, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	o.SetEvents([]EventConfig{{ID: llEvent, StreamKeys: []string{key}, PartTarget: 500 * time.Millisecond}})
	return o
}

func llPut(t testing.TB, o *Origin, p string, b []byte) {
	t.Helper()
	if _, err := o.Put(context.Background(), Upload{Event: llEvent, Path: p, Token: key, Body: bytes.NewReader(b), ContentLength: -1}); err != nil {
		t.Fatalf("put %s: %v", p, err)
	}
}

// upload is a segment PUT the test feeds piece by piece.
type upload struct {
	w    *io.PipeWriter
	done chan error
}

func startUpload(o *Origin, p string) *upload {
	r, w := io.Pipe()
	u := &upload{w: w, done: make(chan error, 1)}
	go func() {
		_, err := o.Put(context.Background(), Upload{Event: llEvent, Path: p, Token: key, Body: r, ContentLength: -1})
		r.CloseWithError(err)
		u.done <- err
	}()
	return u
}

func (u *upload) write(t testing.TB, b []byte) {
	t.Helper()
	if _, err := u.w.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (u *upload) finish(t testing.TB) {
	t.Helper()
	u.w.Close()
	if err := <-u.done; err != nil {
		t.Fatal(err)
	}
}

func segPath(r, n int) string { return fmt.Sprintf("chunk-stream%d-%05d.m4s", r, n) }

func getBody(t testing.TB, obj *object.Object) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := obj.WaitDone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mediaOf(t testing.TB, o *Origin, p string) string {
	t.Helper()
	obj, err := o.Get(llEvent, p)
	if err != nil {
		t.Fatalf("get %s: %v", p, err)
	}
	return string(getBody(t, obj))
}

// pushSegment uploads segment n (1-based) of both Representations, each
// in pieces that cut fragments anywhere.
func (f *llFixture) pushSegment(t testing.TB, o *Origin, n int) {
	t.Helper()
	for r := range 2 {
		u := startUpload(o, segPath(r, n))
		b := f.segs[r][n-1]
		for len(b) > 0 {
			k := min(len(b), 1000+len(b)/7)
			u.write(t, b[:k])
			b = b[k:]
		}
		u.finish(t)
	}
}

// TestLowLatencyPackaging: parts appear as fragments complete, whatever
// the write sizes; a part is readable (and streams) from its first byte;
// the playlists and the master are right; blocking requests wait, 400
// too far ahead; the segments stay listed.
func TestLowLatencyPackaging(t *testing.T) {
	f := newLLFixture(t, 8)
	o := newLLOrigin(t, nil)
	llPut(t, o, "init-stream0.m4s", f.init[0])
	llPut(t, o, "init-stream1.m4s", f.init[1])
	llPut(t, o, "manifest.mpd", f.mpd)
	if _, err := o.Get(llEvent, "ll.m3u8"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("master before any part: %v", err)
	}
	f.pushSegment(t, o, 1)
	waitListed(t, o, "ll-0.m3u8", "chunk-stream0-00001.m4s")
	waitListed(t, o, "ll-1.m3u8", "chunk-stream1-00001.m4s")

	// Segment 2 of the video arrives fragment by fragment; a request for
	// the hinted part is answered with the part still arriving.
	u := startUpload(o, segPath(0, 2))
	frags := f.frags[0][1]
	seg := f.segs[0][1]
	if _, err := o.Get(llEvent, "ll-0/2.0.m4s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("part 2.0 before its first byte: %v", err)
	}
	held := make(chan *object.Object, 1)
	go func() { // the hinted part, asked for before it exists
		obj, err := o.Await(context.Background(), llEvent, "ll-0/2.1.m4s")
		if err != nil {
			t.Error(err)
		}
		held <- obj
	}()
	u.write(t, seg[:frags[0].Size-1]) // all but the last byte of the first fragment
	poll.Until(t, "part 2.0 readable while arriving", 5*time.Second, func() bool {
		obj, err := o.Get(llEvent, "ll-0/2.0.m4s")
		return err == nil && !obj.Done() && obj.Len() == int(frags[0].Size-1)
	})
	if strings.Contains(mediaOf(t, o, "ll-0.m3u8"), "#EXT-X-PART:DURATION=0.533,URI=\"ll-0/2.0.m4s\"") {
		t.Fatal("a part is listed before its last byte")
	}
	// A blocking request for it waits until the last byte.
	got := make(chan string, 1)
	go func() {
		obj, err := o.Blocking(context.Background(), llEvent, "ll-0.m3u8", segment.Directives{MSN: 2, Part: 0})
		if err != nil {
			t.Error(err)
			got <- ""
			return
		}
		got <- string(getBody(t, obj))
	}()
	u.write(t, seg[frags[0].Size-1:frags[1].Offset+10])
	if pl := <-got; !strings.Contains(pl, `URI="ll-0/2.0.m4s",INDEPENDENT=YES`) || !strings.Contains(pl, `PRELOAD-HINT:TYPE=PART,URI="ll-0/2.1.m4s"`) {
		t.Fatalf("blocking reload for 2.0:\n%s", pl)
	}
	obj := <-held
	if obj == nil || obj.Len() != 10 {
		t.Fatalf("the hinted part 2.1 was not handed over with its first bytes")
	}
	u.write(t, seg[frags[1].Offset+10:])
	u.finish(t)
	if b := getBody(t, obj); !bytes.Equal(b, seg[frags[1].Offset:frags[1].Offset+frags[1].Size]) {
		t.Fatal("the streamed hinted part differs from its fragment")
	}
	// Too far ahead: more than two segments beyond the live edge.
	if _, err := o.Blocking(context.Background(), llEvent, "ll-0.m3u8", segment.Directives{MSN: 6, Part: -1}); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("_HLS_msn=6: %v", err)
	}
	// The audio rendition of segment 2, then the checks.
	u = startUpload(o, segPath(1, 2))
	u.write(t, f.segs[1][1])
	u.finish(t)
	waitListed(t, o, "ll-0.m3u8", "chunk-stream0-00002.m4s")
	waitListed(t, o, "ll-1.m3u8", "chunk-stream1-00002.m4s")
	pl := mediaOf(t, o, "ll-0.m3u8")
	for _, want := range []string{"#EXT-X-VERSION:9", "#EXT-X-TARGETDURATION:2", "CAN-BLOCK-RELOAD=YES", "#EXT-X-MAP:URI=\"init-stream0.m4s\"",
		"#EXT-X-PROGRAM-DATE-TIME:", "chunk-stream0-00001.m4s", "chunk-stream0-00002.m4s", `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="ll-0/3.0.m4s"`,
		`#EXT-X-RENDITION-REPORT:URI="ll-1.m3u8",LAST-MSN=2`} {
		if !strings.Contains(pl, want) {
			t.Fatalf("ll-0.m3u8 lacks %q:\n%s", want, pl)
		}
	}
	if n := strings.Count(pl, "#EXT-X-PART:"); n != len(f.frags[0][0])+len(f.frags[0][1]) {
		t.Fatalf("%d parts listed, want every fragment:\n%s", n, pl)
	}
	m := mediaOf(t, o, "ll.m3u8")
	mp, err := segment.ParseMaster([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(mp.Variants) != 1 || mp.Variants[0].Width != 160 || !strings.HasPrefix(mp.Variants[0].Codecs, "avc1.") ||
		!strings.HasSuffix(mp.Variants[0].Codecs, ",mp4a.40.2") || mp.Variants[0].URI != "ll-0.m3u8" ||
		len(mp.Media) != 1 || mp.Media[0].URI != "ll-1.m3u8" || mp.Variants[0].Audio != mp.Media[0].GroupID {
		t.Fatalf("master:\n%s", m)
	}
	// Parts tile their segment.
	for n := 1; n <= 2; n++ {
		var joined []byte
		for i := range f.frags[0][n-1] {
			joined = append(joined, getBody(t, mustGet(t, o, fmt.Sprintf("ll-0/%d.%d.m4s", n, i)))...)
		}
		if !bytes.Equal(joined, f.segs[0][n-1]) {
			t.Fatalf("the parts of segment %d are not the segment", n)
		}
	}
	if n := testutil.ToFloat64(o.m.llSlivers); n != 0 {
		t.Errorf("%v segments counted with a short last part, want none", n)
	}
	// Listed segments survive the encoder's DELETE until they leave the
	// LL-HLS window.
	if err := o.Delete(llEvent, segPath(0, 1), key); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Get(llEvent, segPath(0, 1)); err != nil {
		t.Fatalf("a listed segment went with the DELETE: %v", err)
	}
}

// TestShortLastPart: an encoder whose fragments leave a sliver at the end
// of each segment (48 kHz AAC in 23-frame fragments: 94 frames a segment
// leave 2) is packaged as it is, the parts still tiling the segment, and
// counted in ringside_ingest_ll_short_last_parts_total.
func TestShortLastPart(t *testing.T) {
	f := newLLFixtureOf(t, 6, "0.4897", "sine=sample_rate=48000")
	o := newLLOrigin(t, nil)
	llPut(t, o, "init-stream0.m4s", f.init[0])
	llPut(t, o, "init-stream1.m4s", f.init[1])
	llPut(t, o, "manifest.mpd", f.mpd)
	for n := 1; n <= 2; n++ {
		f.pushSegment(t, o, n)
	}
	waitListed(t, o, "ll-1.m3u8", "chunk-stream1-00002.m4s")
	frags := f.frags[1][1]
	if last := frags[len(frags)-1].Seconds(); last > 0.05 {
		t.Fatalf("ffmpeg's last audio fragment of segment 2 lasts %.3f s, want a sliver", last)
	}
	var joined []byte
	for i := range frags {
		joined = append(joined, getBody(t, mustGet(t, o, fmt.Sprintf("ll-1/2.%d.m4s", i)))...)
	}
	if !bytes.Equal(joined, f.segs[1][1]) {
		t.Fatal("the parts of audio segment 2 are not the segment")
	}
	poll.Until(t, "short last parts counted", 5*time.Second, func() bool { return testutil.ToFloat64(o.m.llSlivers) >= 2 })
}

// waitListed waits until the media playlist p lists segment uri, and
// returns it: packaging runs beside the upload.
func waitListed(t testing.TB, o *Origin, p, uri string) string {
	t.Helper()
	var pl string
	poll.Until(t, p+" listing "+uri, 10*time.Second, func() bool {
		obj, err := o.Get(llEvent, p)
		if err != nil {
			return false
		}
		pl = string(getBody(t, obj))
		return strings.Contains(pl, "\n"+uri+"\n")
	})
	return pl
}

func mustGet(t testing.TB, o *Origin, p string) *object.Object {
	t.Helper()
	obj, err := o.Get(llEvent, p)
	if err != nil {
		t.Fatalf("get %s: %v", p, err)
	}
	return obj
}

// TestLowLatencyBadInput: what an encoder gets wrong is refused or
// survived: an invalid MPD is 422 and the previous one stays; names
// Ringside writes cannot be uploaded; a segment that is not CMAF is stored
// and served (DASH) but makes no parts, and the next good segment is
// packaged after a discontinuity; removing the event gives back every
// byte.
func TestLowLatencyBadInput(t *testing.T) {
	f := newLLFixture(t, 8)
	o := newLLOrigin(t, nil)
	llPut(t, o, "init-stream0.m4s", f.init[0])
	llPut(t, o, "init-stream1.m4s", f.init[1])
	llPut(t, o, "manifest.mpd", f.mpd)
	for _, bad := range []string{"<MPD", "not xml at all", strings.Replace(string(f.mpd), `media="chunk`, `media="../../chunk`, 1)} {
		_, err := o.Put(context.Background(), Upload{Event: llEvent, Path: "manifest.mpd", Token: key, Body: strings.NewReader(bad), ContentLength: -1})
		if !errors.Is(err, ErrInvalidPlaylist) {
			t.Fatalf("invalid MPD %.30q: %v", bad, err)
		}
	}
	if got := mediaOf(t, o, "manifest.mpd"); got != string(f.mpd) {
		t.Fatal("an invalid MPD replaced the valid one")
	}
	for _, p := range []string{"ll.m3u8", "ll-0.m3u8", "ll-0/1.0.m4s"} {
		_, err := o.Put(context.Background(), Upload{Event: llEvent, Path: p, Token: key, Body: strings.NewReader("x"), ContentLength: -1})
		if !errors.Is(err, ErrBadPath) {
			t.Fatalf("upload to %s: %v", p, err)
		}
	}
	f.pushSegment(t, o, 1)
	garbage := bytes.Repeat([]byte("not an mp4 box "), 1000)
	llPut(t, o, segPath(0, 2), garbage)
	if got := getBody(t, mustGet(t, o, segPath(0, 2))); !bytes.Equal(got, garbage) {
		t.Fatal("a segment that is not CMAF is not served as uploaded")
	}
	llPut(t, o, segPath(0, 3), f.segs[0][2])
	pl := waitListed(t, o, "ll-0.m3u8", "chunk-stream0-00003.m4s")
	if !strings.Contains(pl, "#EXT-X-DISCONTINUITY\n") || !strings.Contains(pl, "chunk-stream0-00003.m4s") || strings.Contains(pl, "chunk-stream0-00002.m4s") {
		t.Fatalf("after a segment that is not CMAF:\n%s", pl)
	}
	o.SetEvents(nil)
	if used := o.store.used.Load(); used != 0 {
		t.Fatalf("%d live bytes still held after the event was removed", used)
	}
}

// TestDASHHold: a DASH segment asked for before its upload starts is held
// until the upload starts; one far beyond the live edge, or after its
// availability time has long passed, is 404 at once.
func TestDASHHold(t *testing.T) {
	f := newLLFixture(t, 8)
	o := newLLOrigin(t, nil)
	llPut(t, o, "init-stream0.m4s", f.init[0])
	llPut(t, o, "init-stream1.m4s", f.init[1])
	llPut(t, o, "manifest.mpd", f.mpd)
	f.pushSegment(t, o, 1)
	got := make(chan error, 1)
	go func() {
		obj, err := o.Await(context.Background(), llEvent, segPath(0, 2))
		if err == nil && !bytes.Equal(getBody(t, obj), f.segs[0][1]) {
			err = errors.New("held request got other bytes")
		}
		got <- err
	}()
	poll.Until(t, "the request is held", 5*time.Second, func() bool { return gaugeValue(o.m.held) == 1 })
	llPut(t, o, segPath(0, 2), f.segs[0][1])
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := o.Await(context.Background(), llEvent, segPath(0, 40)); !errors.Is(err, ErrNotFound) || time.Since(start) > time.Second {
		t.Fatalf("far ahead: %v after %v", err, time.Since(start))
	}
	if _, err := o.Await(context.Background(), llEvent, "nope.m4s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no such file: %v", err)
	}
}

// BenchmarkBlockingWake1000 parks 1,000 blocking playlist requests on the
// next part of one rendition and measures, per iteration, from the write
// of the part's last byte until every one of them has its playlist.
func BenchmarkBlockingWake1000(b *testing.B) {
	f := newLLFixture(b, 2*(b.N+2))
	o := newLLOrigin(b, nil)
	llPut(b, o, "init-stream0.m4s", f.init[0])
	llPut(b, o, "init-stream1.m4s", f.init[1])
	llPut(b, o, "manifest.mpd", f.mpd)
	llPut(b, o, segPath(0, 1), f.segs[0][0])
	const clients = 1000
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		n := i + 2
		if n > len(f.segs[0]) {
			break
		}
		seg, frag := f.segs[0][n-1], f.frags[0][n-1][0]
		var wg sync.WaitGroup
		var mu sync.Mutex
		var last time.Time
		parked := make(chan struct{}, clients)
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				parked <- struct{}{}
				obj, err := o.Blocking(context.Background(), llEvent, "ll-0.m3u8", segment.Directives{MSN: int64(n), Part: 0})
				if err != nil || obj == nil {
					b.Error(err)
					return
				}
				now := time.Now()
				mu.Lock()
				if now.After(last) {
					last = now
				}
				mu.Unlock()
			}()
		}
		for range clients {
			<-parked
		}
		poll.Until(b, "every client parked", time.Minute, func() bool { return gaugeValue(o.m.parked) >= clients })
		u := startUpload(o, segPath(0, n))
		u.write(b, seg[:frag.Size-1])
		sent := time.Now()
		u.write(b, seg[frag.Size-1:])
		wg.Wait()
		worst = max(worst, last.Sub(sent))
		b.ReportMetric(float64(last.Sub(sent).Microseconds())/1000, "ms-all-answered")
		u.finish(b)
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
}

func gaugeValue(g prometheus.Gauge) float64 { return testutil.ToFloat64(g) }
