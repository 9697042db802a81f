package ingest

import (
	"crypto/subtle"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside-live/ringside/control"
)

// A redundant event (EventConfig.Feeds) is pushed by two encoders, a
// primary and a backup, usually into two ingest nodes. Each feed this node
// receives is kept as an event of its own, under an internal id
// (feedEventID) that no request can name: its uploads are validated,
// budgeted and windowed like any push, but its files are never served or
// pushed to the shields as they are. What players get is the output
// (output.go): one media playlist per rendition whose segments Ringside
// takes from the active feed and numbers itself, committing each to the
// control plane's timeline before it is published.

// FeedConfig is one feed of a redundant event.
type FeedConfig struct {
	Name       string // control.FeedPrimary or control.FeedBackup
	StreamKeys []string
	// PullURL, instead of stream keys, makes the ingest nodes pull the
	// feed from this HLS origin (puller.go).
	PullURL string
}

// feedSep joins an event id and a feed name into the internal id of the
// feed's event; event ids cannot contain it.
const feedSep = "@"

func feedEventID(event, feed string) string { return event + feedSep + feed }

// feedHealth is what this node sees of one feed it receives.
type feedHealth struct {
	mu sync.Mutex
	// lastSegment is when the feed's playlists last listed a new
	// segment; target its target duration (0 before its first playlist).
	lastSegment time.Time
	target      time.Duration
	// streak counts segments delivered on time in a row (a gap over the
	// stall limit resets it).
	streak int
	stalls int64 // times the feed went over its stall limit
	// recent are the last segments' sizes and durations, for the bitrate.
	recent []segSample
	// drift is the last segment's arrival interval minus its duration.
	drift    time.Duration
	rejected atomic.Int64
}

type segSample struct {
	bytes int64
	dur   time.Duration
}

// noteSegment records a newly listed segment of d with b bytes, arrived at
// now; stall is the feed's stall limit. It returns the gap since the
// previous segment when that was a stall (0 otherwise).
func (h *feedHealth) noteSegment(now time.Time, d time.Duration, b int64, target, stall time.Duration) (stalled time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.lastSegment.IsZero() {
		gap := now.Sub(h.lastSegment)
		h.drift = gap - d
		if gap > stall {
			h.streak = 0
			h.stalls++
			stalled = gap
		}
	}
	h.streak++
	h.lastSegment, h.target = now, target
	h.recent = append(h.recent, segSample{b, d})
	if len(h.recent) > 5 {
		h.recent = h.recent[len(h.recent)-5:]
	}
	return stalled
}

// FeedStatus is one feed as this node receives it.
type FeedStatus struct {
	Event string `json:"event"`
	Feed  string `json:"feed"`
	// Receiving: an encoder has pushed this feed into this node.
	Receiving bool `json:"receiving"`
	// Healthy: its last segment is younger than its stall limit.
	Healthy bool `json:"healthy"`
	// LastSegment is when its playlists last listed a new segment;
	// SegmentAge how long ago that was.
	LastSegment    time.Time     `json:"last_segment,omitzero"`
	SegmentAge     time.Duration `json:"segment_age_ns"`
	TargetDuration time.Duration `json:"target_duration_ns"`
	// BitrateBps is the incoming bitrate over its last segments.
	BitrateBps int64 `json:"bitrate_bps"`
	// Drift is its last segment's arrival interval minus its duration.
	Drift time.Duration `json:"drift_ns"`
	// Streak is how many segments in a row arrived on time.
	Streak   int   `json:"streak"`
	Stalls   int64 `json:"stalls"`
	Rejected int64 `json:"rejected_uploads"`
	// Publishing: this node publishes the event's output from this feed.
	Publishing bool `json:"publishing"`
}

// status reports h at now with the stall limit stall.
func (h *feedHealth) status(now time.Time, stall time.Duration) FeedStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := FeedStatus{LastSegment: h.lastSegment, TargetDuration: h.target, Drift: h.drift, Streak: h.streak,
		Stalls: h.stalls, Rejected: h.rejected.Load(), Receiving: !h.lastSegment.IsZero()}
	if s.Receiving {
		s.SegmentAge = now.Sub(h.lastSegment)
		s.Healthy = s.SegmentAge <= stall
		if !s.Healthy {
			s.Streak = 0
		}
	}
	var b int64
	var d time.Duration
	for _, r := range h.recent {
		b, d = b+r.bytes, d+r.dur
	}
	if d > 0 {
		s.BitrateBps = int64(float64(b*8) / d.Seconds())
	}
	return s
}

// Feeds reports the feeds of event id this node receives or could
// receive, primary first (nil: not a redundant event here).
func (o *Origin) Feeds(id string) []FeedStatus {
	out := o.output(id)
	if out == nil {
		return nil
	}
	return out.feedStatus()
}

// output returns the output of redundant event id (nil: none here).
func (o *Origin) output(id string) *output {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.outputs[id]
}

// authorizeFeed finds the feed of out whose stream key token is.
func (out *output) authorizeFeed(token string) *event {
	var found *event
	for _, ev := range out.feedEvents() {
		ev.mu.Lock()
		keys := ev.keys
		ev.mu.Unlock()
		ok := 0
		for _, k := range keys {
			ok |= subtle.ConstantTimeCompare(k, []byte(token))
		}
		if ok == 1 && token != "" {
			found = ev
		}
	}
	return found
}

// stallLimit is how long the active feed may go without a new segment:
// the configured limit, else 1.5 x its target duration (2 s before it is
// known).
func (c outputConfig) stallLimit(target time.Duration) time.Duration {
	if c.UnhealthyAfter > 0 {
		return c.UnhealthyAfter
	}
	if target <= 0 {
		target = 2 * time.Second
	}
	return target * 3 / 2
}

// healthySegments is the switch-back streak with 0 meaning the default.
func (c outputConfig) healthySegments() int {
	if c.HealthySegments > 0 {
		return c.HealthySegments
	}
	return control.DefaultHealthySegments
}
