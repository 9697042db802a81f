package segment

import "encoding/xml"

// DASHNamespace is the XML namespace of an MPD (ISO/IEC 23009-1).
const DASHNamespace = "urn:mpeg:dash:schema:mpd:2011"

// MPD is an MPEG-DASH media presentation description: the attributes and
// elements players need and an origin checks, typed; everything else kept
// as written. Values of type xs:duration and xs:dateTime are kept as
// written (ParseXSDuration, ParseXSDateTime read them), so a parsed MPD
// renders back without rounding. Each element keeps its other attributes
// in Attrs (namespace declarations included; Name.Space is the prefix as
// written, not the namespace) and its other child elements in Extra.
type MPD struct {
	ID                         string
	Type                       string // "static" (also when empty) or "dynamic"
	Profiles                   string
	AvailabilityStartTime      string // xs:dateTime
	AvailabilityEndTime        string // xs:dateTime
	PublishTime                string // xs:dateTime
	MediaPresentationDuration  string // xs:duration
	MinimumUpdatePeriod        string // xs:duration
	TimeShiftBufferDepth       string // xs:duration
	SuggestedPresentationDelay string // xs:duration
	MaxSegmentDuration         string // xs:duration
	MinBufferTime              string // xs:duration

	// Children, rendered in this order (the schema's).
	BaseURLs            []BaseURL
	ContentSteering     *ContentSteering
	ServiceDescriptions []ServiceDescription
	Periods             []Period
	UTCTimings          []Descriptor

	Attrs []xml.Attr
	Extra []RawElement
}

// Dynamic reports whether the MPD describes a live presentation.
func (m *MPD) Dynamic() bool { return m.Type == "dynamic" }

// RawElement is a child element Ringside does not model, kept as written
// in the document, from its start tag to its end tag. Its namespace
// prefixes are declared where the document declared them (usually on the
// MPD element, kept in MPD.Attrs).
type RawElement struct {
	// After is how many modelled children of the parent are rendered
	// before it: the element stays where it was among its siblings.
	After int
	XML   string
}

// BaseURL is a BaseURL element: URL is its text.
type BaseURL struct {
	URL                      string
	ServiceLocation          string
	ByteRange                string
	AvailabilityTimeOffset   *float64 // seconds; +Inf is written INF
	AvailabilityTimeComplete *bool

	Attrs []xml.Attr
}

// Descriptor is a DASH descriptor (UTCTiming, ...).
type Descriptor struct {
	SchemeIDURI string
	Value       string
	ID          string

	Attrs []xml.Attr
	Extra []RawElement
}

// ContentSteering is the DASH content steering element: URL is the
// steering server, its text.
type ContentSteering struct {
	URL                    string
	DefaultServiceLocation string
	QueryBeforeStart       string // xs:boolean as written
	ClientRequirement      string // xs:boolean as written
	ProxyServerURL         string

	Attrs []xml.Attr
}

// ServiceDescription tells low-latency players the latency to aim for.
type ServiceDescription struct {
	ID      string
	Latency []Latency

	Attrs []xml.Attr
	Extra []RawElement
}

// Latency is a ServiceDescription's target latency, in milliseconds (0:
// not given).
type Latency struct {
	ReferenceID string
	Target      uint64
	Min         uint64
	Max         uint64

	Attrs []xml.Attr
	Extra []RawElement
}

// ProducerReferenceTime ties a media time to the wall clock of the
// encoder (LL-DASH latency measurement).
type ProducerReferenceTime struct {
	ID               string
	Inband           string // xs:boolean as written
	Type             string
	WallClockTime    string
	PresentationTime uint64
	UTCTiming        *Descriptor

	Attrs []xml.Attr
	Extra []RawElement
}

// Period is one Period of the presentation.
type Period struct {
	ID       string
	Start    string // xs:duration
	Duration string // xs:duration

	// Children, rendered in this order.
	BaseURLs        []BaseURL
	SegmentTemplate *SegmentTemplate
	AdaptationSets  []AdaptationSet

	Attrs []xml.Attr
	Extra []RawElement
}

// AdaptationSet is a set of interchangeable Representations.
type AdaptationSet struct {
	ID               string
	ContentType      string
	MimeType         string
	Codecs           string
	Lang             string
	SegmentAlignment string // xs:boolean or number, as written
	StartWithSAP     string
	Width, Height    uint64 // 0: not given
	MaxWidth         uint64
	MaxHeight        uint64
	FrameRate        string // "25", "30000/1001"

	// Children, rendered in this order.
	ProducerReferenceTimes []ProducerReferenceTime
	BaseURLs               []BaseURL
	SegmentTemplate        *SegmentTemplate
	Representations        []Representation

	Attrs []xml.Attr
	Extra []RawElement
}

// Representation is one encoding of the content.
type Representation struct {
	ID                string
	Bandwidth         uint64 // bits per second; 0: not given
	Codecs            string
	MimeType          string
	Width, Height     uint64 // 0: not given
	FrameRate         string
	AudioSamplingRate string // "48000", or "min max"

	// Children, rendered in this order.
	ProducerReferenceTimes []ProducerReferenceTime
	BaseURLs               []BaseURL
	SegmentTemplate        *SegmentTemplate

	Attrs []xml.Attr
	Extra []RawElement
}

// SegmentTemplate addresses segments by URL template. At Period or
// AdaptationSet level it gives the defaults of the levels below; nil
// fields are not given (Template merges the levels).
type SegmentTemplate struct {
	Media                    string
	Initialization           string
	Index                    string
	BitstreamSwitching       string
	Timescale                *uint64 // units per second; 1 when no level gives it
	Duration                 *uint64 // in timescale units
	StartNumber              *uint64 // 1 when no level gives it
	EndNumber                *uint64
	PresentationTimeOffset   *uint64
	AvailabilityTimeOffset   *float64 // seconds; +Inf is written INF
	AvailabilityTimeComplete *bool
	Timeline                 *SegmentTimeline

	Attrs []xml.Attr
	Extra []RawElement
}

// SegmentTimeline lists segments by time.
type SegmentTimeline struct {
	S []S

	Attrs []xml.Attr
	Extra []RawElement
}

// S is one SegmentTimeline entry: R+1 segments of duration D from time T
// (or from the end of the previous entry when T is nil). R is -1 when the
// entry repeats up to the next entry's T.
type S struct {
	T *uint64
	N *uint64 // the number of the first segment, when given
	D uint64
	R int64

	Attrs []xml.Attr
}
