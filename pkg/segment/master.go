package segment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MasterPlaylist is an HLS master (multivariant) playlist.
type MasterPlaylist struct {
	Version             int // 0: no EXT-X-VERSION tag
	IndependentSegments bool
	Media               []Rendition
	Variants            []Variant
	// Tags are the other tags (EXT-X-I-FRAME-STREAM-INF,
	// EXT-X-SESSION-DATA, EXT-X-CONTENT-STEERING, unknown tags before the
	// first variant or after the last), in order. AppendTo writes them
	// before the renditions and variants.
	Tags []Tag
}

// Variant is an EXT-X-STREAM-INF tag and the URI line after it. The typed
// fields mirror Attrs, which holds every attribute as written; AppendTo
// writes Attrs (or, when Attrs is empty, the typed fields), so change
// attributes with SetAttr to keep both in step.
type Variant struct {
	URI              string
	Bandwidth        int64
	AverageBandwidth int64
	Codecs           string
	Width, Height    int
	FrameRate        float64
	Audio            string // GROUP-ID of an AUDIO rendition group
	Video            string // GROUP-ID of a VIDEO rendition group
	Subtitles        string // GROUP-ID of a SUBTITLES rendition group
	ClosedCaptions   string // GROUP-ID, or NONE
	PathwayID        string // content steering pathway
	Attrs            []Attr
	// Tags are unknown tags between the previous variant's URI and this
	// variant's URI.
	Tags []Tag
}

// Rendition is an EXT-X-MEDIA tag. The typed fields mirror Attrs, which
// AppendTo writes (or, when Attrs is empty, the typed fields).
type Rendition struct {
	Type       string // AUDIO, VIDEO, SUBTITLES or CLOSED-CAPTIONS
	GroupID    string
	Name       string
	Language   string
	URI        string
	Default    bool
	Autoselect bool
	Attrs      []Attr
}

// masterTags are tags of a master playlist kept in MasterPlaylist.Tags
// wherever they appear.
var masterTags = [...]string{
	"#EXT-X-I-FRAME-STREAM-INF", "#EXT-X-SESSION-DATA", "#EXT-X-SESSION-KEY",
	"#EXT-X-CONTENT-STEERING", "#EXT-X-START", "#EXT-X-DEFINE",
}

// mediaOnlyTags make ParseMaster fail: the input is a media playlist.
var mediaOnlyTags = [...]string{
	"#EXTINF", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE",
	"#EXT-X-DISCONTINUITY-SEQUENCE", "#EXT-X-PLAYLIST-TYPE", "#EXT-X-ENDLIST",
	"#EXT-X-MAP", "#EXT-X-BYTERANGE", "#EXT-X-DISCONTINUITY",
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// SetAttr sets attribute key to value and updates the matching typed
// field. value is raw, as written in the playlist: quoted strings keep
// their quotes (SetAttr("PATHWAY-ID", `"cdn-b"`)). An existing attribute is
// replaced in place, a new one appended. SetAttr copies Attrs before
// changing it, so it is safe on a copy of a Variant shared with readers.
// On error nothing changes.
func (v *Variant) SetAttr(key, value string) error {
	if !validAttrName(key) {
		return fmt.Errorf("segment: bad attribute name %q", key)
	}
	if err := checkAttrValue(value); err != nil {
		return fmt.Errorf("segment: attribute %s: %w", key, err)
	}
	t := *v
	if err := setVariantAttr(&t, key, value); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	src := v.Attrs
	if len(src) == 0 {
		src = v.typedAttrs()
	}
	t.Attrs = make([]Attr, len(src), len(src)+1)
	copy(t.Attrs, src)
	i := 0
	for i < len(t.Attrs) && t.Attrs[i].Key != key {
		i++
	}
	if i == len(t.Attrs) {
		t.Attrs = append(t.Attrs, Attr{Key: key})
	}
	t.Attrs[i].Value = value
	*v = t
	return nil
}

// setVariantAttr sets the typed field an attribute maps to. Attributes the
// model does not type are accepted as they are.
func setVariantAttr(v *Variant, key, value string) error {
	switch key {
	case "BANDWIDTH", "AVERAGE-BANDWIDTH":
		n, ok := parseUint(value, 63)
		if !ok {
			return fmt.Errorf("%s: bad integer %q", key, value)
		}
		if key == "BANDWIDTH" {
			v.Bandwidth = int64(n)
		} else {
			v.AverageBandwidth = int64(n)
		}
	case "RESOLUTION":
		w, h, _ := strings.Cut(value, "x")
		wn, ok1 := parseUint(w, 31)
		hn, ok2 := parseUint(h, 31)
		if !ok1 || !ok2 {
			return fmt.Errorf("RESOLUTION: bad resolution %q", value)
		}
		v.Width, v.Height = int(wn), int(hn)
	case "FRAME-RATE":
		f, ok := parseDecimal(value)
		if !ok {
			return fmt.Errorf("FRAME-RATE: bad number %q", value)
		}
		v.FrameRate = f
	case "CLOSED-CAPTIONS":
		if value == "NONE" {
			v.ClosedCaptions = value
			return nil
		}
		return setQuoted(&v.ClosedCaptions, key, value)
	case "CODECS":
		return setQuoted(&v.Codecs, key, value)
	case "AUDIO":
		return setQuoted(&v.Audio, key, value)
	case "VIDEO":
		return setQuoted(&v.Video, key, value)
	case "SUBTITLES":
		return setQuoted(&v.Subtitles, key, value)
	case "PATHWAY-ID":
		return setQuoted(&v.PathwayID, key, value)
	}
	return nil
}

// setRenditionAttr sets the typed field an EXT-X-MEDIA attribute maps to.
func setRenditionAttr(r *Rendition, key, value string) error {
	switch key {
	case "TYPE":
		if strings.HasPrefix(value, `"`) {
			return fmt.Errorf("TYPE: must not be quoted")
		}
		r.Type = value
	case "DEFAULT", "AUTOSELECT":
		if value != "YES" && value != "NO" {
			return fmt.Errorf("%s: want YES or NO, got %q", key, value)
		}
		if key == "DEFAULT" {
			r.Default = value == "YES"
		} else {
			r.Autoselect = value == "YES"
		}
	case "GROUP-ID":
		return setQuoted(&r.GroupID, key, value)
	case "NAME":
		return setQuoted(&r.Name, key, value)
	case "LANGUAGE":
		return setQuoted(&r.Language, key, value)
	case "URI":
		return setQuoted(&r.URI, key, value)
	}
	return nil
}

func setQuoted(dst *string, key, value string) error {
	s, ok := unquote(value)
	if !ok {
		return fmt.Errorf("%s: must be a quoted string", key)
	}
	*dst = s
	return nil
}

// typedAttrs builds an attribute list from the typed fields of a variant
// built by hand.
func (v *Variant) typedAttrs() []Attr {
	a := []Attr{{"BANDWIDTH", strconv.FormatInt(v.Bandwidth, 10)}}
	if v.AverageBandwidth > 0 {
		a = append(a, Attr{"AVERAGE-BANDWIDTH", strconv.FormatInt(v.AverageBandwidth, 10)})
	}
	if v.Width > 0 || v.Height > 0 {
		a = append(a, Attr{"RESOLUTION", strconv.Itoa(v.Width) + "x" + strconv.Itoa(v.Height)})
	}
	if v.FrameRate > 0 {
		a = append(a, Attr{"FRAME-RATE", strconv.FormatFloat(v.FrameRate, 'f', 3, 64)})
	}
	a = appendQuoted(a, "CODECS", v.Codecs)
	a = appendQuoted(a, "AUDIO", v.Audio)
	a = appendQuoted(a, "VIDEO", v.Video)
	a = appendQuoted(a, "SUBTITLES", v.Subtitles)
	if v.ClosedCaptions == "NONE" {
		a = append(a, Attr{"CLOSED-CAPTIONS", "NONE"})
	} else {
		a = appendQuoted(a, "CLOSED-CAPTIONS", v.ClosedCaptions)
	}
	return appendQuoted(a, "PATHWAY-ID", v.PathwayID)
}

// typedAttrs builds an attribute list from the typed fields of a rendition
// built by hand.
func (r *Rendition) typedAttrs() []Attr {
	a := []Attr{{"TYPE", r.Type}}
	a = appendQuoted(a, "GROUP-ID", r.GroupID)
	a = appendQuoted(a, "NAME", r.Name)
	a = appendQuoted(a, "LANGUAGE", r.Language)
	if r.Default {
		a = append(a, Attr{"DEFAULT", "YES"})
	}
	if r.Autoselect {
		a = append(a, Attr{"AUTOSELECT", "YES"})
	}
	return appendQuoted(a, "URI", r.URI)
}

func appendQuoted(a []Attr, key, s string) []Attr {
	if s == "" {
		return a
	}
	return append(a, Attr{key, `"` + s + `"`})
}

// ParseMaster parses an HLS master playlist. It accepts CRLF, blank lines,
// a BOM and comments (dropped) and keeps unknown tags verbatim. Every error
// wraps ErrSyntax and names the line.
func ParseMaster(data []byte) (*MasterPlaylist, error) {
	sc, err := startScanner(string(data))
	if err != nil {
		return nil, err
	}
	mp := masterParser{p: &MasterPlaylist{}}
	if err := scanLines(&sc, &mp); err != nil {
		return nil, err
	}
	if mp.inVariant {
		return nil, errAt(sc.line, "#EXT-X-STREAM-INF", "no URI before end of playlist")
	}
	mp.p.Tags = append(mp.p.Tags, mp.vtags...)
	return mp.p, nil
}

func (mp *masterParser) at(line int) { mp.line = line }

// masterParser holds the state of ParseMaster between lines.
type masterParser struct {
	p         *MasterPlaylist
	line      int
	seen      int     // seenVersion, seenIndependent
	v         Variant // variant waiting for its URI
	inVariant bool
	vtags     []Tag // unknown tags for the next variant
	gotURI    bool  // a variant URI has been read
}

func (mp *masterParser) tag(t Tag) error {
	var err error
	switch {
	case t.Name == "#EXT-X-STREAM-INF":
		err = mp.streamInf(t)
	case t.Name == "#EXT-X-MEDIA":
		err = mp.media(t)
	case t.Name == "#EXTM3U":
		err = errors.New("more than one")
	case t.Name == "#EXT-X-VERSION":
		mp.p.Version, err = intValue(t)
		err = mp.once(seenVersion, err)
	case t.Name == "#EXT-X-INDEPENDENT-SEGMENTS":
		mp.p.IndependentSegments = true
		err = mp.once(seenIndependent, noValue(t))
	case contains(mediaOnlyTags[:], t.Name):
		err = errors.New("media playlist tag in a master playlist")
	case contains(masterTags[:], t.Name) || !mp.gotURI:
		mp.p.Tags = append(mp.p.Tags, t)
	default:
		mp.vtags = append(mp.vtags, t)
	}
	if err != nil {
		return errAt(mp.line, t.Name, "%v", err)
	}
	return nil
}

// once records a header tag and fails on its second appearance.
func (mp *masterParser) once(bit int, err error) error {
	if err == nil && mp.seen&bit != 0 {
		err = errors.New("more than one")
	}
	mp.seen |= bit
	return err
}

func (mp *masterParser) count() error {
	if len(mp.p.Variants)+len(mp.p.Media) >= MaxVariants {
		return fmt.Errorf("more than %d variants and renditions", MaxVariants)
	}
	return nil
}

func (mp *masterParser) streamInf(t Tag) error {
	if mp.inVariant {
		return errors.New("previous EXT-X-STREAM-INF has no URI")
	}
	if err := mp.count(); err != nil {
		return err
	}
	attrs, err := parseAttrs(t.Value)
	if err != nil {
		return err
	}
	v := Variant{Attrs: attrs, Bandwidth: -1}
	for _, a := range attrs {
		if err := setVariantAttr(&v, a.Key, a.Value); err != nil {
			return err
		}
	}
	if v.Bandwidth < 0 {
		return errors.New("missing BANDWIDTH")
	}
	mp.v, mp.inVariant = v, true
	return nil
}

func (mp *masterParser) media(t Tag) error {
	if err := mp.count(); err != nil {
		return err
	}
	attrs, err := parseAttrs(t.Value)
	if err != nil {
		return err
	}
	r := Rendition{Attrs: attrs}
	for _, a := range attrs {
		if err := setRenditionAttr(&r, a.Key, a.Value); err != nil {
			return err
		}
	}
	mp.p.Media = append(mp.p.Media, r)
	return nil
}

func (mp *masterParser) uri(line string) error {
	if !mp.inVariant {
		return errAt(mp.line, "", "URI %q without EXT-X-STREAM-INF", line)
	}
	mp.v.URI, mp.v.Tags = line, mp.vtags
	mp.p.Variants = append(mp.p.Variants, mp.v)
	mp.v, mp.inVariant, mp.vtags, mp.gotURI = Variant{}, false, nil, true
	return nil
}
