package segment

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"path"
	"strings"
	"time"
)

// Template is the SegmentTemplate in force for one Representation: the
// templates of its Period, AdaptationSet and itself merged, the lowest
// level that gives an attribute winning, with DASH's defaults filled in.
type Template struct {
	Media, Initialization, Index, BitstreamSwitching string

	Timescale              uint64 // 1 when no level gives it
	Duration               uint64 // 0 when no level gives it (a timeline)
	StartNumber            uint64 // 1 when no level gives it
	EndNumber              uint64 // 0 when no level gives it
	PresentationTimeOffset uint64
	// AvailabilityTimeOffset is the template's, plus that of the first
	// BaseURL at each level (dash.js adds them up), in seconds; +Inf
	// when a segment may be requested any time.
	AvailabilityTimeOffset   float64
	AvailabilityTimeComplete bool // true when no level gives it
	Timeline                 *SegmentTimeline
}

func mergeTemplate(levels ...*SegmentTemplate) *Template {
	var t *Template
	for _, st := range levels {
		if st == nil {
			continue
		}
		if t == nil {
			t = &Template{Timescale: 1, StartNumber: 1, AvailabilityTimeComplete: true}
		}
		setIf(&t.Media, st.Media)
		setIf(&t.Initialization, st.Initialization)
		setIf(&t.Index, st.Index)
		setIf(&t.BitstreamSwitching, st.BitstreamSwitching)
		setOpt(&t.Timescale, st.Timescale)
		setOpt(&t.Duration, st.Duration)
		setOpt(&t.StartNumber, st.StartNumber)
		setOpt(&t.EndNumber, st.EndNumber)
		setOpt(&t.PresentationTimeOffset, st.PresentationTimeOffset)
		setOpt(&t.AvailabilityTimeOffset, st.AvailabilityTimeOffset)
		setOpt(&t.AvailabilityTimeComplete, st.AvailabilityTimeComplete)
		if st.Timeline != nil {
			t.Timeline = st.Timeline
		}
	}
	return t
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setOpt[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

// Track is one Representation with what it inherits from the levels
// above it. MPD.Tracks lists them.
type Track struct {
	PeriodIndex    int
	Period         *Period
	AdaptationSet  *AdaptationSet
	Representation *Representation
	Template       *Template // nil when no level has a SegmentTemplate

	mpd   *MPD
	bases []string // the first BaseURL of each level that has one, top down
}

// Tracks returns every Representation of the MPD, in document order.
func (m *MPD) Tracks() []Track {
	var out []Track
	for pi := range m.Periods {
		p := &m.Periods[pi]
		for ai := range p.AdaptationSets {
			as := &p.AdaptationSets[ai]
			for ri := range as.Representations {
				rep := &as.Representations[ri]
				t := Track{PeriodIndex: pi, Period: p, AdaptationSet: as, Representation: rep, mpd: m}
				t.Template = mergeTemplate(p.SegmentTemplate, as.SegmentTemplate, rep.SegmentTemplate)
				ato := 0.0
				for _, bs := range [...][]BaseURL{m.BaseURLs, p.BaseURLs, as.BaseURLs, rep.BaseURLs} {
					if len(bs) > 0 {
						t.bases = append(t.bases, bs[0].URL)
						if bs[0].AvailabilityTimeOffset != nil {
							ato += *bs[0].AvailabilityTimeOffset
						}
					}
				}
				if t.Template != nil {
					t.Template.AvailabilityTimeOffset += ato
				}
				out = append(out, t)
			}
		}
	}
	return out
}

// Track returns the Representation with id repID in the Period with id
// periodID ("" matches the first Period).
func (m *MPD) Track(periodID, repID string) (Track, bool) {
	for _, t := range m.Tracks() {
		if (t.Period.ID == periodID || periodID == "" && t.PeriodIndex == 0) && t.Representation.ID == repID {
			return t, true
		}
	}
	return Track{}, false
}

// ErrNoSegment is returned by the Track helpers for a segment the MPD
// does not describe.
var ErrNoSegment = errors.New("segment: no such segment")

// base resolves the track's BaseURLs from dir.
func (t *Track) base(dir string) (string, error) {
	for _, b := range t.bases {
		var err error
		if dir, err = resolveBase(dir, b); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func (t *Track) values(number, time uint64) templateValues {
	return templateValues{repID: t.Representation.ID, number: number, time: time, bandwidth: t.Representation.Bandwidth}
}

// MediaURL returns the URL of a media segment, relative to the MPD, by
// number (templates with $Number$) or time (with $Time$): the template
// expanded and resolved against the BaseURLs. It fails when the URL
// would leave the event (see Validate).
func (t *Track) MediaURL(number, time uint64) (string, error) {
	if t.Template == nil || t.Template.Media == "" {
		return "", fmt.Errorf("%w: Representation %q has no media template", ErrNoSegment, t.Representation.ID)
	}
	return t.resolve("", t.Template.Media, t.values(number, time))
}

// InitURL returns the URL of the init segment, relative to the MPD, or
// "" when the template has none.
func (t *Track) InitURL() (string, error) {
	if t.Template == nil || t.Template.Initialization == "" {
		return "", nil
	}
	return t.resolve("", t.Template.Initialization, t.values(0, 0))
}

func (t *Track) resolve(dir, tmpl string, v templateValues) (string, error) {
	base, err := t.base(dir)
	if err != nil {
		return "", err
	}
	u, err := expandTemplate(nil, tmpl, v)
	if err != nil {
		return "", err
	}
	return resolveFile(base, string(u))
}

// SegmentRef is one segment of a Representation: its number, and its
// media time and duration in timescale units.
type SegmentRef struct {
	Number, Time, Duration uint64
}

// timelineRun is one S element: count segments from number n at time t.
type timelineRun struct {
	n, t, d, count uint64
}

// runs walks the S elements of a timeline. It stops at a malformed or
// overflowing entry, which Validate reports.
func runs(tl *SegmentTimeline, startNumber uint64) iter.Seq[timelineRun] {
	return func(yield func(timelineRun) bool) {
		var n, t uint64 = startNumber, 0
		for i := range tl.S {
			s := &tl.S[i]
			if s.T != nil {
				t = *s.T
			}
			if s.N != nil {
				n = *s.N
			}
			count, ok := repeatCount(tl, i, t)
			if !ok || s.D == 0 {
				return
			}
			hi, span := bits.Mul64(count, s.D)
			if hi != 0 || t+span < t || n+count < n {
				return
			}
			if !yield(timelineRun{n: n, t: t, d: s.D, count: count}) {
				return
			}
			t, n = t+span, n+count
		}
	}
}

// repeatCount returns how many segments S element i (starting at time t)
// stands for: r+1, or with r = -1 as many as fit before the next S@t.
func repeatCount(tl *SegmentTimeline, i int, t uint64) (uint64, bool) {
	s := &tl.S[i]
	switch {
	case s.R >= 0:
		return uint64(s.R) + 1, s.R < math.MaxInt64
	case s.R < -1 || i+1 == len(tl.S) || tl.S[i+1].T == nil || s.D == 0:
		return 0, false
	}
	next := *tl.S[i+1].T
	if next <= t {
		return 0, false
	}
	return (next - t + s.D - 1) / s.D, true
}

// Segments lists the segments of a SegmentTimeline, at most
// MaxMPDTimelineSegments of them; a template without a timeline lists
// none (its segments go on without end).
func (t *Track) Segments() iter.Seq[SegmentRef] {
	return func(yield func(SegmentRef) bool) {
		if t.Template == nil || t.Template.Timeline == nil {
			return
		}
		left := uint64(MaxMPDTimelineSegments)
		for run := range runs(t.Template.Timeline, t.Template.StartNumber) {
			for k := uint64(0); k < run.count; k++ {
				if left == 0 || !yield(SegmentRef{Number: run.n + k, Time: run.t + k*run.d, Duration: run.d}) {
					return
				}
				left--
			}
		}
	}
}

// Segment returns segment number n: from the timeline, or from the
// duration (its time counted from presentationTimeOffset).
func (t *Track) Segment(n uint64) (SegmentRef, error) {
	tm := t.Template
	noSeg := fmt.Errorf("%w: Representation %q number %d", ErrNoSegment, t.Representation.ID, n)
	switch {
	case tm == nil || n < tm.StartNumber || tm.EndNumber != 0 && n > tm.EndNumber:
		return SegmentRef{}, noSeg
	case tm.Timeline != nil:
		for run := range runs(tm.Timeline, tm.StartNumber) {
			if n >= run.n && n-run.n < run.count {
				return SegmentRef{Number: n, Time: run.t + (n-run.n)*run.d, Duration: run.d}, nil
			}
		}
		return SegmentRef{}, noSeg
	case tm.Duration == 0:
		return SegmentRef{}, noSeg
	}
	hi, off := bits.Mul64(n-tm.StartNumber, tm.Duration)
	if hi != 0 || off+tm.PresentationTimeOffset < off {
		return SegmentRef{}, noSeg
	}
	return SegmentRef{Number: n, Time: off + tm.PresentationTimeOffset, Duration: tm.Duration}, nil
}

// PeriodStart returns when the track's Period starts in the presentation:
// its start, or the end of the Period before it, or 0 for the first.
func (t *Track) PeriodStart() (time.Duration, error) { return t.mpd.periodStart(t.PeriodIndex) }

func (m *MPD) periodStart(i int) (time.Duration, error) {
	var add time.Duration
	for ; i >= 0; i-- {
		p := &m.Periods[i]
		if p.Start != "" {
			d, err := ParseXSDuration(p.Start)
			if err != nil {
				return 0, fmt.Errorf("%w: Period %d start: %v", ErrInvalid, i, err)
			}
			return d + add, nil
		}
		if i == 0 {
			return add, nil
		}
		prev := m.Periods[i-1].Duration
		if prev == "" {
			return 0, fmt.Errorf("%w: Period %d: no start, and Period %d has no duration", ErrInvalid, i, i-1)
		}
		d, err := ParseXSDuration(prev)
		if err != nil {
			return 0, fmt.Errorf("%w: Period %d duration: %v", ErrInvalid, i-1, err)
		}
		add += d
	}
	return add, nil
}

// AvailabilityTime returns when media segment n of a dynamic MPD may be
// requested: availabilityStartTime + Period start + the end of the
// segment, (n - startNumber + 1) × duration (or the end of its timeline
// entry, less presentationTimeOffset), − availabilityTimeOffset. It
// returns the zero time when availabilityTimeOffset is INF (always
// available). A static MPD, or a number the MPD does not describe, is an
// error.
func (t *Track) AvailabilityTime(n uint64) (time.Time, error) {
	m := t.mpd
	if !m.Dynamic() {
		return time.Time{}, fmt.Errorf("%w: a static MPD's segments are all available", ErrNoSegment)
	}
	ast, err := ParseXSDateTime(m.AvailabilityStartTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: availabilityStartTime: %v", ErrInvalid, err)
	}
	start, err := t.PeriodStart()
	if err != nil {
		return time.Time{}, err
	}
	seg, err := t.Segment(n)
	if err != nil {
		return time.Time{}, err
	}
	tm := t.Template
	end := seg.Time + seg.Duration
	if end < seg.Time || end < tm.PresentationTimeOffset {
		return time.Time{}, fmt.Errorf("%w: Representation %q number %d ends before presentationTimeOffset",
			ErrNoSegment, t.Representation.ID, n)
	}
	endD, ok := UnitsDuration(end-tm.PresentationTimeOffset, tm.Timescale)
	if !ok || endD > math.MaxInt64-start {
		return time.Time{}, fmt.Errorf("%w: Representation %q number %d: time out of range", ErrNoSegment, t.Representation.ID, n)
	}
	ato := tm.AvailabilityTimeOffset
	if math.IsInf(ato, 1) {
		return time.Time{}, nil
	}
	atoD, ok := secondsToDuration(ato)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: availabilityTimeOffset %v", ErrInvalid, ato)
	}
	return ast.Add(start).Add(endD).Add(-atoD), nil
}

// MPDFile names the files of one Representation as paths inside the
// event, for ingest checks.
type MPDFile struct {
	Period         string // its id
	Representation string // its id
	// Init is the init segment ("video/init-stream0.m4s"); "" when the
	// template has none.
	Init string
	// Media is the media template with $RepresentationID$ and
	// $Bandwidth$ filled in and the BaseURLs resolved
	// ("video/chunk-stream0-$Number%05d$.m4s"); "" without a template.
	Media string
}

// Files returns the files of every Representation with a SegmentTemplate,
// as paths inside the event for an MPD at dir ("" for the event root).
// It fails, naming the Representation, when a URL would leave the event.
func (m *MPD) Files(dir string) ([]MPDFile, error) {
	var out []MPDFile
	for _, t := range m.Tracks() {
		if t.Template == nil {
			continue
		}
		f, err := t.files(dir)
		if err != nil {
			return nil, fmt.Errorf("Period %q Representation %q: %w", t.Period.ID, t.Representation.ID, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func (t *Track) files(dir string) (MPDFile, error) {
	f := MPDFile{Period: t.Period.ID, Representation: t.Representation.ID}
	tm := t.Template
	var err error
	if tm.Initialization != "" {
		if f.Init, err = t.resolve(dir, tm.Initialization, t.values(0, 0)); err != nil {
			return f, fmt.Errorf("initialization: %w", err)
		}
	}
	if tm.Media == "" {
		return f, nil
	}
	// Check the URL of the first segment, then keep the pattern.
	if _, err := t.resolve(dir, tm.Media, t.values(tm.StartNumber, tm.PresentationTimeOffset)); err != nil {
		return f, fmt.Errorf("media: %w", err)
	}
	base, err := t.base(dir)
	if err != nil {
		return f, err
	}
	v := t.values(0, 0)
	v.pattern = true
	p, err := expandTemplate(nil, tm.Media, v)
	if err != nil {
		return f, err
	}
	f.Media = path.Join(base, stripQuery(string(p)))
	return f, nil
}

// Match reports whether p (a path inside the event) is one of the media
// segments of f, and returns the number or time in it, whichever Media
// uses (byTime tells which). Numbers must be written as the template
// writes them (same zero padding).
func (f MPDFile) Match(p string) (v uint64, byTime, ok bool) {
	start, end, id, err := nextIdent(f.Media, 0)
	for err == nil && start >= 0 && id.name != "Number" && id.name != "Time" {
		start, end, id, err = nextIdent(f.Media, end)
	}
	if err != nil || start < 0 {
		return 0, false, false
	}
	prefix, suffix := f.Media[:start], f.Media[end:]
	if strings.IndexByte(suffix, '$') >= 0 || strings.IndexByte(prefix, '$') >= 0 ||
		len(p) < len(prefix)+len(suffix) || !strings.HasPrefix(p, prefix) || !strings.HasSuffix(p, suffix) {
		return 0, false, false
	}
	mid := p[len(prefix) : len(p)-len(suffix)]
	n, okN := parseUint(mid, 64)
	if !okN || string(appendPadded(nil, n, id.width)) != mid {
		return 0, false, false
	}
	return n, id.name == "Time", true
}
