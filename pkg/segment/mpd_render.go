package segment

import (
	"encoding/xml"
	"math"
	"strconv"
)

// AppendTo appends the MPD as an XML document in DASHNamespace and returns
// the extended buffer. The output depends on the model only: modelled
// attributes in a fixed order, then Attrs as kept; modelled children in
// the schema's order, each element of Extra where its After puts it; one
// element per line, indented with tabs. Unmodelled elements are written
// as they were read.
func (m *MPD) AppendTo(dst []byte) []byte {
	w := mpdWriter{b: dst}
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<MPD xmlns="`+DASHNamespace+`"`...)
	w.attr("id", m.ID)
	w.attr("type", m.Type)
	w.attr("profiles", m.Profiles)
	w.attr("availabilityStartTime", m.AvailabilityStartTime)
	w.attr("availabilityEndTime", m.AvailabilityEndTime)
	w.attr("publishTime", m.PublishTime)
	w.attr("mediaPresentationDuration", m.MediaPresentationDuration)
	w.attr("minimumUpdatePeriod", m.MinimumUpdatePeriod)
	w.attr("timeShiftBufferDepth", m.TimeShiftBufferDepth)
	w.attr("suggestedPresentationDelay", m.SuggestedPresentationDelay)
	w.attr("maxSegmentDuration", m.MaxSegmentDuration)
	w.attr("minBufferTime", m.MinBufferTime)
	w.others(m.Attrs)
	w.b = append(w.b, '>')
	w.depth++
	k := w.kids(m.Extra)
	for i := range m.BaseURLs {
		k.next()
		w.baseURL(&m.BaseURLs[i])
	}
	if m.ContentSteering != nil {
		k.next()
		w.contentSteering(m.ContentSteering)
	}
	for i := range m.ServiceDescriptions {
		k.next()
		w.serviceDescription(&m.ServiceDescriptions[i])
	}
	for i := range m.Periods {
		k.next()
		w.period(&m.Periods[i])
	}
	for i := range m.UTCTimings {
		k.next()
		w.descriptor("UTCTiming", &m.UTCTimings[i])
	}
	k.done()
	w.depth--
	w.b = append(w.b, "\n</MPD>\n"...)
	return w.b
}

// Render returns the MPD as AppendTo writes it.
func (m *MPD) Render() []byte { return m.AppendTo(nil) }

// mpdWriter appends XML, one element per line.
type mpdWriter struct {
	b     []byte
	depth int
}

func (w *mpdWriter) newline() {
	w.b = append(w.b, '\n')
	for range w.depth {
		w.b = append(w.b, '\t')
	}
}

func (w *mpdWriter) start(name string) {
	w.newline()
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
}

// open ends a start tag: with "/>" when the element is empty (and returns
// false), with ">" otherwise, the children to follow one level deeper.
func (w *mpdWriter) open(children int) bool {
	if children == 0 {
		w.b = append(w.b, "/>"...)
		return false
	}
	w.b = append(w.b, '>')
	w.depth++
	return true
}

func (w *mpdWriter) end(name string) {
	w.depth--
	w.newline()
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *mpdWriter) attr(name, v string) {
	if v == "" {
		return
	}
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = appendXMLEscaped(w.b, v, true)
	w.b = append(w.b, '"')
}

func (w *mpdWriter) attrUint(name string, v uint64) {
	if v != 0 {
		w.b = append(w.b, ' ')
		w.b = append(w.b, name...)
		w.b = append(w.b, `="`...)
		w.b = strconv.AppendUint(w.b, v, 10)
		w.b = append(w.b, '"')
	}
}

func (w *mpdWriter) attrOptUint(name string, p *uint64) {
	if p != nil {
		w.b = append(w.b, ' ')
		w.b = append(w.b, name...)
		w.b = append(w.b, `="`...)
		w.b = strconv.AppendUint(w.b, *p, 10)
		w.b = append(w.b, '"')
	}
}

func (w *mpdWriter) attrOptFloat(name string, p *float64) {
	if p != nil {
		w.b = append(w.b, ' ')
		w.b = append(w.b, name...)
		w.b = append(w.b, `="`...)
		w.b = appendXSDouble(w.b, *p)
		w.b = append(w.b, '"')
	}
}

func (w *mpdWriter) attrOptBool(name string, p *bool) {
	if p != nil {
		w.b = append(w.b, ' ')
		w.b = append(w.b, name...)
		w.b = append(w.b, `="`...)
		w.b = strconv.AppendBool(w.b, *p)
		w.b = append(w.b, '"')
	}
}

// appendXSDouble writes f as an xs:double: INF, -INF or a decimal that
// parses back to f.
func appendXSDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "INF"...)
	case math.IsInf(f, -1):
		return append(dst, "-INF"...)
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// others writes unmodelled attributes with the prefixes they were read with.
func (w *mpdWriter) others(attrs []xml.Attr) {
	for _, a := range attrs {
		w.b = append(w.b, ' ')
		if a.Name.Space != "" {
			w.b = append(w.b, a.Name.Space...)
			w.b = append(w.b, ':')
		}
		w.b = append(w.b, a.Name.Local...)
		w.b = append(w.b, `="`...)
		w.b = appendXMLEscaped(w.b, a.Value, true)
		w.b = append(w.b, '"')
	}
}

// appendXMLEscaped escapes s for XML text or, with attr, for an attribute
// value in double quotes: white space other than the space is written as
// a character reference so that it reads back unchanged.
func appendXMLEscaped(dst []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case attr && c == '"':
			esc = "&quot;"
		case attr && c == '\n':
			esc = "&#xA;"
		case attr && c == '\t':
			esc = "&#x9;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// kidWriter puts each kept element back among the modelled children.
type kidWriter struct {
	w     *mpdWriter
	extra []RawElement
	n     int // modelled children written
}

func (w *mpdWriter) kids(extra []RawElement) kidWriter { return kidWriter{w: w, extra: extra} }

// next writes the kept elements that come before the next modelled child.
func (k *kidWriter) next() {
	for len(k.extra) > 0 && k.extra[0].After <= k.n {
		k.raw()
	}
	k.n++
}

// done writes the kept elements left.
func (k *kidWriter) done() {
	for len(k.extra) > 0 {
		k.raw()
	}
}

func (k *kidWriter) raw() {
	k.w.newline()
	k.w.b = append(k.w.b, k.extra[0].XML...)
	k.extra = k.extra[1:]
}

func (w *mpdWriter) baseURL(b *BaseURL) {
	w.start("BaseURL")
	w.attr("serviceLocation", b.ServiceLocation)
	w.attr("byteRange", b.ByteRange)
	w.attrOptFloat("availabilityTimeOffset", b.AvailabilityTimeOffset)
	w.attrOptBool("availabilityTimeComplete", b.AvailabilityTimeComplete)
	w.others(b.Attrs)
	w.text("BaseURL", b.URL)
}

// text ends a start tag with the element's text and its end tag.
func (w *mpdWriter) text(name, s string) {
	if s == "" {
		w.b = append(w.b, "/>"...)
		return
	}
	w.b = append(w.b, '>')
	w.b = appendXMLEscaped(w.b, s, false)
	w.b = append(w.b, "</"...)
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *mpdWriter) contentSteering(cs *ContentSteering) {
	w.start("ContentSteering")
	w.attr("defaultServiceLocation", cs.DefaultServiceLocation)
	w.attr("queryBeforeStart", cs.QueryBeforeStart)
	w.attr("clientRequirement", cs.ClientRequirement)
	w.attr("proxyServerURL", cs.ProxyServerURL)
	w.others(cs.Attrs)
	w.text("ContentSteering", cs.URL)
}

func (w *mpdWriter) descriptor(name string, d *Descriptor) {
	w.start(name)
	w.attr("schemeIdUri", d.SchemeIDURI)
	w.attr("value", d.Value)
	w.attr("id", d.ID)
	w.others(d.Attrs)
	if w.open(len(d.Extra)) {
		k := w.kids(d.Extra)
		k.done()
		w.end(name)
	}
}

func (w *mpdWriter) serviceDescription(sd *ServiceDescription) {
	w.start("ServiceDescription")
	w.attr("id", sd.ID)
	w.others(sd.Attrs)
	if w.open(len(sd.Latency) + len(sd.Extra)) {
		k := w.kids(sd.Extra)
		for i := range sd.Latency {
			k.next()
			w.latency(&sd.Latency[i])
		}
		k.done()
		w.end("ServiceDescription")
	}
}

func (w *mpdWriter) latency(l *Latency) {
	w.start("Latency")
	w.attr("referenceId", l.ReferenceID)
	w.attrUint("target", l.Target)
	w.attrUint("min", l.Min)
	w.attrUint("max", l.Max)
	w.others(l.Attrs)
	if w.open(len(l.Extra)) {
		k := w.kids(l.Extra)
		k.done()
		w.end("Latency")
	}
}

func (w *mpdWriter) producerReferenceTime(p *ProducerReferenceTime) {
	w.start("ProducerReferenceTime")
	w.attr("id", p.ID)
	w.attr("inband", p.Inband)
	w.attr("type", p.Type)
	w.attr("wallClockTime", p.WallClockTime)
	w.b = append(w.b, ` presentationTime="`...)
	w.b = strconv.AppendUint(w.b, p.PresentationTime, 10)
	w.b = append(w.b, '"')
	w.others(p.Attrs)
	if w.open(btoi(p.UTCTiming != nil) + len(p.Extra)) {
		k := w.kids(p.Extra)
		if p.UTCTiming != nil {
			k.next()
			w.descriptor("UTCTiming", p.UTCTiming)
		}
		k.done()
		w.end("ProducerReferenceTime")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *mpdWriter) period(p *Period) {
	w.start("Period")
	w.attr("id", p.ID)
	w.attr("start", p.Start)
	w.attr("duration", p.Duration)
	w.others(p.Attrs)
	if !w.open(len(p.BaseURLs) + btoi(p.SegmentTemplate != nil) + len(p.AdaptationSets) + len(p.Extra)) {
		return
	}
	k := w.kids(p.Extra)
	for i := range p.BaseURLs {
		k.next()
		w.baseURL(&p.BaseURLs[i])
	}
	if p.SegmentTemplate != nil {
		k.next()
		w.segmentTemplate(p.SegmentTemplate)
	}
	for i := range p.AdaptationSets {
		k.next()
		w.adaptationSet(&p.AdaptationSets[i])
	}
	k.done()
	w.end("Period")
}

func (w *mpdWriter) adaptationSet(as *AdaptationSet) {
	w.start("AdaptationSet")
	w.attr("id", as.ID)
	w.attr("contentType", as.ContentType)
	w.attr("mimeType", as.MimeType)
	w.attr("codecs", as.Codecs)
	w.attr("lang", as.Lang)
	w.attr("segmentAlignment", as.SegmentAlignment)
	w.attr("startWithSAP", as.StartWithSAP)
	w.attrUint("width", as.Width)
	w.attrUint("height", as.Height)
	w.attrUint("maxWidth", as.MaxWidth)
	w.attrUint("maxHeight", as.MaxHeight)
	w.attr("frameRate", as.FrameRate)
	w.others(as.Attrs)
	if !w.open(len(as.ProducerReferenceTimes) + len(as.BaseURLs) + btoi(as.SegmentTemplate != nil) +
		len(as.Representations) + len(as.Extra)) {
		return
	}
	k := w.kids(as.Extra)
	for i := range as.ProducerReferenceTimes {
		k.next()
		w.producerReferenceTime(&as.ProducerReferenceTimes[i])
	}
	for i := range as.BaseURLs {
		k.next()
		w.baseURL(&as.BaseURLs[i])
	}
	if as.SegmentTemplate != nil {
		k.next()
		w.segmentTemplate(as.SegmentTemplate)
	}
	for i := range as.Representations {
		k.next()
		w.representation(&as.Representations[i])
	}
	k.done()
	w.end("AdaptationSet")
}

func (w *mpdWriter) representation(r *Representation) {
	w.start("Representation")
	w.attr("id", r.ID)
	w.attrUint("bandwidth", r.Bandwidth)
	w.attr("codecs", r.Codecs)
	w.attr("mimeType", r.MimeType)
	w.attrUint("width", r.Width)
	w.attrUint("height", r.Height)
	w.attr("frameRate", r.FrameRate)
	w.attr("audioSamplingRate", r.AudioSamplingRate)
	w.others(r.Attrs)
	if !w.open(len(r.ProducerReferenceTimes) + len(r.BaseURLs) + btoi(r.SegmentTemplate != nil) + len(r.Extra)) {
		return
	}
	k := w.kids(r.Extra)
	for i := range r.ProducerReferenceTimes {
		k.next()
		w.producerReferenceTime(&r.ProducerReferenceTimes[i])
	}
	for i := range r.BaseURLs {
		k.next()
		w.baseURL(&r.BaseURLs[i])
	}
	if r.SegmentTemplate != nil {
		k.next()
		w.segmentTemplate(r.SegmentTemplate)
	}
	k.done()
	w.end("Representation")
}

func (w *mpdWriter) segmentTemplate(st *SegmentTemplate) {
	w.start("SegmentTemplate")
	w.attrOptUint("timescale", st.Timescale)
	w.attrOptUint("duration", st.Duration)
	w.attrOptUint("startNumber", st.StartNumber)
	w.attrOptUint("endNumber", st.EndNumber)
	w.attrOptUint("presentationTimeOffset", st.PresentationTimeOffset)
	w.attrOptFloat("availabilityTimeOffset", st.AvailabilityTimeOffset)
	w.attrOptBool("availabilityTimeComplete", st.AvailabilityTimeComplete)
	w.attr("initialization", st.Initialization)
	w.attr("media", st.Media)
	w.attr("index", st.Index)
	w.attr("bitstreamSwitching", st.BitstreamSwitching)
	w.others(st.Attrs)
	if !w.open(btoi(st.Timeline != nil) + len(st.Extra)) {
		return
	}
	k := w.kids(st.Extra)
	if tl := st.Timeline; tl != nil {
		k.next()
		w.start("SegmentTimeline")
		w.others(tl.Attrs)
		if w.open(len(tl.S) + len(tl.Extra)) {
			kt := w.kids(tl.Extra)
			for i := range tl.S {
				kt.next()
				w.s(&tl.S[i])
			}
			kt.done()
			w.end("SegmentTimeline")
		}
	}
	k.done()
	w.end("SegmentTemplate")
}

func (w *mpdWriter) s(s *S) {
	w.start("S")
	w.attrOptUint("t", s.T)
	w.attrOptUint("n", s.N)
	w.b = append(w.b, ` d="`...)
	w.b = strconv.AppendUint(w.b, s.D, 10)
	w.b = append(w.b, '"')
	if s.R != 0 {
		w.b = append(w.b, ` r="`...)
		w.b = strconv.AppendInt(w.b, s.R, 10)
		w.b = append(w.b, '"')
	}
	w.others(s.Attrs)
	w.b = append(w.b, "/>"...)
}
