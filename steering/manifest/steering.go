package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ringside-live/ringside/steering"
)

// Errors.
var (
	// ErrNoPathways: a steering manifest needs at least one pathway (a
	// blocked decision has none; answer it with an HTTP error instead).
	ErrNoPathways = errors.New("manifest: no pathways")
	// ErrBadID: a pathway id outside [A-Za-z0-9._-].
	ErrBadID = errors.New("manifest: bad pathway id")
)

// Clone is an HLS pathway clone: a pathway the player derives from BaseID
// by replacing the host (and adding query parameters) of every URI.
type Clone struct {
	BaseID string
	ID     string
	Host   string
	Params map[string]string
}

type uriReplacement struct {
	Host   string            `json:"HOST,omitempty"`
	Params map[string]string `json:"PARAMS,omitempty"`
}

type cloneJSON struct {
	BaseID         string         `json:"BASE-ID"`
	ID             string         `json:"ID"`
	URIReplacement uriReplacement `json:"URI-REPLACEMENT"`
}

type hlsJSON struct {
	Version         int         `json:"VERSION"`
	TTL             int64       `json:"TTL"`
	ReloadURI       string      `json:"RELOAD-URI,omitempty"`
	PathwayPriority []string    `json:"PATHWAY-PRIORITY"`
	PathwayClones   []cloneJSON `json:"PATHWAY-CLONES,omitempty"`
}

// dashJSON is the DASH content steering manifest (DASH-IF CTS 001, ETSI
// TS 103 998): the same keys as HLS, pathway ids being the MPD's
// serviceLocation values. SERVICE-LOCATION-PRIORITY is the name the
// DASH-IF community-review draft used; dash.js and Shaka read only
// PATHWAY-PRIORITY, video.js prefers it, so it is sent as a copy for
// clients built on the draft.
type dashJSON struct {
	Version                 int         `json:"VERSION"`
	TTL                     int64       `json:"TTL"`
	ReloadURI               string      `json:"RELOAD-URI,omitempty"`
	PathwayPriority         []string    `json:"PATHWAY-PRIORITY"`
	ServiceLocationPriority []string    `json:"SERVICE-LOCATION-PRIORITY"`
	PathwayClones           []cloneJSON `json:"PATHWAY-CLONES,omitempty"`
}

// Clones describes every clone pathway of pathways (steering.Pathway.Clone)
// as a clone of baseID with the pathway's hostname.
func Clones(pathways []steering.Pathway, baseID string) []Clone {
	var out []Clone
	for _, p := range pathways {
		if p.Clone && p.ID != baseID {
			out = append(out, Clone{BaseID: baseID, ID: p.ID, Host: p.Hostname})
		}
	}
	return out
}

// HLSManifest returns the HLS steering manifest for d: its pathways in
// priority order, reloaded after ttl (whole seconds, at least 1) from
// reloadURI (omitted when empty), with clones.
func HLSManifest(d steering.Decision, ttl time.Duration, reloadURI string, clones []Clone) ([]byte, error) {
	prio, cl, err := check(d, clones)
	if err != nil {
		return nil, fmt.Errorf("manifest: hls: %w", err)
	}
	return encode(hlsJSON{Version: 1, TTL: seconds(ttl), ReloadURI: reloadURI, PathwayPriority: prio, PathwayClones: cl})
}

// DASHManifest is HLSManifest for DASH content steering (DASH-IF CTS
// 001, ETSI TS 103 998): the priority is PATHWAY-PRIORITY, whose ids are
// the MPD's serviceLocation values, repeated as the draft's
// SERVICE-LOCATION-PRIORITY; clones are PATHWAY-CLONES of a location.
func DASHManifest(d steering.Decision, ttl time.Duration, reloadURI string, clones []Clone) ([]byte, error) {
	prio, cl, err := check(d, clones)
	if err != nil {
		return nil, fmt.Errorf("manifest: dash: %w", err)
	}
	return encode(dashJSON{Version: 1, TTL: seconds(ttl), ReloadURI: reloadURI,
		PathwayPriority: prio, ServiceLocationPriority: prio, PathwayClones: cl})
}

// check validates the pathway ids and clones and returns them in JSON form.
func check(d steering.Decision, clones []Clone) ([]string, []cloneJSON, error) {
	if len(d.Pathways) == 0 {
		return nil, nil, ErrNoPathways
	}
	prio := make([]string, 0, len(d.Pathways))
	for _, p := range d.Pathways {
		if !steering.ValidPathwayID(p.ID) {
			return nil, nil, fmt.Errorf("%w: %q", ErrBadID, p.ID)
		}
		prio = append(prio, p.ID)
	}
	var out []cloneJSON
	for _, c := range clones {
		if !steering.ValidPathwayID(c.ID) || !steering.ValidPathwayID(c.BaseID) {
			return nil, nil, fmt.Errorf("%w: clone %q of %q", ErrBadID, c.ID, c.BaseID)
		}
		if c.Host == "" && len(c.Params) == 0 {
			return nil, nil, fmt.Errorf("manifest: clone %q replaces nothing", c.ID)
		}
		out = append(out, cloneJSON{BaseID: c.BaseID, ID: c.ID, URIReplacement: uriReplacement{Host: c.Host, Params: c.Params}})
	}
	return prio, out, nil
}

// encode writes v as JSON without HTML escaping (a RELOAD-URI keeps its
// '&').
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func seconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

// Params are what a player reports when it reloads a steering manifest.
type Params struct {
	Pathway    string // the pathway in use; "" when not reported
	Throughput int64  // bits per second; 0 when not reported
}

// ParseHLSQuery reads _HLS_pathway (a quoted-string, or bare as some
// players send it) and _HLS_throughput from a steering request's query.
func ParseHLSQuery(q url.Values) (Params, error) {
	p, err := parseQuery(q, "_HLS_pathway", "_HLS_throughput", false)
	if err != nil {
		return Params{}, fmt.Errorf("manifest: hls query: %w", err)
	}
	return p, nil
}

// ParseDASHQuery reads _DASH_pathway and _DASH_throughput. Each may be a
// comma-separated list, as dash.js sends them: every location used since
// the last reload (quoted), best throughput first, and the throughputs
// measured; Params holds the first of each.
func ParseDASHQuery(q url.Values) (Params, error) {
	p, err := parseQuery(q, "_DASH_pathway", "_DASH_throughput", true)
	if err != nil {
		return Params{}, fmt.Errorf("manifest: dash query: %w", err)
	}
	return p, nil
}

func parseQuery(q url.Values, pathwayKey, throughputKey string, list bool) (Params, error) {
	var p Params
	if v := q.Get(pathwayKey); v != "" {
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		for i, id := range items(v, list) {
			if !steering.ValidPathwayID(id) {
				return Params{}, fmt.Errorf("%w: %s=%q", ErrBadID, pathwayKey, q.Get(pathwayKey))
			}
			if i == 0 {
				p.Pathway = id
			}
		}
	}
	if v := q.Get(throughputKey); v != "" {
		for i, t := range items(v, list) {
			// Some players send a fractional rate; keep the integer part.
			t, _, _ = strings.Cut(t, ".")
			n, err := strconv.ParseInt(t, 10, 64)
			if err != nil || n < 0 {
				return Params{}, fmt.Errorf("bad %s %q", throughputKey, q.Get(throughputKey))
			}
			if i == 0 {
				p.Throughput = n
			}
		}
	}
	return p, nil
}

// items splits a list value at commas, or returns v alone.
func items(v string, list bool) []string {
	if !list {
		return []string{v}
	}
	return strings.Split(v, ",")
}
