package manifest

import (
	"net/url"
	"slices"
	"strings"

	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/steering"
)

const steeringTag = "#EXT-X-CONTENT-STEERING"

// SteerMaster returns a copy of m for content steering; m is not changed.
//
// The copy carries #EXT-X-CONTENT-STEERING:SERVER-URI="serverURI" (and
// PATHWAY-ID="defaultPathway" when given) in place of any earlier one, and
// one copy of every variant per pathway, tagged PATHWAY-ID and with its URI
// resolved against that pathway's BaseURL (the URL of the directory the
// master's relative URIs are relative to; a missing trailing slash is
// added). With more than one pathway, every rendition is copied per
// pathway too, its GROUP-ID suffixed with "-" and the pathway id, so each
// pathway's variants use renditions on that pathway. Pathways marked Clone
// are left to the steering manifest's PATHWAY-CLONES; pathways with an
// invalid or repeated id are skipped; a pathway without a BaseURL keeps
// the URIs as they are. With no pathway left the variants are copied
// unchanged. I-frame playlists (in Tags) are not duplicated.
func SteerMaster(m *segment.MasterPlaylist, serverURI, defaultPathway string, pathways []steering.Pathway) *segment.MasterPlaylist {
	out := &segment.MasterPlaylist{Version: m.Version, IndependentSegments: m.IndependentSegments}
	out.Tags = append(out.Tags, segment.Tag{Name: steeringTag, Value: steeringValue(serverURI, defaultPathway), HasValue: true})
	for _, t := range m.Tags {
		if t.Name != steeringTag {
			out.Tags = append(out.Tags, t)
		}
	}
	ps := usable(pathways)
	if len(ps) == 0 {
		out.Media = cloneMedia(m.Media)
		for _, v := range m.Variants {
			v.Tags = slices.Clone(v.Tags)
			out.Variants = append(out.Variants, v)
		}
		return out
	}
	rename := len(ps) > 1
	for _, p := range ps {
		base := baseURL(p.BaseURL)
		suffix := ""
		if rename {
			suffix = "-" + p.ID
		}
		for _, r := range m.Media {
			out.Media = append(out.Media, steerRendition(r, suffix, base))
		}
		for _, v := range m.Variants {
			out.Variants = append(out.Variants, steerVariant(v, p.ID, suffix, base))
		}
	}
	return out
}

// steeringValue is the attribute list of EXT-X-CONTENT-STEERING. Quotes
// and line breaks cannot appear in a quoted-string: they are escaped or
// dropped.
func steeringValue(serverURI, pathway string) string {
	v := `SERVER-URI="` + quotable(serverURI) + `"`
	if pathway != "" {
		v += `,PATHWAY-ID="` + quotable(pathway) + `"`
	}
	return v
}

func quotable(s string) string {
	return strings.NewReplacer(`"`, "%22", "\r", "", "\n", "").Replace(s)
}

// usable returns the pathways SteerMaster expands: not clones, valid and
// unique ids.
func usable(pathways []steering.Pathway) []steering.Pathway {
	var out []steering.Pathway
	seen := map[string]bool{}
	for _, p := range pathways {
		if p.Clone || !steering.ValidPathwayID(p.ID) || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	return out
}

// baseURL parses a pathway's base URL as a directory; nil when empty or
// unusable (URIs then stay as they are).
func baseURL(s string) *url.URL {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return nil
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u
}

func resolve(base *url.URL, uri string) string {
	if base == nil || uri == "" {
		return uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	return base.ResolveReference(u).String()
}

func steerVariant(v segment.Variant, id, suffix string, base *url.URL) segment.Variant {
	v.Tags = slices.Clone(v.Tags)
	v.URI = resolve(base, v.URI)
	// SetAttr copies Attrs before changing them: m's variants are untouched.
	// The values are quoted strings without quotes or line breaks, which
	// SetAttr accepts.
	_ = v.SetAttr("PATHWAY-ID", `"`+id+`"`)
	if suffix == "" {
		return v
	}
	for _, ref := range [...]struct{ key, group string }{
		{"AUDIO", v.Audio}, {"VIDEO", v.Video}, {"SUBTITLES", v.Subtitles}, {"CLOSED-CAPTIONS", v.ClosedCaptions},
	} {
		if ref.group != "" && ref.group != "NONE" {
			_ = v.SetAttr(ref.key, `"`+ref.group+suffix+`"`)
		}
	}
	return v
}

// steerRendition returns r with its GROUP-ID suffixed and its URI
// resolved, keeping Attrs (as written) and the typed fields in step.
func steerRendition(r segment.Rendition, suffix string, base *url.URL) segment.Rendition {
	r.GroupID += suffix
	r.URI = resolve(base, r.URI)
	attrs := slices.Clone(r.Attrs)
	for i := range attrs {
		switch attrs[i].Key {
		case "GROUP-ID":
			attrs[i].Value = `"` + r.GroupID + `"`
		case "URI":
			attrs[i].Value = `"` + r.URI + `"`
		}
	}
	r.Attrs = attrs
	return r
}

func cloneMedia(media []segment.Rendition) []segment.Rendition {
	out := slices.Clone(media)
	for i := range out {
		out[i].Attrs = slices.Clone(out[i].Attrs)
	}
	return out
}
