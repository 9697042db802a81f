package node

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/pkg/poll"
	"github.com/ringside-live/ringside/pkg/segment"
)

// llMedia is what the test reads of an LL-HLS media playlist.
type llMedia struct {
	raw                      string
	version                  int
	target                   int
	partTarget, partHoldBack float64
	canSkip                  float64
	canBlock                 bool
	msn                      uint64 // EXT-X-MEDIA-SEQUENCE
	skipped                  int
	segs                     []llSegment // complete segments, in order (after the skip)
	tail                     []llPart    // parts of the segment in progress
	hint                     string
	reports                  map[string][2]int64 // URI -> LAST-MSN, LAST-PART (-1 if absent)
	mapURI                   string
}

type llSegment struct {
	msn   uint64
	dur   float64
	uri   string
	parts []llPart
	gap   bool
}

type llPart struct {
	dur   float64
	uri   string
	indep bool
}

var attrRE = regexp.MustCompile(`([A-Z0-9-]+)=("[^"]*"|[^,]*)`)

func attrs(v string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(v, -1) {
		m[a[1]] = strings.Trim(a[2], `"`)
	}
	return m
}

func parseLL(t *testing.T, body string) *llMedia {
	t.Helper()
	p := &llMedia{raw: body, reports: map[string][2]int64{}}
	var parts []llPart
	var dur float64
	gap := false
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		name, val, _ := strings.Cut(line, ":")
		a := attrs(val)
		f := func(k string) float64 { v, _ := strconv.ParseFloat(a[k], 64); return v }
		switch {
		case name == "#EXT-X-VERSION":
			p.version, _ = strconv.Atoi(val)
		case name == "#EXT-X-TARGETDURATION":
			p.target, _ = strconv.Atoi(val)
		case name == "#EXT-X-SERVER-CONTROL":
			p.canBlock, p.partHoldBack, p.canSkip = a["CAN-BLOCK-RELOAD"] == "YES", f("PART-HOLD-BACK"), f("CAN-SKIP-UNTIL")
		case name == "#EXT-X-PART-INF":
			p.partTarget = f("PART-TARGET")
		case name == "#EXT-X-MEDIA-SEQUENCE":
			p.msn, _ = strconv.ParseUint(val, 10, 64)
		case name == "#EXT-X-MAP":
			p.mapURI = a["URI"]
		case name == "#EXT-X-SKIP":
			p.skipped, _ = strconv.Atoi(a["SKIPPED-SEGMENTS"])
		case name == "#EXT-X-PART":
			parts = append(parts, llPart{dur: f("DURATION"), uri: a["URI"], indep: a["INDEPENDENT"] == "YES"})
		case name == "#EXTINF":
			d, _ := strings.CutSuffix(val, ",")
			dur, _ = strconv.ParseFloat(d, 64)
		case name == "#EXT-X-GAP":
			gap = true
		case name == "#EXT-X-PRELOAD-HINT":
			if a["TYPE"] != "PART" {
				t.Fatalf("preload hint of type %q", a["TYPE"])
			}
			p.hint = a["URI"]
		case name == "#EXT-X-RENDITION-REPORT":
			part := int64(-1)
			if v, ok := a["LAST-PART"]; ok {
				part, _ = strconv.ParseInt(v, 10, 64)
			}
			m, _ := strconv.ParseInt(a["LAST-MSN"], 10, 64)
			p.reports[a["URI"]] = [2]int64{m, part}
		case line != "" && !strings.HasPrefix(line, "#"):
			p.segs = append(p.segs, llSegment{msn: p.msn + uint64(p.skipped+len(p.segs)), dur: dur, uri: line, parts: parts, gap: gap})
			parts, gap = nil, false
		}
	}
	p.tail = parts
	return p
}

// last is the position of the last part listed: (msn, part index), the
// part index -1 when the last segment is complete and no part follows.
func (p *llMedia) last() (uint64, int) {
	next := p.msn + uint64(p.skipped+len(p.segs))
	if len(p.tail) > 0 {
		return next, len(p.tail) - 1
	}
	return next - 1, -1
}

// checkRules checks one playlist against RFC 8216bis's rules for a
// server: versions and server control, part durations, parts summing to
// their segment, independence, the hint naming the next part.
func checkRules(t *testing.T, name string, p *llMedia, video bool) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\n%s", name, fmt.Sprintf(format, args...), p.raw)
	}
	if mp, err := segment.ParseMedia([]byte(p.raw)); err != nil {
		fail("does not parse: %v", err)
	} else if err := mp.Validate(); err != nil {
		fail("does not validate: %v", err)
	}
	if p.version < 9 || !p.canBlock || p.partTarget <= 0 || p.target <= 0 {
		fail("version %d, CAN-BLOCK-RELOAD %v, PART-TARGET %v, TARGETDURATION %d", p.version, p.canBlock, p.partTarget, p.target)
	}
	if p.partHoldBack < 3*p.partTarget-1e-9 {
		fail("PART-HOLD-BACK %v is under 3 x PART-TARGET %v", p.partHoldBack, p.partTarget)
	}
	if p.canSkip < 6*float64(p.target) {
		fail("CAN-SKIP-UNTIL %v is under 6 target durations", p.canSkip)
	}
	if p.mapURI == "" {
		fail("no EXT-X-MAP")
	}
	check := func(msn uint64, parts []llPart, segDur float64, complete bool) {
		sum := 0.0
		for i, pt := range parts {
			if pt.dur > p.partTarget+1e-9 {
				fail("part %d.%d lasts %v, more than PART-TARGET %v", msn, i, pt.dur, p.partTarget)
			}
			if want := fmt.Sprintf("%d.%d.m4s", msn, i); !strings.HasSuffix(pt.uri, "/"+want) {
				fail("part %d of segment %d is %q", i, msn, pt.uri)
			}
			sum += pt.dur
		}
		if video && len(parts) > 0 && !parts[0].indep {
			fail("the first part of segment %d is not INDEPENDENT=YES (segments start with a keyframe)", msn)
		}
		if complete && len(parts) > 0 && math.Abs(sum-segDur) > 0.002*float64(len(parts))+0.001 {
			fail("the parts of segment %d sum to %v, its EXTINF is %v", msn, sum, segDur)
		}
		if complete && math.Round(segDur) > float64(p.target) {
			fail("segment %d lasts %v, over the target duration %d", msn, segDur, p.target)
		}
	}
	for _, s := range p.segs {
		check(s.msn, s.parts, s.dur, true)
	}
	next := p.msn + uint64(p.skipped+len(p.segs))
	check(next, p.tail, 0, false)
	// The hint names the next part; once the parts of the segment in
	// progress make a whole segment, the next segment's first.
	want := fmt.Sprintf("%d.%d.m4s", next, len(p.tail))
	sum := 0.0
	for _, pt := range p.tail {
		sum += pt.dur
	}
	if len(p.tail) > 0 && sum >= float64(p.target)-p.partTarget {
		if alt := fmt.Sprintf("%d.0.m4s", next+1); strings.HasSuffix(p.hint, "/"+alt) {
			want = alt
		}
	}
	if !strings.HasSuffix(p.hint, "/"+want) {
		fail("the preload hint names %q, the next part is %s", p.hint, want)
	}
}

// llPush runs ffmpeg's low-latency CMAF push (ENCODER-FACTS.md) into
// event ev of the node at base for seconds of media: 320x180 video at 15
// fps with a keyframe every segment, and AAC audio, each its own
// adaptation set. The key goes in -http_opts: ffmpeg's DASH muxer ignores
// -headers.
func llPush(t *testing.T, ctx context.Context, base, ev string, seconds int) <-chan error {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is required (make test installs it): %v", err)
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
		"-b:v", "300k", "-c:a", "aac", "-b:a", "64k", "-ac", "2",
		"-f", "dash", "-ldash", "1", "-streaming", "1", "-seg_duration", "2", "-frag_duration", "0.5", "-frag_type", "duration",
		"-use_template", "1", "-use_timeline", "0", "-window_size", "6", "-extra_window_size", "2",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a",
		"-http_opts", "headers='Authorization: Bearer " + testKey + "'",
		"-method", "PUT", "-http_persistent", "1", base + "/ingest/" + ev + "/manifest.mpd"}
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() {
		err := cmd.Wait()
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("ffmpeg: %w\n%s", err, stderr.String())
		} else {
			err = nil
		}
		done <- err
		close(exited)
	}()
	t.Cleanup(func() { <-exited })
	return done
}

// TestLowLatencyFFmpeg pushes ffmpeg's low-latency CMAF into a node and
// plays the LL-HLS Ringside writes as a low-latency client does, with
// blocking reloads on the preload hint, checking every playlist against
// the spec's rules and the timeline against the previous playlists; the
// parts (fetched from their hint before they exist, then streamed) tile
// their segment byte for byte; delta updates re-assemble; the MPD is served
// as pushed; a DASH segment asked for before its upload started is held
// and served.
func TestLowLatencyFFmpeg(t *testing.T) {
	n := startNode(t, func(c *Config) {
		c.Ingest.ListedGrace = Duration(3 * time.Second)
		c.Events = []EventConfig{{ID: "ll", StreamKey: testKey,
			LowLatency: LowLatencyConfig{Enabled: true, PartTarget: Duration(500 * time.Millisecond)}}}
	})
	base := "http://" + n.HTTPAddr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	ffmpeg := llPush(t, ctx, base, "ll", 30)
	live := base + "/live/ll/"

	var master *segment.MasterPlaylist
	poll.Until(t, "LL-HLS master playlist", 30*time.Second, func() bool {
		r := do(t, "GET", live+"ll.m3u8", "", nil)
		if r.status != 200 {
			return false
		}
		var err error
		master, err = segment.ParseMaster([]byte(r.body))
		if err != nil {
			t.Fatalf("master: %v\n%s", err, r.body)
		}
		return strings.Contains(r.body, "AUDIO=")
	})
	if len(master.Variants) != 1 || !strings.HasPrefix(master.Variants[0].Codecs, "avc1.") ||
		!strings.Contains(master.Variants[0].Codecs, "mp4a.40.2") || len(master.Media) != 1 {
		t.Fatalf("master: %+v", master)
	}
	videoURI, audioURI := master.Variants[0].URI, master.Media[0].URI

	// The MPD is served as pushed.
	if r := do(t, "GET", live+"manifest.mpd", "", nil); r.status != 200 || !strings.Contains(r.body, "availabilityTimeOffset") {
		t.Fatalf("manifest.mpd: %d\n%s", r.status, r.body)
	}

	var wg sync.WaitGroup
	for _, uri := range []string{videoURI, audioURI} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			followLL(t, live, uri, uri == videoURI, map[string]string{videoURI: audioURI, audioURI: videoURI}[uri])
		}()
	}
	wg.Wait()

	// A plain HLS client (ffmpeg's demuxer, which knows no LL-HLS) plays
	// the same playlists (now that they list whole segments).
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	out, err := exec.CommandContext(pctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", live+"ll.m3u8").Output()
	pcancel()
	if err != nil || !strings.Contains(string(out), "h264") || !strings.Contains(string(out), "aac") {
		t.Fatalf("ffprobe of ll.m3u8 (%v after the start): %v\n%s", time.Since(start), err, out)
	}

	// Too far ahead is 400 (RFC 8216bis 6.2.5.2); a delta update skips.
	r := do(t, "GET", live+videoURI, "", nil)
	cur := parseLL(t, r.body)
	last, _ := cur.last()
	if r := do(t, "GET", live+videoURI+"?_HLS_msn="+strconv.FormatUint(last+10, 10), "", nil); r.status != 400 {
		t.Fatalf("_HLS_msn 10 segments ahead: %d %s", r.status, r.body)
	}
	checkDelta(t, live+videoURI)
	checkDASHHold(t, live, cur)
	cancel()
	if err := <-ffmpeg; err != nil {
		t.Fatal(err)
	}
}

// followLL follows one rendition for a few segments as an LL-HLS client
// does: blocking reload of the next part, the hinted part fetched before
// it exists; it checks every playlist and the timeline, and that the
// parts of each segment tile it.
func followLL(t *testing.T, live, uri string, video bool, sibling string) {
	r := do(t, "GET", live+uri, "", nil)
	if r.status != 200 {
		t.Errorf("%s: %d", uri, r.status)
		return
	}
	p := parseLL(t, r.body)
	checkRules(t, uri, p, video)
	prevMSN, prevPart := p.last()
	type hinted struct {
		uri  string
		body chan []byte
	}
	var hints []hinted
	for range 14 { // 14 parts: three segments and more
		hint := p.hint
		h := hinted{hint, make(chan []byte, 1)}
		hints = append(hints, h)
		go func() { // ask for the hinted part before it exists
			r := do(t, "GET", live+h.uri, "", nil)
			if r.status != 200 {
				h.body <- nil // checked below: only a part that never came may be missing
				return
			}
			h.body <- []byte(r.body)
		}()
		m := regexp.MustCompile(`(\d+)\.(\d+)\.m4s$`).FindStringSubmatch(hint)
		r := do(t, "GET", live+uri+"?_HLS_msn="+m[1]+"&_HLS_part="+m[2], "", nil)
		if r.status != 200 {
			t.Fatalf("blocking reload for %s.%s: %d %s", m[1], m[2], r.status, r.body)
		}
		p = parseLL(t, r.body)
		checkRules(t, uri, p, video)
		msn, part := p.last()
		if msn < prevMSN || msn == prevMSN && part >= 0 && (prevPart < 0 || part < prevPart) {
			t.Fatalf("%s went back from %d.%d to %d.%d", uri, prevMSN, prevPart, msn, part)
		}
		if !hasPart(p, m[1], m[2]) {
			t.Fatalf("blocking reload for %s.%s returned a playlist without it:\n%s", m[1], m[2], p.raw)
		}
		prevMSN, prevPart = msn, part
		// The sibling's report is current: at most one part behind
		// its own playlist fetched now.
		rep, ok := p.reports[sibling]
		if !ok {
			t.Fatalf("%s: no rendition report for %s", uri, sibling)
		}
		sp := parseLL(t, do(t, "GET", live+sibling, "", nil).body)
		smsn, spart := sp.last()
		if uint64(rep[0]) > smsn || uint64(rep[0])+1 < smsn {
			t.Fatalf("%s reports %s at %v; it is at %d.%d", uri, sibling, rep, smsn, spart)
		}
	}
	// Every part fetched from its hint equals the bytes of its segment.
	parts := map[string][]byte{}
	listed := map[string]bool{}
	for _, s := range p.segs {
		for _, pt := range s.parts {
			listed[pt.uri] = true
		}
	}
	for _, pt := range p.tail {
		listed[pt.uri] = true
	}
	for _, h := range hints {
		if b := <-h.body; b != nil {
			parts[h.uri] = b
		} else if listed[h.uri] {
			t.Fatalf("%s: the hinted part %s was not served, yet it is listed", uri, h.uri)
		}
	}
	tiled := 0
	for _, s := range p.segs {
		if len(s.parts) == 0 || s.gap {
			continue
		}
		var joined []byte
		complete := true
		for _, pt := range s.parts {
			b, ok := parts[pt.uri]
			if !ok {
				b = []byte(do(t, "GET", live+pt.uri, "", nil).body)
			}
			if len(b) == 0 {
				complete = false
			}
			joined = append(joined, b...)
		}
		seg := do(t, "GET", live+s.uri, "", nil)
		if seg.status != 200 || !complete || !bytes.Equal(joined, []byte(seg.body)) {
			t.Fatalf("%s: segment %s (%d bytes) is not its %d parts (%d bytes)", uri, s.uri, len(seg.body), len(s.parts), len(joined))
		}
		tiled++
	}
	if tiled < 2 {
		t.Fatalf("%s: only %d segments with parts to compare", uri, tiled)
	}
}

// hasPart reports whether p lists part msn.part or, when segment msn
// ended with fewer parts, the next segment's first part (RFC 8216bis
// 6.2.5.2).
func hasPart(p *llMedia, msn, part string) bool {
	if strings.Contains(p.raw, "/"+msn+"."+part+".m4s\"") {
		return true
	}
	m, _ := strconv.ParseUint(msn, 10, 64)
	for _, s := range p.segs {
		if s.msn == m {
			return strings.Contains(p.raw, "/"+strconv.FormatUint(m+1, 10)+".0.m4s\"")
		}
	}
	return false
}

// checkDelta: a delta update (_HLS_skip=YES) skips what is older than
// CAN-SKIP-UNTIL and, put together with the full playlist, lists the same
// segments.
func checkDelta(t *testing.T, url string) {
	var full, delta *llMedia
	poll.Until(t, "a delta update that skips", 40*time.Second, func() bool {
		full = parseLL(t, do(t, "GET", url, "", nil).body)
		msn, part := full.last()
		q := fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d&_HLS_skip=YES", msn, max(part, 0))
		if part < 0 {
			q = fmt.Sprintf("?_HLS_msn=%d&_HLS_skip=YES", msn)
		}
		r := do(t, "GET", url+q, "", nil)
		if r.status != 200 {
			t.Fatalf("delta update: %d %s", r.status, r.body)
		}
		delta = parseLL(t, r.body)
		return delta.skipped > 0 && delta.msn == full.msn
	})
	if !strings.Contains(delta.raw, "#EXT-X-SKIP:SKIPPED-SEGMENTS=") || len(delta.segs) == 0 {
		t.Fatalf("delta:\n%s", delta.raw)
	}
	// Re-assemble: the full playlist's segments up to the skip, then the
	// delta's; they must agree with the full playlist where they overlap.
	assembled := append(append([]llSegment(nil), full.segs[:delta.skipped]...), delta.segs...)
	for i, s := range full.segs {
		if i >= len(assembled) || assembled[i].uri != s.uri || assembled[i].msn != s.msn {
			t.Fatalf("delta update does not re-assemble into the full playlist at %d:\nfull:\n%s\ndelta:\n%s", i, full.raw, delta.raw)
		}
	}
}

// checkDASHHold: a DASH segment asked for before its upload started is
// held and served (shaka-player asks just before), one far ahead is 404.
func checkDASHHold(t *testing.T, live string, cur *llMedia) {
	// The DASH number of the segment in progress: its URI is the last
	// complete one's plus one.
	last := cur.segs[len(cur.segs)-1].uri
	m := regexp.MustCompile(`chunk-stream(\d+)-(\d+)\.m4s$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("segment URI %q", last)
	}
	num, _ := strconv.Atoi(m[2])
	next := fmt.Sprintf("chunk-stream%s-%05d.m4s", m[1], num+2) // after the one in progress
	r := do(t, "GET", live+next, "", nil)
	if r.status != 200 || len(r.body) == 0 {
		t.Fatalf("%s asked for before its upload: %d %s", next, r.status, r.body)
	}
	far := fmt.Sprintf("chunk-stream%s-%05d.m4s", m[1], num+40)
	if r := do(t, "GET", live+far, "", nil); r.status != 404 {
		t.Fatalf("%s far ahead: %d", far, r.status)
	}
}
