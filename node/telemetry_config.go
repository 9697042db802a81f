package node

import (
	"fmt"
	"time"

	"github.com/ringside-live/ringside/telemetry"
)

// TelemetrySection configures viewer telemetry (CMCD and what edges
// measure): per-second deltas to the steer and control nodes, QoE health
// per CDN and region for steering, the beacon of players on third-party
// CDNs. See telemetry/README.md for the model.
type TelemetrySection struct {
	// Disabled turns telemetry off on this node: no recording, no deltas,
	// no merge, no QoE input to steering.
	Disabled bool `yaml:"disabled"`
	// Interval is how often a node sends its delta (one message per
	// steer/control node; the merger's resolution is one second).
	Interval Duration `yaml:"interval"`
	// HealthInterval is the interval the QoE health of each (CDN, region)
	// is judged over (whole seconds); DownAfter bad intervals in a row take
	// a CDN down in that region, UpAfter good ones bring it back.
	HealthInterval Duration `yaml:"health_interval"`
	DownAfter      int      `yaml:"down_after"`
	UpAfter        int      `yaml:"up_after"`
	// MaxErrorRate and MaxRebufferRatio make an interval bad; MinRequests
	// and MinSessions are the least it must hold to be judged at all.
	MaxErrorRate     float64 `yaml:"max_error_rate"`
	MaxRebufferRatio float64 `yaml:"max_rebuffer_ratio"`
	MinRequests      int     `yaml:"min_requests"`
	MinSessions      int     `yaml:"min_sessions"`
	// PathwayHeader is the request header a third-party CDN adds when it
	// pulls from this node (nginx: proxy_set_header Ringside-Pathway
	// cdn-a): its value, when it names a configured CDN, is the pathway
	// of the request (else CMCD v2 "cdn", else "mesh").
	PathwayHeader string `yaml:"pathway_header"`
	// BeaconMaxBytes bounds a POST /t/{event} body; BeaconRate is what
	// one client network may send per second (bursts of 10 s worth).
	BeaconMaxBytes ByteSize `yaml:"beacon_max_bytes"`
	BeaconRate     float64  `yaml:"beacon_rate"`
}

func defaultTelemetrySection() TelemetrySection {
	h := telemetry.DefaultHealthConfig()
	return TelemetrySection{Interval: Duration(time.Second), HealthInterval: Duration(2 * time.Second),
		DownAfter: h.DownAfter, UpAfter: h.UpAfter, MaxErrorRate: h.MaxErrorRate, MaxRebufferRatio: h.MaxRebufferRatio,
		MinRequests: int(h.MinRequests), MinSessions: int(h.MinSessions), PathwayHeader: "Ringside-Pathway",
		BeaconMaxBytes: 4 << 10, BeaconRate: 5}
}

// healthConfig is the QoE hysteresis of the section.
func (s TelemetrySection) healthConfig() telemetry.HealthConfig {
	h := telemetry.DefaultHealthConfig()
	h.DownAfter, h.UpAfter, h.MaxErrorRate, h.MaxRebufferRatio = s.DownAfter, s.UpAfter, s.MaxErrorRate, s.MaxRebufferRatio
	h.MinRequests, h.MinSessions = uint64(max(s.MinRequests, 0)), uint64(max(s.MinSessions, 0))
	return h
}

// validate reports the section's problems in its YAML keys.
func (s TelemetrySection) validate() []error {
	if s.Disabled {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("node: config: telemetry."+format, args...))
	}
	if s.Interval < Duration(100*time.Millisecond) || s.Interval > Duration(10*time.Second) {
		bad("interval: %v, want 100ms..10s", time.Duration(s.Interval))
	}
	if s.HealthInterval < Duration(time.Second) || time.Duration(s.HealthInterval)%time.Second != 0 {
		bad("health_interval: %v, want whole seconds, at least 1s", time.Duration(s.HealthInterval))
	}
	if s.MinRequests < 1 {
		bad("min_requests: %d, must be at least 1", s.MinRequests)
	}
	if s.PathwayHeader == "" {
		bad("pathway_header: must name a header")
	}
	if s.BeaconMaxBytes < 256 || s.BeaconMaxBytes > 1<<20 {
		bad("beacon_max_bytes: %d, want 256..1MiB", s.BeaconMaxBytes)
	}
	if s.BeaconRate <= 0 {
		bad("beacon_rate: %v, must be positive", s.BeaconRate)
	}
	if err := s.healthConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}
