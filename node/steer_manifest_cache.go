package node

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ringside-live/ringside/steering"
	"github.com/ringside-live/ringside/steering/manifest"
)

// Steering manifests at a million viewers: each player reloads its
// manifest every steering.manifest_ttl (5 s: a CDN found failing, by the
// probes or the viewers' telemetry, is left within one reload), so 1M
// viewers ask 200 000 times a second across the steer nodes. The answer
// depends on the session only through its pathway order and its reload
// URI, so the body is rendered once per (kind, TTL, pathway order and
// base URLs, clones) — in practice per region and pathway set — with a
// placeholder for the reload URI, and each request only splices its own
// (JSON-escaped) in. BenchmarkSteeringManifestCached measures it.

// reloadMarker stands for the reload URI in a cached body (valid JSON,
// never produced by escaping).
const reloadMarker = "@@ringside-reload@@"

// maxManifestCache bounds the cached bodies; they are few (regions ×
// pathway orders), so a full cache is simply emptied.
const maxManifestCache = 4096

type manifestCache struct {
	mu     sync.Mutex
	bodies map[string][]byte
}

// body returns the steering manifest of d for the reload URI.
func (c *manifestCache) body(dash bool, d steering.Decision, ttl time.Duration, reload string, clones []manifest.Clone) ([]byte, error) {
	var k strings.Builder
	if dash {
		k.WriteString("dash ")
	}
	k.WriteString(strconv.FormatInt(int64(ttl/time.Second), 10))
	for _, p := range d.Pathways {
		k.WriteString("|" + p.ID + " " + p.BaseURL)
	}
	for _, cl := range clones {
		k.WriteString("|c " + cl.ID + " " + cl.BaseID + " " + cl.Host)
		for _, pk := range slices.Sorted(maps.Keys(cl.Params)) {
			k.WriteString(" " + pk + "=" + cl.Params[pk])
		}
	}
	key := k.String()
	c.mu.Lock()
	b, ok := c.bodies[key]
	c.mu.Unlock()
	if !ok {
		var err error
		if dash {
			b, err = manifest.DASHManifest(d, ttl, reloadMarker, clones)
		} else {
			b, err = manifest.HLSManifest(d, ttl, reloadMarker, clones)
		}
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.bodies == nil || len(c.bodies) >= maxManifestCache {
			c.bodies = map[string][]byte{}
		}
		c.bodies[key] = b
		c.mu.Unlock()
	}
	esc, _ := json.Marshal(reload)
	return bytes.Replace(b, []byte(reloadMarker), esc[1:len(esc)-1], 1), nil
}

// manifestTTL is the TTL of a steering manifest for a decision valid for
// ttl: steering.manifest_ttl, never longer than the decision (0: ttl).
func (s *steer) manifestTTL(ttl time.Duration) time.Duration {
	if m := time.Duration(s.cfg.ManifestTTL); m > 0 && m < ttl {
		return m
	}
	return ttl
}
