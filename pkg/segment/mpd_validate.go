package segment

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Validate checks what would break players or send them out of the event,
// and reports every problem (errors.Join), each wrapping ErrInvalid and
// naming the element (`Period "0" / AdaptationSet "1" / Representation
// "": no id`):
//
//   - type static or dynamic; a dynamic MPD has an availabilityStartTime;
//     xs:dateTime and xs:duration values parse, durations are not
//     negative; Period ids are unique;
//   - at least one Period and one Representation; every AdaptationSet has
//     a Representation; every Representation an id (without white space,
//     unique within its Period) and a bandwidth;
//   - every SegmentTemplate: timescale, duration and S@d not 0; only the
//     identifiers $RepresentationID$, $Number$, $Time$, $Bandwidth$
//     (with an optional %0Nd format) and $$; availabilityTimeOffset not
//     negative; endNumber not below startNumber; a SegmentTimeline with
//     at most MaxMPDTimeline entries and MaxMPDTimelineSegments
//     segments, whose times never go back or overflow, with r = -1 only
//     before an S with t;
//   - every Representation has segments: a SegmentTemplate in force (any
//     level) with media using $Number$ or $Time$, no $Number$ or $Time$
//     in initialization, and a duration or a SegmentTimeline (not both),
//     or an unmodelled SegmentBase or SegmentList;
//   - every URL a player would follow stays in the event: BaseURLs at
//     every level, the media and initialization of every Representation
//     (expanded for its first segment), and in unmodelled elements
//     Location, PatchLocation, BaseURL, SegmentURL@media/@index, @sourceURL
//     and xlink:href. The rule is that of playlist URIs (ResolveURI,
//     relative to the event root), stricter: no scheme, no leading '/',
//     no backslash, no ".." at all. UTCTiming and ContentSteering URLs
//     (time and steering servers) are not checked.
//   - the MPD renders (AppendTo) to a document ParseMPD reads back:
//     unmodelled elements well formed, prefixes declared, values that are
//     XML text.
//
// An MPD steered by Ringside (absolute BaseURLs per pathway) is an
// output, not an input: Validate is the check of what an encoder sends.
func (m *MPD) Validate() error {
	v := mpdValidator{m: m}
	v.mpd()
	v.rendered()
	return v.ps.err()
}

type mpdValidator struct {
	m       *MPD
	ps      problems
	segInfo map[*[]RawElement]bool // by level: has a SegmentBase or SegmentList
}

func (v *mpdValidator) mpd() {
	m := v.m
	switch m.Type {
	case "", "static", "dynamic":
	default:
		v.ps.add("MPD: type %q, want static or dynamic", m.Type)
	}
	if m.Dynamic() && m.AvailabilityStartTime == "" {
		v.ps.add("MPD: dynamic without availabilityStartTime")
	}
	for _, a := range [...]struct{ name, v string }{
		{"availabilityStartTime", m.AvailabilityStartTime}, {"availabilityEndTime", m.AvailabilityEndTime},
		{"publishTime", m.PublishTime},
	} {
		if a.v != "" {
			if _, err := ParseXSDateTime(a.v); err != nil {
				v.ps.add("MPD: %s: %v", a.name, err)
			}
		}
	}
	for _, a := range [...]struct{ name, v string }{
		{"mediaPresentationDuration", m.MediaPresentationDuration}, {"minimumUpdatePeriod", m.MinimumUpdatePeriod},
		{"timeShiftBufferDepth", m.TimeShiftBufferDepth}, {"suggestedPresentationDelay", m.SuggestedPresentationDelay},
		{"maxSegmentDuration", m.MaxSegmentDuration}, {"minBufferTime", m.MinBufferTime},
	} {
		v.duration("MPD", a.name, a.v)
	}
	dir := v.bases("MPD", "", m.BaseURLs)
	for i := range m.ServiceDescriptions {
		for _, l := range m.ServiceDescriptions[i].Latency {
			if l.Target != 0 && (l.Min > l.Target || l.Max != 0 && l.Max < l.Target) {
				v.ps.add("ServiceDescription %q: Latency target %d outside min %d, max %d", m.ServiceDescriptions[i].ID, l.Target, l.Min, l.Max)
			}
		}
	}
	for i := range m.UTCTimings {
		if m.UTCTimings[i].SchemeIDURI == "" {
			v.ps.add("UTCTiming %d: no schemeIdUri", i)
		}
	}
	if len(m.Periods) == 0 {
		v.ps.add("MPD: no Period")
	}
	periodIDs := make(map[string]bool, len(m.Periods))
	reps := 0
	for i := range m.Periods {
		p := &m.Periods[i]
		where := elemName("Period", i, p.ID)
		if p.ID != "" {
			if periodIDs[p.ID] {
				v.ps.add("%s: id used twice", where)
			}
			periodIDs[p.ID] = true
		}
		v.duration(where, "start", p.Start)
		v.duration(where, "duration", p.Duration)
		v.period(where, dir, p)
		for j := range p.AdaptationSets {
			reps += len(p.AdaptationSets[j].Representations)
		}
	}
	if len(m.Periods) > 0 && reps == 0 {
		v.ps.add("MPD: no Representation")
	}
	for _, t := range m.Tracks() {
		v.track(&t)
	}
}

// elemName names an element by id, or by index without one.
func elemName(kind string, i int, id string) string {
	if id == "" {
		return fmt.Sprintf("%s #%d", kind, i)
	}
	return fmt.Sprintf("%s %q", kind, id)
}

func (v *mpdValidator) duration(where, name, s string) {
	if s == "" {
		return
	}
	d, err := ParseXSDuration(s)
	switch {
	case err != nil:
		v.ps.add("%s: %s: %v", where, name, err)
	case d < 0:
		v.ps.add("%s: %s %s is negative", where, name, s)
	}
}

// bases checks the BaseURLs of one level and returns the directory the
// first one names (dir when there is none).
func (v *mpdValidator) bases(where, dir string, bs []BaseURL) string {
	out := dir
	for i := range bs {
		b := &bs[i]
		d, err := resolveBase(dir, b.URL)
		if err != nil {
			v.ps.add("%s: BaseURL: %v", where, err)
		} else if i == 0 {
			out = d
		}
		v.ato(where+": BaseURL", b.AvailabilityTimeOffset)
	}
	return out
}

func (v *mpdValidator) ato(where string, p *float64) {
	if p != nil && (math.IsNaN(*p) || *p < 0) {
		v.ps.add("%s: availabilityTimeOffset %v", where, *p)
	}
}

func (v *mpdValidator) period(where, dir string, p *Period) {
	dir = v.bases(where, dir, p.BaseURLs)
	v.template(where, p.SegmentTemplate)
	ids := make(map[string]bool)
	for i := range p.AdaptationSets {
		as := &p.AdaptationSets[i]
		asWhere := where + " / " + elemName("AdaptationSet", i, as.ID)
		asDir := v.bases(asWhere, dir, as.BaseURLs)
		v.template(asWhere, as.SegmentTemplate)
		if len(as.Representations) == 0 {
			v.ps.add("%s: no Representation", asWhere)
		}
		for j := range as.Representations {
			r := &as.Representations[j]
			rWhere := asWhere + " / " + elemName("Representation", j, r.ID)
			switch {
			case r.ID == "":
				v.ps.add("%s: no id", rWhere)
			case strings.ContainsAny(r.ID, " \t\r\n"):
				v.ps.add("%s: white space in id", rWhere)
			case ids[r.ID]:
				v.ps.add("%s: id used twice in the Period", rWhere)
			}
			ids[r.ID] = true
			if r.Bandwidth == 0 {
				v.ps.add("%s: no bandwidth", rWhere)
			}
			v.bases(rWhere, asDir, r.BaseURLs)
			v.template(rWhere, r.SegmentTemplate)
		}
	}
}

// template checks what one SegmentTemplate element says by itself.
func (v *mpdValidator) template(where string, st *SegmentTemplate) {
	if st == nil {
		return
	}
	where += ": SegmentTemplate"
	for _, a := range [...]struct{ name, t string }{
		{"media", st.Media}, {"initialization", st.Initialization}, {"index", st.Index}, {"bitstreamSwitching", st.BitstreamSwitching},
	} {
		if _, _, err := templateUses(a.t); err != nil {
			v.ps.add("%s: %s: %v", where, a.name, err)
		}
	}
	if st.Timescale != nil && *st.Timescale == 0 {
		v.ps.add("%s: timescale 0", where)
	}
	if st.Duration != nil && *st.Duration == 0 {
		v.ps.add("%s: duration 0", where)
	}
	if st.StartNumber != nil && st.EndNumber != nil && *st.EndNumber < *st.StartNumber {
		v.ps.add("%s: endNumber %d below startNumber %d", where, *st.EndNumber, *st.StartNumber)
	}
	v.ato(where, st.AvailabilityTimeOffset)
	if st.Timeline != nil {
		v.timeline(where+": SegmentTimeline", st.Timeline)
	}
}

// timeline checks the S entries of a SegmentTimeline in one pass.
func (v *mpdValidator) timeline(where string, tl *SegmentTimeline) {
	if len(tl.S) > MaxMPDTimeline {
		v.ps.add("%s: %d S elements: more than %d", where, len(tl.S), MaxMPDTimeline)
		return
	}
	var t, total uint64
	for i := range tl.S {
		s := &tl.S[i]
		if s.T != nil {
			if *s.T < t {
				v.ps.add("%s: S %d: t %d goes back before %d", where, i, *s.T, t)
				return
			}
			t = *s.T
		}
		if s.D == 0 {
			v.ps.add("%s: S %d: d missing or 0", where, i)
			return
		}
		if s.R < -1 {
			v.ps.add("%s: S %d: r %d", where, i, s.R)
			return
		}
		count, ok := repeatCount(tl, i, t)
		if !ok {
			v.ps.add("%s: S %d: r -1 needs a next S with a later t", where, i)
			return
		}
		hi, span := bits.Mul64(count, s.D)
		if hi != 0 || t+span < t {
			v.ps.add("%s: S %d: time overflows", where, i)
			return
		}
		t += span
		if total += count; total > MaxMPDTimelineSegments || total < count {
			v.ps.add("%s: more than %d segments", where, MaxMPDTimelineSegments)
			return
		}
	}
}

// track checks the addressing a Representation ends up with.
func (v *mpdValidator) track(t *Track) {
	where := fmt.Sprintf("%s / Representation %q", elemName("Period", t.PeriodIndex, t.Period.ID), t.Representation.ID)
	tm := t.Template
	if tm == nil {
		if !v.hasSegmentInfo(t) {
			v.ps.add("%s: no SegmentTemplate, SegmentBase or SegmentList", where)
		}
		return
	}
	number, time, err := templateUses(tm.Media)
	switch {
	case err != nil: // reported with its SegmentTemplate
	case tm.Media == "":
		v.ps.add("%s: SegmentTemplate without media", where)
	case !number && !time:
		v.ps.add("%s: SegmentTemplate media %s has neither $Number$ nor $Time$", where, quoteURL(tm.Media))
	}
	if number, time, err := templateUses(tm.Initialization); err == nil && (number || time) {
		v.ps.add("%s: SegmentTemplate initialization %s has $Number$ or $Time$", where, quoteURL(tm.Initialization))
	}
	switch {
	case tm.Duration == 0 && tm.Timeline == nil:
		v.ps.add("%s: SegmentTemplate has neither duration nor SegmentTimeline", where)
	case tm.Duration != 0 && tm.Timeline != nil:
		v.ps.add("%s: SegmentTemplate has both duration and SegmentTimeline", where)
	}
	base, err := t.base("")
	if err != nil {
		return // reported with the BaseURL
	}
	for _, u := range [...]struct {
		name, tmpl string
		v          templateValues
	}{
		{"initialization", tm.Initialization, t.values(0, 0)},
		{"media", tm.Media, t.values(tm.StartNumber, tm.PresentationTimeOffset)},
	} {
		if u.tmpl == "" {
			continue
		}
		if x, err := expandTemplate(nil, u.tmpl, u.v); err == nil { // else reported with its SegmentTemplate
			if _, err := resolveFile(base, string(x)); err != nil {
				v.ps.add("%s: SegmentTemplate %s: %v", where, u.name, err)
			}
		}
	}
}

// hasSegmentInfo reports whether the Representation or a level above it
// has an unmodelled SegmentBase or SegmentList. The answers for the levels
// above are kept, so that Validate stays linear.
func (v *mpdValidator) hasSegmentInfo(t *Track) bool {
	if v.segInfo == nil {
		v.segInfo = make(map[*[]RawElement]bool)
	}
	for _, extra := range [...]*[]RawElement{&t.Representation.Extra, &t.AdaptationSet.Extra, &t.Period.Extra} {
		has, ok := v.segInfo[extra]
		if !ok {
			for _, e := range *extra {
				has = has || isElement(e.XML, "SegmentBase") || isElement(e.XML, "SegmentList")
			}
			v.segInfo[extra] = has
		}
		if has {
			return true
		}
	}
	return false
}

// isElement reports whether raw XML starts with an element named name.
func isElement(xml, name string) bool {
	return strings.HasPrefix(xml, "<"+name) && len(xml) > len(name)+1 &&
		strings.IndexByte(" \t\r\n/>", xml[len(name)+1]) >= 0
}

// rendered checks that the MPD renders to a document ParseMPD reads, and
// the URLs in its unmodelled elements.
func (v *mpdValidator) rendered() {
	_, err := parseMPD(v.m.AppendTo(nil), func(_ int, elem, attr, url string) {
		where := elem
		if attr != "" {
			where += "@" + attr
		}
		var err error
		switch {
		case elem == "BaseURL" && attr == "":
			_, err = resolveBase("", url)
		case strings.HasSuffix(attr, ":href") && url == "urn:mpeg:dash:resolve-to-zero:2013":
		case attr == "media" || attr == "initialization" || attr == "index" || attr == "bitstreamSwitching":
			var u []byte
			if u, err = expandTemplate(nil, url, templateValues{repID: "0", number: 1}); err == nil {
				_, err = resolveFile("", string(u))
			}
		default:
			_, err = resolveFile("", url)
		}
		if err != nil {
			v.ps.add("%s: %v", where, err)
		}
	})
	if err != nil {
		v.ps.add("MPD does not render to a readable document: %v", err)
	}
}
