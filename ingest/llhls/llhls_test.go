package llhls

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

// feed publishes n complete segments of four 0.5-s parts (the first
// independent) and then parts more parts of the next.
func feed(t testing.TB, r *Rendition, n, parts int) {
	t.Helper()
	for range n {
		for i := range 4 {
			if _, _, err := r.AddPart(Part{Duration: 500 * time.Millisecond, Independent: i == 0}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.EndSegment(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range parts {
		if _, _, err := r.AddPart(Part{Duration: 500 * time.Millisecond, Independent: i == 0}); err != nil {
			t.Fatal(err)
		}
	}
}

func newRendition(t testing.TB, window int) *Rendition {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Window, cfg.Map = window, "init.mp4"
	r, err := New(cfg, 100)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var partRE = regexp.MustCompile(`#EXT-X-PART:DURATION=([0-9.]+),URI="seg(\d+)\.part(\d+)\.m4s"`)

// TestPlaylistRules: the playlist follows RFC 8216bis: it parses and
// validates as a media playlist, parts sum to their segment, no part is
// longer than PART-TARGET, independent parts are marked, the hint names the
// next part, PART-HOLD-BACK is three part targets, and parts are listed
// only near the end.
func TestPlaylistRules(t *testing.T) {
	r := newRendition(t, 6)
	feed(t, r, 8, 2)
	pl := string(r.Playlist(false, []Report{{URI: "../1/index.m3u8", LastMSN: 108, LastPart: 1}}))
	p, err := segment.ParseMedia([]byte(pl))
	if err != nil {
		t.Fatalf("%v\n%s", err, pl)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("%v\n%s", err, pl)
	}
	if p.MediaSequence != 102 || len(p.Segments) != 6 || p.Segments[5].URI != "seg107.m4s" {
		t.Fatalf("window: sequence %d, %d segments\n%s", p.MediaSequence, len(p.Segments), pl)
	}
	for _, want := range []string{
		"#EXT-X-VERSION:9", "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=12",
		"#EXT-X-PART-INF:PART-TARGET=0.5", `#EXT-X-MAP:URI="init.mp4"`, "#EXT-X-PROGRAM-DATE-TIME:",
		`#EXT-X-PART:DURATION=0.5,URI="seg108.part1.m4s"`, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg108.part2.m4s"`,
		`#EXT-X-RENDITION-REPORT:URI="../1/index.m3u8",LAST-MSN=108,LAST-PART=1`,
	} {
		if !strings.Contains(pl, want) {
			t.Fatalf("playlist lacks %q\n%s", want, pl)
		}
	}
	sums := map[string]float64{}
	for _, m := range partRE.FindAllStringSubmatch(pl, -1) {
		d, _ := strconv.ParseFloat(m[1], 64)
		if d > 0.5 {
			t.Fatalf("part %s.%s of %v s is longer than PART-TARGET", m[2], m[3], d)
		}
		sums[m[2]] += d
	}
	// Parts within three target durations (6 s) of the end: 105..107 and
	// the segment in progress.
	for _, msn := range []string{"105", "106", "107"} {
		if sums[msn] != 2 {
			t.Fatalf("parts of %s sum to %v, want its 2 s\n%s", msn, sums[msn], pl)
		}
	}
	if _, ok := sums["103"]; ok {
		t.Fatalf("parts listed for a segment far from the end\n%s", pl)
	}
	if strings.Count(pl, "INDEPENDENT=YES") != 4 {
		t.Fatalf("independent parts: %d\n%s", strings.Count(pl, "INDEPENDENT=YES"), pl)
	}
	// After the segment ends, the hint moves to the next segment's first part.
	r.AddPart(Part{Duration: 500 * time.Millisecond})
	r.AddPart(Part{Duration: 500 * time.Millisecond})
	r.EndSegment()
	if pl := string(r.Playlist(false, nil)); !strings.Contains(pl, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg109.part0.m4s"`) {
		t.Fatalf("hint after the segment ended\n%s", pl)
	}
	if _, _, err := r.AddPart(Part{Duration: 700 * time.Millisecond}); !errors.Is(err, ErrPartTooLong) {
		t.Fatalf("a part longer than the target: %v", err)
	}
}

// TestDeltaUpdate: a delta playlist (_HLS_skip=YES) replaces what is older
// than CAN-SKIP-UNTIL by EXT-X-SKIP, and re-assembles into the full one.
func TestDeltaUpdate(t *testing.T) {
	r := newRendition(t, 12)
	feed(t, r, 12, 1)
	full, delta := string(r.Playlist(false, nil)), string(r.Playlist(true, nil))
	m := regexp.MustCompile(`#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)`).FindStringSubmatch(delta)
	if m == nil {
		t.Fatalf("no EXT-X-SKIP\n%s", delta)
	}
	skipped, _ := strconv.Atoi(m[1])
	uris := func(pl string) []string {
		var out []string
		for _, l := range strings.Split(pl, "\n") {
			if strings.HasPrefix(l, "seg") {
				out = append(out, l)
			}
		}
		return out
	}
	f, d := uris(full), uris(delta)
	if skipped == 0 || len(f) != skipped+len(d) || strings.Join(f[skipped:], " ") != strings.Join(d, " ") {
		t.Fatalf("skipped %d: full %v, delta %v", skipped, f, d)
	}
	// What the delta keeps spans at least CAN-SKIP-UNTIL (12 s).
	if len(d)*2 < 12 {
		t.Fatalf("delta keeps %d segments", len(d))
	}
}

// TestBlockingReload: a request for a part not yet published waits until
// it is; one too far ahead is refused at once; a part index past a
// complete segment is the next segment's first part.
func TestBlockingReload(t *testing.T) {
	r := newRendition(t, 6)
	feed(t, r, 2, 1) // 100, 101 complete; 102.0 published
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx, 102, 0); err != nil {
		t.Fatalf("a published part: %v", err)
	}
	if err := r.Wait(ctx, 105, 0); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("three segments ahead: %v", err)
	}
	if err := r.Wait(ctx, 102, 9); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("beyond the advance part limit: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Wait(ctx, 102, 2) }()
	select {
	case err := <-done:
		t.Fatalf("returned before the part: %v", err)
	default:
	}
	r.AddPart(Part{Duration: 500 * time.Millisecond})
	r.AddPart(Part{Duration: 500 * time.Millisecond})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() { done <- r.Wait(ctx, 102, 7) }() // past the segment's last part: 103.0
	r.AddPart(Part{Duration: 500 * time.Millisecond})
	r.EndSegment()
	r.AddPart(Part{Duration: 500 * time.Millisecond, Independent: true})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if err := r.Wait(short, 104, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a wait past its deadline: %v", err)
	}
}

// TestDiscontinuityGapAndHint: a segment begun as discontinuous gets
// EXT-X-DISCONTINUITY (and the sequence counts those that left the
// window), a failed one EXT-X-GAP with its parts, Begin names the URI, an
// overlong segment is completed with ErrSegmentTooLong, and the hint moves
// to the next segment once the parts make a whole segment.
func TestDiscontinuityGapAndHint(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window, cfg.Map, cfg.SegmentDuration = 3, "init.mp4", 2*time.Second
	r, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	half := Part{Duration: 500 * time.Millisecond, Independent: true}
	seg := func(uri string, disc, gap bool, parts int) {
		t.Helper()
		if msn, err := r.Begin(Segment{URI: uri, Discontinuity: disc}); err != nil || msn != r.next {
			t.Fatalf("begin %s: %d %v", uri, msn, err)
		}
		for range parts {
			if _, _, err := r.AddPart(half); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.End(0, gap); err != nil {
			t.Fatal(err)
		}
	}
	seg("a.m4s", false, false, 4)
	seg("b.m4s", true, false, 4)
	seg("c.m4s", false, true, 2)
	pl := string(r.Playlist(false, nil))
	for _, want := range []string{"#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:", "\nb.m4s\n", "#EXT-X-GAP\n#EXTINF:1,\nc.m4s\n", `seg3.part1.m4s`} {
		if !strings.Contains(pl, want) {
			t.Fatalf("playlist lacks %q:\n%s", want, pl)
		}
	}
	if _, err := r.Begin(Segment{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r.AddPart(half)
		if m, p := r.Next(); m != 4 || p != i+1 {
			t.Fatalf("after %d parts the hint is %d.%d", i+1, m, p)
		}
	}
	r.AddPart(half) // 2 s: the segment is whole
	if m, p := r.Next(); m != 5 || p != 0 {
		t.Fatalf("a whole segment's hint is %d.%d, want 5.0", m, p)
	}
	if !strings.Contains(string(r.Playlist(false, nil)), `PRELOAD-HINT:TYPE=PART,URI="seg5.part0.m4s"`) {
		t.Fatal("the playlist's hint is not the next segment's first part")
	}
	if _, err := r.Begin(Segment{}); !errors.Is(err, ErrOrder) {
		t.Fatalf("begin with a segment in progress: %v", err)
	}
	r.AddPart(half)
	r.AddPart(half)
	if _, err := r.End(0, false); !errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("a 3-s segment with a 2-s target: %v", err)
	}
	// b.m4s (discontinuous) left the 3-segment window.
	seg("e.m4s", false, false, 4)
	if pl := string(r.Playlist(false, nil)); !strings.Contains(pl, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n") || strings.Contains(pl, "b.m4s") {
		t.Fatalf("after the discontinuity left the window:\n%s", pl)
	}
}

// BenchmarkWake1000: 1,000 requests parked on the next part are all
// released by its publication; reports the time from AddPart until the
// last of them returned.
func BenchmarkWake1000(b *testing.B) {
	r := newRendition(b, 6)
	feed(b, r, 1, 0)
	ctx := context.Background()
	var worst time.Duration
	for b.Loop() {
		msn, part, _ := r.Position()
		want := part + 1
		if part < 0 {
			msn, want = msn+1, 0
		}
		var wg sync.WaitGroup
		var ready sync.WaitGroup
		ready.Add(1000)
		for range 1000 {
			wg.Go(func() {
				ready.Done()
				r.Wait(ctx, msn, want)
			})
		}
		ready.Wait()
		start := time.Now()
		if _, _, err := r.AddPart(Part{Duration: 500 * time.Millisecond}); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		worst = max(worst, time.Since(start))
		if _, p, _ := r.Position(); p == 3 {
			r.EndSegment()
		}
	}
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs/1000-wakes")
}

func FuzzDirectives(f *testing.F) {
	f.Add(uint64(101), 2, true)
	f.Fuzz(func(t *testing.T, msn uint64, part int, skip bool) {
		r := newRendition(t, 6)
		feed(t, r, 2, 1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		d := segment.Directives{MSN: int64(msn % (1 << 53)), Part: int64(part % 100), Skip: ""}
		if d.Part < 0 {
			d.Part = -1
		}
		if skip {
			d.Skip = "YES"
		}
		r.Directives(ctx, d, nil) // any answer, never a panic
	})
}
