// Package llhls is one rendition's low-latency HLS timeline (RFC 8216bis):
// segments made of parts as a CMAF push arrives, the media playlist with
// EXT-X-PART entries, a preload hint and rendition reports, delta updates
// (EXT-X-SKIP), and blocking playlist reloads that wait for a part.
//
// Parts are their own files (URIs), not byte ranges of the growing
// segment: each part is a small object that is complete when its last
// byte arrives, which every cache and CDN serves without Range support of
// objects still being written; the segment is also published whole, so
// plain HLS clients play the same playlist.
package llhls

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/pkg/segment"
)

// Config shapes a rendition's playlist.
type Config struct {
	// PartTarget is EXT-X-PART-INF's PART-TARGET: no part is longer.
	PartTarget time.Duration
	// TargetDuration is EXT-X-TARGETDURATION, in whole seconds: no
	// segment's duration rounds above it.
	TargetDuration int
	// Window is how many complete segments the playlist lists.
	Window int
	// SegmentDuration is the encoder's nominal segment duration, 0 if
	// unknown. When the parts of the segment in progress add up to it
	// (less half a part target), the preload hint names the next
	// segment's first part: the encoder is about to end the segment.
	SegmentDuration time.Duration
	// Map is the init segment's URI (EXT-X-MAP), "" for none.
	Map string
	// SegmentURI and PartURI name segment msn and part i of segment msn,
	// relative to the playlist.
	SegmentURI func(msn uint64) string
	PartURI    func(msn uint64, part int) string
}

// DefaultConfig: 0.5-s parts of 2-s segments, six segments listed.
func DefaultConfig() Config {
	return Config{PartTarget: 500 * time.Millisecond, TargetDuration: 2, Window: 6,
		SegmentURI: func(msn uint64) string { return "seg" + strconv.FormatUint(msn, 10) + ".m4s" },
		PartURI: func(msn uint64, part int) string {
			return "seg" + strconv.FormatUint(msn, 10) + ".part" + strconv.Itoa(part) + ".m4s"
		}}
}

func (c Config) validate() error {
	switch {
	case c.PartTarget <= 0 || c.TargetDuration <= 0 || c.Window <= 0:
		return errors.New("llhls: part target, target duration and window must be positive")
	case c.PartTarget > time.Duration(c.TargetDuration)*time.Second:
		return errors.New("llhls: part target longer than the target duration")
	case c.SegmentURI == nil || c.PartURI == nil:
		return errors.New("llhls: segment and part URIs are required")
	}
	return nil
}

// Part is one partial segment.
type Part struct {
	Duration    time.Duration
	Independent bool // starts with a sync sample
	// Start is the wall-clock time of its first sample; the first part's
	// is the segment's EXT-X-PROGRAM-DATE-TIME (zero: when it was added).
	Start time.Time
}

// Segment describes the next segment before its first part (Begin).
type Segment struct {
	// URI names it in the playlist; "" for Config.SegmentURI.
	URI string
	// Discontinuity: its timestamps or encoding do not follow the previous
	// segment's (EXT-X-DISCONTINUITY), e.g. the encoder restarted.
	Discontinuity bool
}

type seg struct {
	msn      uint64
	uri      string
	disc     bool
	gap      bool // EXT-X-GAP: its upload failed; the parts it has stay listed
	parts    []Part
	duration time.Duration // set when complete
	complete bool
	start    time.Time // wall clock of its first sample, for EXT-X-PROGRAM-DATE-TIME
}

// Report is a sibling rendition's position, for EXT-X-RENDITION-REPORT.
type Report struct {
	URI      string
	LastMSN  uint64
	LastPart int // -1: the last segment is complete and no part of the next exists
}

// Errors of Rendition's methods.
var (
	// ErrTooFarAhead: a blocking request for a segment more than two beyond
	// the live edge, or a part past the advance limit (RFC 8216bis 6.2.5.2):
	// the server answers 400.
	ErrTooFarAhead = errors.New("llhls: requested part is too far ahead of the live edge")
	// ErrPartTooLong: a part longer than the part target.
	ErrPartTooLong = errors.New("llhls: part longer than the part target")
	// ErrOrder: a part or segment out of order.
	ErrOrder = errors.New("llhls: out of order")
	// ErrSegmentTooLong: a completed segment whose rounded duration is
	// above the target duration. It is published all the same (its bytes
	// are already out); the encoder is misconfigured.
	ErrSegmentTooLong = errors.New("llhls: segment longer than the target duration")
)

// Rendition is one rendition's timeline. Safe for concurrent use: the
// ingest adds parts while players read playlists and wait.
type Rendition struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	segs     []*seg // the window: complete segments, then the one in progress (if any)
	next     uint64 // msn of the segment the next part belongs to (when none is open)
	upcoming Segment
	discSeq  uint64 // EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that left the window
	changed  chan struct{}
	version  atomic.Uint64 // counts the changes, for caches of rendered playlists
}

// New returns an empty rendition whose first segment is msn first.
func New(cfg Config, first uint64) (*Rendition, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Rendition{cfg: cfg, now: time.Now, next: first, changed: make(chan struct{})}, nil
}

// wake tells every waiter the timeline moved. Called with mu held.
func (r *Rendition) wake() {
	r.version.Add(1)
	close(r.changed)
	r.changed = make(chan struct{})
}

// open returns the segment in progress, opening the next one.
func (r *Rendition) open() *seg {
	if n := len(r.segs); n > 0 && !r.segs[n-1].complete {
		return r.segs[n-1]
	}
	s := &seg{msn: r.next, uri: r.upcoming.URI, disc: r.upcoming.Discontinuity}
	r.upcoming = Segment{}
	r.next++
	r.segs = append(r.segs, s)
	return s
}

// Begin describes the segment the next part opens and returns its msn.
// There must be no segment in progress.
func (r *Rendition) Begin(s Segment) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.segs); n > 0 && !r.segs[n-1].complete {
		return 0, fmt.Errorf("%w: segment %d is still in progress", ErrOrder, r.segs[n-1].msn)
	}
	r.upcoming = s
	return r.next, nil
}

// AddPart publishes the next part of the segment in progress (opening a
// segment when none is). A part longer than the part target is refused.
func (r *Rendition) AddPart(p Part) (msn uint64, index int, err error) {
	if p.Duration <= 0 || p.Duration > r.cfg.PartTarget+r.cfg.PartTarget/50 { // 2% for timescale rounding
		return 0, 0, fmt.Errorf("%w: %v (target %v)", ErrPartTooLong, p.Duration, r.cfg.PartTarget)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.open()
	if len(s.parts) == 0 {
		s.start = p.Start
		if s.start.IsZero() {
			s.start = r.now().Add(-p.Duration)
		}
	}
	s.parts = append(s.parts, p)
	r.wake()
	return s.msn, len(s.parts) - 1, nil
}

// EndSegment completes the segment in progress: its duration is what its
// parts add up to. It returns the segment's msn.
func (r *Rendition) EndSegment() (uint64, error) { return r.End(0, false) }

// End completes the segment in progress. Its duration is d, or what its
// parts add up to when d is 0. gap marks a segment that will never be
// whole (its upload failed): it is listed with EXT-X-GAP, and the parts
// it has stay listed. A segment whose rounded duration is above the
// target duration is completed all the same, with ErrSegmentTooLong.
func (r *Rendition) End(d time.Duration, gap bool) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.segs)
	if n == 0 || r.segs[n-1].complete || len(r.segs[n-1].parts) == 0 {
		return 0, fmt.Errorf("%w: no segment in progress", ErrOrder)
	}
	s := r.segs[n-1]
	if d <= 0 {
		for _, p := range s.parts {
			d += p.Duration
		}
	}
	s.duration, s.gap, s.complete = d, gap, true
	// Keep the window of complete segments (the history a delta update
	// skips is never rendered, so it is not kept either).
	if complete := len(r.segs); complete > r.cfg.Window {
		for _, old := range r.segs[:complete-r.cfg.Window] {
			if old.disc {
				r.discSeq++
			}
		}
		r.segs = append(r.segs[:0:0], r.segs[complete-r.cfg.Window:]...)
	}
	r.wake()
	if math.Round(d.Seconds()) > float64(r.cfg.TargetDuration) {
		return s.msn, fmt.Errorf("%w: segment %d lasts %v, the target duration is %d s", ErrSegmentTooLong, s.msn, d, r.cfg.TargetDuration)
	}
	return s.msn, nil
}

// Version counts the timeline's changes: a playlist rendered at one
// version is current until it moves.
func (r *Rendition) Version() uint64 { return r.version.Load() }

// Parts reports how many parts segment msn has and whether it is
// complete; ok is false for a segment not in the window (gone, or not
// begun).
func (r *Rendition) Parts(msn uint64) (n int, complete, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.segs {
		if s.msn == msn {
			return len(s.parts), s.complete, true
		}
	}
	return 0, false, false
}

// Next is the part the preload hint names: the next part of the segment
// in progress, or the first of the next segment.
func (r *Rendition) Next() (msn uint64, part int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextPart()
}

func (r *Rendition) nextPart() (uint64, int) {
	n := len(r.segs)
	if n == 0 || r.segs[n-1].complete {
		return r.next, 0
	}
	s := r.segs[n-1]
	if sd := r.cfg.SegmentDuration; sd > 0 {
		var sum time.Duration
		for _, p := range s.parts {
			sum += p.Duration
		}
		if sum >= sd-r.cfg.PartTarget/2 {
			return s.msn + 1, 0
		}
	}
	return s.msn, len(s.parts)
}

// TargetDuration is the configured EXT-X-TARGETDURATION.
func (r *Rendition) TargetDuration() time.Duration {
	return time.Duration(r.cfg.TargetDuration) * time.Second
}

// Position is the last part published: the segment and its part index
// (-1 when that segment is complete and the next has no part yet, msn
// being the complete one).
func (r *Rendition) Position() (msn uint64, part int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.position()
}

func (r *Rendition) position() (uint64, int, bool) {
	n := len(r.segs)
	if n == 0 {
		return 0, 0, false
	}
	s := r.segs[n-1]
	if s.complete {
		return s.msn, -1, true
	}
	return s.msn, len(s.parts) - 1, true
}

// has reports whether part (msn, part) exists (part < 0: the whole
// segment msn is complete). A part index past a complete segment's last
// part means the next segment's first part (RFC 8216bis 6.2.5.2).
func (r *Rendition) has(msn uint64, part int) bool {
	for _, s := range r.segs {
		if s.msn != msn {
			continue
		}
		if part < 0 {
			return s.complete
		}
		if part < len(s.parts) {
			return true
		}
		return s.complete && r.has(msn+1, 0)
	}
	if n := len(r.segs); n > 0 && msn < r.segs[0].msn {
		return true // left the window long ago
	}
	return false
}

// Wait blocks until part (msn, part) is published (part < 0: until segment
// msn is complete), or ctx ends. A request more than two segments beyond
// the live edge, or for a part more than three part targets ahead, is
// ErrTooFarAhead at once.
func (r *Rendition) Wait(ctx context.Context, msn uint64, part int) error {
	for {
		r.mu.Lock()
		if r.has(msn, part) {
			r.mu.Unlock()
			return nil
		}
		last, lastPart, ok := r.position()
		if !ok {
			last, lastPart = r.next, -1
		}
		limit := r.advancePartLimit()
		if msn > last+2 || (msn == last && part > lastPart+limit) || (msn > last && part > limit) {
			r.mu.Unlock()
			return fmt.Errorf("%w: %d.%d requested, live edge %d.%d", ErrTooFarAhead, msn, part, last, lastPart)
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// advancePartLimit is how far ahead of the last part a blocking request may
// ask (RFC 8216bis 6.2.5.2): three, or three divided by the part target
// when that is under a second.
func (r *Rendition) advancePartLimit() int {
	if pt := r.cfg.PartTarget.Seconds(); pt < 1 {
		return int(math.Ceil(3 / pt))
	}
	return 3
}

// Playlist renders the media playlist; skip asks for a delta update
// (_HLS_skip=YES): segments more than CAN-SKIP-UNTIL from the end are
// replaced by EXT-X-SKIP. reports are the sibling renditions'.
func (r *Rendition) Playlist(skip bool, reports []Report) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cfg
	var b strings.Builder
	pt := c.PartTarget.Seconds()
	td := time.Duration(c.TargetDuration) * time.Second
	canSkip := 6 * td
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:%d\n", c.TargetDuration)
	fmt.Fprintf(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%s,CAN-SKIP-UNTIL=%s\n",
		seconds(3*c.PartTarget), seconds(canSkip))
	fmt.Fprintf(&b, "#EXT-X-PART-INF:PART-TARGET=%s\n", strconv.FormatFloat(pt, 'f', -1, 64))
	first := r.next
	if len(r.segs) > 0 {
		first = r.segs[0].msn
	}
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	if r.discSeq > 0 {
		fmt.Fprintf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", r.discSeq)
	}
	if c.Map != "" {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", c.Map)
	}
	// Parts are listed for the segments within three target durations of
	// the end; a delta update skips what is older than CAN-SKIP-UNTIL.
	var tail time.Duration
	partsFrom, skipTo := len(r.segs), 0
	for i := len(r.segs) - 1; i >= 0; i-- {
		if tail < 3*td {
			partsFrom = i
		}
		tail += r.segs[i].duration
		if skip && tail >= canSkip && skipTo == 0 && r.segs[i].complete {
			skipTo = i // segs[i:] still span CAN-SKIP-UNTIL
		}
	}
	if skipTo > 0 {
		fmt.Fprintf(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%d\n", skipTo)
	}
	for i := skipTo; i < len(r.segs); i++ {
		s := r.segs[i]
		if s.disc {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		if (i == skipTo || s.disc) && !s.start.IsZero() {
			fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", s.start.UTC().Format("2006-01-02T15:04:05.000Z"))
		}
		if i >= partsFrom {
			for j, p := range s.parts {
				fmt.Fprintf(&b, "#EXT-X-PART:DURATION=%s,URI=%q", seconds(p.Duration), c.PartURI(s.msn, j))
				if p.Independent {
					b.WriteString(",INDEPENDENT=YES")
				}
				b.WriteByte('\n')
			}
		}
		if s.complete {
			if s.gap {
				b.WriteString("#EXT-X-GAP\n")
			}
			uri := s.uri
			if uri == "" {
				uri = c.SegmentURI(s.msn)
			}
			fmt.Fprintf(&b, "#EXTINF:%s,\n%s\n", seconds(s.duration), uri)
		}
	}
	// The next part: of the segment in progress, or the first of the next.
	hintMSN, hintPart := r.nextPart()
	fmt.Fprintf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=%q\n", c.PartURI(hintMSN, hintPart))
	for _, rep := range reports {
		fmt.Fprintf(&b, "#EXT-X-RENDITION-REPORT:URI=%q,LAST-MSN=%d", rep.URI, rep.LastMSN)
		if rep.LastPart >= 0 {
			fmt.Fprintf(&b, ",LAST-PART=%d", rep.LastPart)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Report is this rendition's position as a sibling reports it.
func (r *Rendition) Report(uri string) (Report, bool) {
	msn, part, ok := r.Position()
	return Report{URI: uri, LastMSN: msn, LastPart: part}, ok
}

// seconds formats d as a decimal number of seconds, to the millisecond.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Seconds()*1000)/1000, 'f', -1, 64)
}

// Directives applies a request's LL-HLS directives: it waits for the
// requested part (bounded by ctx: the caller gives it 3 target durations,
// after which the spec wants 503) and renders the playlist, a delta update
// when asked.
func (r *Rendition) Directives(ctx context.Context, d segment.Directives, reports []Report) ([]byte, error) {
	if d.MSN >= 0 {
		part := -1
		if d.Part >= 0 {
			part = int(d.Part)
		}
		if err := r.Wait(ctx, uint64(d.MSN), part); err != nil {
			return nil, err
		}
	}
	return r.Playlist(d.Skip != "", reports), nil
}
