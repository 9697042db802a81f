package segment

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file maps the elements ParseMPD models onto their types.

// setFunc takes an unprefixed attribute; it returns false for one it does
// not model.
type setFunc func(name, value string) (bool, error)

// attrs hands the unprefixed attributes of se to set and keeps the others
// (and those set does not model) in *other.
func (r *mpdReader) attrs(se xml.StartElement, other *[]xml.Attr, set setFunc) error {
	for _, a := range se.Attr {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			ok, err := set(a.Name.Local, a.Value)
			if err != nil {
				return r.fail(se.Name.Local, "%s: %v", a.Name.Local, err)
			}
			if ok {
				continue
			}
		}
		*other = append(*other, a)
	}
	return nil
}

func setStr(p *string, v string) (bool, error) { *p = v; return true, nil }

func setUint(p *uint64, v string) (bool, error) {
	n, err := parseXSUint(v)
	*p = n
	return true, err
}

func setOptUint(p **uint64, v string) (bool, error) {
	n, err := parseXSUint(v)
	*p = &n
	return true, err
}

func setOptFloat(p **float64, v string) (bool, error) {
	f, err := parseXSDouble(v)
	*p = &f
	return true, err
}

func setOptBool(p **bool, v string) (bool, error) {
	b, err := parseXSBool(v)
	*p = &b
	return true, err
}

// parseXSUint parses an xs:unsignedLong (or unsignedInt): digits, with
// the white space XML allows around them.
func parseXSUint(v string) (uint64, error) {
	n, ok := parseUint(strings.Trim(v, " \t\r\n"), 64)
	if !ok {
		return 0, fmt.Errorf("bad number %q", clipText([]byte(v)))
	}
	return n, nil
}

// parseXSInt parses an xs:int or xs:long.
func parseXSInt(v string) (int64, error) {
	t := strings.Trim(v, " \t\r\n")
	digits := strings.TrimPrefix(t, "-")
	if !isDigits(digits) {
		return 0, fmt.Errorf("bad number %q", clipText([]byte(v)))
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", clipText([]byte(v)))
	}
	return n, nil
}

// parseXSDouble parses an xs:double other than NaN: a decimal with an
// optional exponent, INF or -INF. Values beyond float64 become infinite.
func parseXSDouble(v string) (float64, error) {
	t := strings.Trim(v, " \t\r\n")
	switch t {
	case "INF", "+INF":
		return math.Inf(1), nil
	case "-INF":
		return math.Inf(-1), nil
	}
	mant, exp, hasExp := strings.Cut(strings.TrimLeft(strings.Replace(t, "E", "e", 1), "+-"), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	ok := len(t)-len(strings.TrimLeft(t, "+-")) <= 1 &&
		(whole != "" || frac != "") && (whole == "" || isDigits(whole)) && (frac == "" || isDigits(frac))
	if hasExp {
		e := strings.TrimPrefix(strings.TrimPrefix(exp, "+"), "-")
		ok = ok && len(exp)-len(e) <= 1 && isDigits(e)
	}
	f, err := strconv.ParseFloat(t, 64)
	if !ok || err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("bad number %q", clipText([]byte(v)))
	}
	return f, nil
}

// parseXSBool parses an xs:boolean.
func parseXSBool(v string) (bool, error) {
	switch strings.Trim(v, " \t\r\n") {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", clipText([]byte(v)))
}

// children reads the children of se: each DASH element whose name one of
// known takes is parsed by it, every other one kept in *extra. known
// returns false for names it does not take; it counts the children it
// takes so that the kept ones stay in place.
func (r *mpdReader) children(se xml.StartElement, extra *[]RawElement, known func(c xml.StartElement) (bool, error)) error {
	n := 0
	return r.content(se, nil, func(c xml.StartElement, start int, dash bool) error {
		if dash {
			ok, err := known(c)
			if err != nil || ok {
				n++
				return err
			}
		}
		e, err := r.raw(c, start, n)
		*extra = append(*extra, e)
		return err
	})
}

func (r *mpdReader) once(parent, child string, set bool) error {
	if set {
		return r.fail(child, "more than one in %s", parent)
	}
	return nil
}

func (r *mpdReader) mpd(se xml.StartElement) (*MPD, error) {
	m := &MPD{}
	err := r.attrs(se, &m.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "id":
			return setStr(&m.ID, v)
		case "type":
			return setStr(&m.Type, v)
		case "profiles":
			return setStr(&m.Profiles, v)
		case "availabilityStartTime":
			return setStr(&m.AvailabilityStartTime, v)
		case "availabilityEndTime":
			return setStr(&m.AvailabilityEndTime, v)
		case "publishTime":
			return setStr(&m.PublishTime, v)
		case "mediaPresentationDuration":
			return setStr(&m.MediaPresentationDuration, v)
		case "minimumUpdatePeriod":
			return setStr(&m.MinimumUpdatePeriod, v)
		case "timeShiftBufferDepth":
			return setStr(&m.TimeShiftBufferDepth, v)
		case "suggestedPresentationDelay":
			return setStr(&m.SuggestedPresentationDelay, v)
		case "maxSegmentDuration":
			return setStr(&m.MaxSegmentDuration, v)
		case "minBufferTime":
			return setStr(&m.MinBufferTime, v)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	// The default namespace is DASH's (open checked it); render writes it.
	kept := m.Attrs[:0]
	for _, a := range m.Attrs {
		if a.Name.Space != "" || a.Name.Local != "xmlns" {
			kept = append(kept, a)
		}
	}
	m.Attrs = kept
	if len(m.Attrs) == 0 {
		m.Attrs = nil
	}
	err = r.children(se, &m.Extra, func(c xml.StartElement) (bool, error) {
		switch c.Name.Local {
		case "BaseURL":
			b, err := r.baseURL(c)
			m.BaseURLs = append(m.BaseURLs, b)
			return true, err
		case "ContentSteering":
			if err := r.once("MPD", "ContentSteering", m.ContentSteering != nil); err != nil {
				return true, err
			}
			cs, err := r.contentSteering(c)
			m.ContentSteering = cs
			return true, err
		case "ServiceDescription":
			sd, err := r.serviceDescription(c)
			m.ServiceDescriptions = append(m.ServiceDescriptions, sd)
			return true, err
		case "Period":
			p, err := r.period(c)
			m.Periods = append(m.Periods, p)
			return true, err
		case "UTCTiming":
			d, err := r.descriptor(c)
			m.UTCTimings = append(m.UTCTimings, d)
			return true, err
		}
		return false, nil
	})
	return m, err
}

func (r *mpdReader) baseURL(se xml.StartElement) (BaseURL, error) {
	var b BaseURL
	err := r.attrs(se, &b.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "serviceLocation":
			return setStr(&b.ServiceLocation, v)
		case "byteRange":
			return setStr(&b.ByteRange, v)
		case "availabilityTimeOffset":
			return setOptFloat(&b.AvailabilityTimeOffset, v)
		case "availabilityTimeComplete":
			return setOptBool(&b.AvailabilityTimeComplete, v)
		}
		return false, nil
	})
	if err != nil {
		return b, err
	}
	return b, r.content(se, &b.URL, nil)
}

func (r *mpdReader) contentSteering(se xml.StartElement) (*ContentSteering, error) {
	cs := &ContentSteering{}
	err := r.attrs(se, &cs.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "defaultServiceLocation":
			return setStr(&cs.DefaultServiceLocation, v)
		case "queryBeforeStart":
			return setStr(&cs.QueryBeforeStart, v)
		case "clientRequirement":
			return setStr(&cs.ClientRequirement, v)
		case "proxyServerURL":
			return setStr(&cs.ProxyServerURL, v)
		}
		return false, nil
	})
	if err != nil {
		return cs, err
	}
	return cs, r.content(se, &cs.URL, nil)
}

func (r *mpdReader) descriptor(se xml.StartElement) (Descriptor, error) {
	var d Descriptor
	err := r.attrs(se, &d.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "schemeIdUri":
			return setStr(&d.SchemeIDURI, v)
		case "value":
			return setStr(&d.Value, v)
		case "id":
			return setStr(&d.ID, v)
		}
		return false, nil
	})
	if err != nil {
		return d, err
	}
	return d, r.children(se, &d.Extra, func(xml.StartElement) (bool, error) { return false, nil })
}

func (r *mpdReader) serviceDescription(se xml.StartElement) (ServiceDescription, error) {
	var sd ServiceDescription
	err := r.attrs(se, &sd.Attrs, func(name, v string) (bool, error) {
		if name == "id" {
			return setStr(&sd.ID, v)
		}
		return false, nil
	})
	if err != nil {
		return sd, err
	}
	err = r.children(se, &sd.Extra, func(c xml.StartElement) (bool, error) {
		if c.Name.Local != "Latency" {
			return false, nil
		}
		l, err := r.latency(c)
		sd.Latency = append(sd.Latency, l)
		return true, err
	})
	return sd, err
}

func (r *mpdReader) latency(se xml.StartElement) (Latency, error) {
	var l Latency
	err := r.attrs(se, &l.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "referenceId":
			return setStr(&l.ReferenceID, v)
		case "target":
			return setUint(&l.Target, v)
		case "min":
			return setUint(&l.Min, v)
		case "max":
			return setUint(&l.Max, v)
		}
		return false, nil
	})
	if err != nil {
		return l, err
	}
	return l, r.children(se, &l.Extra, func(xml.StartElement) (bool, error) { return false, nil })
}

func (r *mpdReader) producerReferenceTime(se xml.StartElement) (ProducerReferenceTime, error) {
	var p ProducerReferenceTime
	err := r.attrs(se, &p.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "id":
			return setStr(&p.ID, v)
		case "inband":
			return setStr(&p.Inband, v)
		case "type":
			return setStr(&p.Type, v)
		case "wallClockTime":
			return setStr(&p.WallClockTime, v)
		case "presentationTime":
			return setUint(&p.PresentationTime, v)
		}
		return false, nil
	})
	if err != nil {
		return p, err
	}
	err = r.children(se, &p.Extra, func(c xml.StartElement) (bool, error) {
		if c.Name.Local != "UTCTiming" {
			return false, nil
		}
		if err := r.once("ProducerReferenceTime", "UTCTiming", p.UTCTiming != nil); err != nil {
			return true, err
		}
		d, err := r.descriptor(c)
		p.UTCTiming = &d
		return true, err
	})
	return p, err
}

func (r *mpdReader) period(se xml.StartElement) (Period, error) {
	var p Period
	err := r.attrs(se, &p.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "id":
			return setStr(&p.ID, v)
		case "start":
			return setStr(&p.Start, v)
		case "duration":
			return setStr(&p.Duration, v)
		}
		return false, nil
	})
	if err != nil {
		return p, err
	}
	err = r.children(se, &p.Extra, func(c xml.StartElement) (bool, error) {
		switch c.Name.Local {
		case "BaseURL":
			b, err := r.baseURL(c)
			p.BaseURLs = append(p.BaseURLs, b)
			return true, err
		case "SegmentTemplate":
			return true, r.segmentTemplateOnce("Period", c, &p.SegmentTemplate)
		case "AdaptationSet":
			as, err := r.adaptationSet(c)
			p.AdaptationSets = append(p.AdaptationSets, as)
			return true, err
		}
		return false, nil
	})
	return p, err
}

func (r *mpdReader) adaptationSet(se xml.StartElement) (AdaptationSet, error) {
	var as AdaptationSet
	err := r.attrs(se, &as.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "id":
			return setStr(&as.ID, v)
		case "contentType":
			return setStr(&as.ContentType, v)
		case "mimeType":
			return setStr(&as.MimeType, v)
		case "codecs":
			return setStr(&as.Codecs, v)
		case "lang":
			return setStr(&as.Lang, v)
		case "segmentAlignment":
			return setStr(&as.SegmentAlignment, v)
		case "startWithSAP":
			return setStr(&as.StartWithSAP, v)
		case "width":
			return setUint(&as.Width, v)
		case "height":
			return setUint(&as.Height, v)
		case "maxWidth":
			return setUint(&as.MaxWidth, v)
		case "maxHeight":
			return setUint(&as.MaxHeight, v)
		case "frameRate":
			return setStr(&as.FrameRate, v)
		}
		return false, nil
	})
	if err != nil {
		return as, err
	}
	err = r.children(se, &as.Extra, func(c xml.StartElement) (bool, error) {
		switch c.Name.Local {
		case "ProducerReferenceTime":
			p, err := r.producerReferenceTime(c)
			as.ProducerReferenceTimes = append(as.ProducerReferenceTimes, p)
			return true, err
		case "BaseURL":
			b, err := r.baseURL(c)
			as.BaseURLs = append(as.BaseURLs, b)
			return true, err
		case "SegmentTemplate":
			return true, r.segmentTemplateOnce("AdaptationSet", c, &as.SegmentTemplate)
		case "Representation":
			rep, err := r.representation(c)
			as.Representations = append(as.Representations, rep)
			return true, err
		}
		return false, nil
	})
	return as, err
}

func (r *mpdReader) representation(se xml.StartElement) (Representation, error) {
	var rep Representation
	err := r.attrs(se, &rep.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "id":
			return setStr(&rep.ID, v)
		case "bandwidth":
			return setUint(&rep.Bandwidth, v)
		case "codecs":
			return setStr(&rep.Codecs, v)
		case "mimeType":
			return setStr(&rep.MimeType, v)
		case "width":
			return setUint(&rep.Width, v)
		case "height":
			return setUint(&rep.Height, v)
		case "frameRate":
			return setStr(&rep.FrameRate, v)
		case "audioSamplingRate":
			return setStr(&rep.AudioSamplingRate, v)
		}
		return false, nil
	})
	if err != nil {
		return rep, err
	}
	err = r.children(se, &rep.Extra, func(c xml.StartElement) (bool, error) {
		switch c.Name.Local {
		case "ProducerReferenceTime":
			p, err := r.producerReferenceTime(c)
			rep.ProducerReferenceTimes = append(rep.ProducerReferenceTimes, p)
			return true, err
		case "BaseURL":
			b, err := r.baseURL(c)
			rep.BaseURLs = append(rep.BaseURLs, b)
			return true, err
		case "SegmentTemplate":
			return true, r.segmentTemplateOnce("Representation", c, &rep.SegmentTemplate)
		}
		return false, nil
	})
	return rep, err
}

func (r *mpdReader) segmentTemplateOnce(parent string, se xml.StartElement, dst **SegmentTemplate) error {
	if err := r.once(parent, "SegmentTemplate", *dst != nil); err != nil {
		return err
	}
	st, err := r.segmentTemplate(se)
	*dst = st
	return err
}

func (r *mpdReader) segmentTemplate(se xml.StartElement) (*SegmentTemplate, error) {
	st := &SegmentTemplate{}
	err := r.attrs(se, &st.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "media":
			return setStr(&st.Media, v)
		case "initialization":
			return setStr(&st.Initialization, v)
		case "index":
			return setStr(&st.Index, v)
		case "bitstreamSwitching":
			return setStr(&st.BitstreamSwitching, v)
		case "timescale":
			return setOptUint(&st.Timescale, v)
		case "duration":
			return setOptUint(&st.Duration, v)
		case "startNumber":
			return setOptUint(&st.StartNumber, v)
		case "endNumber":
			return setOptUint(&st.EndNumber, v)
		case "presentationTimeOffset":
			return setOptUint(&st.PresentationTimeOffset, v)
		case "availabilityTimeOffset":
			return setOptFloat(&st.AvailabilityTimeOffset, v)
		case "availabilityTimeComplete":
			return setOptBool(&st.AvailabilityTimeComplete, v)
		}
		return false, nil
	})
	if err != nil {
		return st, err
	}
	err = r.children(se, &st.Extra, func(c xml.StartElement) (bool, error) {
		if c.Name.Local != "SegmentTimeline" {
			return false, nil
		}
		if err := r.once("SegmentTemplate", "SegmentTimeline", st.Timeline != nil); err != nil {
			return true, err
		}
		tl, err := r.segmentTimeline(c)
		st.Timeline = tl
		return true, err
	})
	return st, err
}

func (r *mpdReader) segmentTimeline(se xml.StartElement) (*SegmentTimeline, error) {
	tl := &SegmentTimeline{}
	err := r.attrs(se, &tl.Attrs, func(string, string) (bool, error) { return false, nil })
	if err != nil {
		return tl, err
	}
	err = r.children(se, &tl.Extra, func(c xml.StartElement) (bool, error) {
		if c.Name.Local != "S" {
			return false, nil
		}
		if len(tl.S) == MaxMPDTimeline {
			return true, r.fail("SegmentTimeline", "more than %d S elements", MaxMPDTimeline)
		}
		s, err := r.s(c)
		tl.S = append(tl.S, s)
		return true, err
	})
	return tl, err
}

func (r *mpdReader) s(se xml.StartElement) (S, error) {
	var s S
	err := r.attrs(se, &s.Attrs, func(name, v string) (bool, error) {
		switch name {
		case "t":
			return setOptUint(&s.T, v)
		case "n":
			return setOptUint(&s.N, v)
		case "d":
			return setUint(&s.D, v)
		case "r":
			n, err := parseXSInt(v)
			s.R = n
			return true, err
		}
		return false, nil
	})
	if err != nil {
		return s, err
	}
	return s, r.content(se, nil, nil)
}
