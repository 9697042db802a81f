package crowd

import (
	"fmt"
	"strings"
	"time"
)

// Report is the outcome of one crowd run.
type Report struct {
	Label    string    `json:"label,omitempty"`
	Run      int       `json:"run,omitempty"`
	Started  time.Time `json:"started"`
	WallS    float64   `json:"wall_s"`
	Settings Settings  `json:"settings"`
	// Joined is the number of players that started before the end.
	Joined   int64 `json:"joined"`
	Requests int64 `json:"requests"`
	// Errors counts failed requests and statuses other than 200; requests
	// cut short by the end of the run are in Cancelled instead.
	Errors    int64 `json:"errors"`
	Cancelled int64 `json:"cancelled"`
	// Mismatches counts segment bodies that failed verification.
	Mismatches int64 `json:"mismatches"`
	Bytes      int64 `json:"bytes"`
	// Skipped counts segments that left the playlist before a player
	// fetched them: the player fell behind the live edge.
	Skipped      int64          `json:"skipped"`
	Playlists    Latency        `json:"playlists"`
	JoinSegments Latency        `json:"join_segments"`
	LiveSegments Latency        `json:"live_segments"`
	CPU          CPU            `json:"loadgen_cpu"`
	Origin       *OriginSummary `json:"origin,omitempty"`
	ErrorSamples []string       `json:"error_samples,omitempty"`
}

// Settings echoes the Config of a run in plain units.
type Settings struct {
	Players      int      `json:"players"`
	JoinWindowMS int64    `json:"join_window_ms"`
	DurationMS   int64    `json:"duration_ms"`
	MaxRequests  int64    `json:"max_requests"`
	Bases        []string `json:"bases"`
	Renditions   []string `json:"renditions"`
	JoinSegments int      `json:"join_segments"`
	TimeoutMS    int64    `json:"timeout_ms"`
	Seed         uint64   `json:"seed"`
}

func settingsOf(c Config) Settings {
	return Settings{
		Players:      c.Players,
		JoinWindowMS: c.JoinWindow.Milliseconds(),
		DurationMS:   c.Duration.Milliseconds(),
		MaxRequests:  c.MaxRequests,
		Bases:        c.Bases,
		Renditions:   c.Renditions,
		JoinSegments: c.JoinSegments,
		TimeoutMS:    c.Timeout.Milliseconds(),
		Seed:         c.Seed,
	}
}

// CPU is the load generator's own CPU time over the run (process rusage),
// to show whether the generator, not the system under test, was the limit.
type CPU struct {
	UserS  float64 `json:"user_s"`
	SysS   float64 `json:"sys_s"`
	TotalS float64 `json:"total_s"`
	// PercentOfWall is TotalS over the wall time: 100 is one core busy.
	PercentOfWall float64 `json:"percent_of_wall"`
}

// OriginSummary is what the origin saw during the run.
type OriginSummary struct {
	Requests         int64  `json:"requests"`
	PlaylistRequests int64  `json:"playlist_requests"`
	SegmentRequests  int64  `json:"segment_requests"`
	UniqueSegments   int    `json:"unique_segments"`
	MaxPerSegment    int64  `json:"max_per_segment"`
	MaxSegment       string `json:"max_segment,omitempty"`
	// PerUniqueSegment is segment requests over distinct segments: 1.0 is
	// perfect coalescing.
	PerUniqueSegment float64 `json:"per_unique_segment"`
	Error            string  `json:"error,omitempty"`
}

// Summary renders r for a terminal.
func (r Report) Summary() string {
	var b strings.Builder
	name := r.Label
	if name == "" {
		name = "crowd"
	}
	fmt.Fprintf(&b, "%s run %d: %d/%d players joined, %.1fs, %d requests, %d errors, %d cancelled, %d mismatches, %d skipped, %.1f MB\n",
		name, r.Run, r.Joined, r.Settings.Players, r.WallS, r.Requests, r.Errors, r.Cancelled, r.Mismatches, r.Skipped, float64(r.Bytes)/1e6)
	fmt.Fprintf(&b, "  %-13s %7s %8s %8s %8s %8s\n", "TTFB ms", "count", "p50", "p95", "p99", "max")
	for _, row := range []struct {
		name string
		l    Latency
	}{{"playlist", r.Playlists}, {"join segment", r.JoinSegments}, {"live segment", r.LiveSegments}} {
		fmt.Fprintf(&b, "  %-13s %7d %8.1f %8.1f %8.1f %8.1f\n", row.name, row.l.Count, row.l.P50MS, row.l.P95MS, row.l.P99MS, row.l.MaxMS)
	}
	fmt.Fprintf(&b, "  loadgen CPU %.2fs (user %.2fs, sys %.2fs, %.0f%% of one core)\n", r.CPU.TotalS, r.CPU.UserS, r.CPU.SysS, r.CPU.PercentOfWall)
	if o := r.Origin; o != nil {
		if o.Error != "" {
			fmt.Fprintf(&b, "  origin stats: %s\n", o.Error)
		} else {
			fmt.Fprintf(&b, "  origin: %d requests, %d segment requests for %d segments: max %d per segment (%s), %.2f per unique segment\n",
				o.Requests, o.SegmentRequests, o.UniqueSegments, o.MaxPerSegment, o.MaxSegment, o.PerUniqueSegment)
		}
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	return b.String()
}
