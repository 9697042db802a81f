package llcrowd

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ringside-live/ringside/bench/crowd"
	"github.com/ringside-live/ringside/bench/llorigin"
)

// Report is the outcome of one low-latency crowd run.
type Report struct {
	Label    string    `json:"label,omitempty"`
	Run      int       `json:"run,omitempty"`
	Started  time.Time `json:"started"`
	WallS    float64   `json:"wall_s"`
	Settings Settings  `json:"settings"`
	// Joined is the number of players that started before the end.
	Joined   int64 `json:"joined"`
	Requests int64 `json:"requests"`
	// Cycles counts blocking reloads answered with the part asked for;
	// JoinCycles those of them that caught a player up with the live edge
	// after it loaded the playlist without directives: its first turn,
	// and the next ones until a reload is sent before its part exists
	// (left out of the latencies: they say how the player joined).
	Cycles     int64 `json:"cycles"`
	JoinCycles int64 `json:"join_cycles"`
	// Errors counts failed requests and statuses other than 200, by kind
	// in ErrorKinds ("playlist 503", "part timeout", "playlist stale",
	// ...); requests cut short by the end of the run are in Cancelled.
	Errors     int64            `json:"errors"`
	JoinErrors int64            `json:"join_errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	Cancelled  int64            `json:"cancelled"`
	// Mismatches counts part bodies that failed verification.
	Mismatches int64 `json:"mismatches"`
	Bytes      int64 `json:"bytes"`
	// Late counts cycles whose part (playlist and, with hints, body) the
	// player had more than one part target after its publication; Stalls
	// those it had more than PART-HOLD-BACK (three part targets) after it,
	// when a player holding back that much has run dry, plus the cycles
	// lost to an error.
	Late   int64 `json:"late"`
	Stalls int64 `json:"stalls"`
	// SkippedParts counts parts a reload's answer went past: the player
	// fell behind and asked for the newest part next.
	SkippedParts int64 `json:"skipped_parts"`
	// Blocked is the share of reloads sent before their part was
	// published (held somewhere); the others found it there already.
	Blocked float64 `json:"blocked_share"`
	// Wake: publication of the part at the origin → the player has the
	// playlist that lists it (every turn but the JoinCycles). PartTTFB: the part's first byte, counted
	// from its publication or from the request when that came later.
	Wake         crowd.Latency `json:"wake"`
	PartTTFB     crowd.Latency `json:"part_ttfb"`
	JoinPlaylist crowd.Latency `json:"join_playlist_ttfb"`
	// Unmatched counts cycles whose part's publication time the origin
	// did not report (left out of the latencies).
	Unmatched    int64          `json:"unmatched,omitempty"`
	CPU          crowd.CPU      `json:"loadgen_cpu"`
	Origin       *OriginSummary `json:"origin,omitempty"`
	Parked       []Parked       `json:"parked,omitempty"`
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
	Hint         bool     `json:"hint"`
	Skip         bool     `json:"skip"`
	VerifyEvery  int      `json:"verify_every"`
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
		Hint:         c.Hint,
		Skip:         c.Skip,
		VerifyEvery:  c.VerifyEvery,
		TimeoutMS:    c.Timeout.Milliseconds(),
		Seed:         c.Seed,
	}
}

// OriginSummary is what the origin saw during the run (llorigin.Stats
// without the per-key tables).
type OriginSummary struct {
	Requests     int64   `json:"requests"`
	Plain        int64   `json:"plain_playlist_requests"`
	Blocking     int64   `json:"blocking_requests"`
	Parts        int64   `json:"part_requests"`
	Keys         int     `json:"keys"`
	MaxPerKey    int64   `json:"max_per_key"`
	MaxKey       string  `json:"max_key,omitempty"`
	MeanPerKey   float64 `json:"mean_per_key"`
	UniqueParts  int     `json:"unique_parts"`
	MaxPerPart   int64   `json:"max_per_part"`
	MaxPart      string  `json:"max_part,omitempty"`
	MeanPerPart  float64 `json:"mean_per_part"`
	MaxParked    int64   `json:"max_parked"`
	MaxHeldParts int64   `json:"max_held_parts"`
	// MaxPublishLagMS is the origin's own lateness in publishing a part.
	MaxPublishLagMS float64          `json:"max_publish_lag_ms"`
	Status          map[string]int64 `json:"status,omitempty"`
	Error           string           `json:"error,omitempty"`
}

func summarizeOrigin(st llorigin.Stats) *OriginSummary {
	return &OriginSummary{
		Requests: st.Requests, Plain: st.Plain, Blocking: st.Blocking, Parts: st.Parts,
		Keys: st.Keys, MaxPerKey: st.MaxPerKey, MaxKey: st.MaxKey, MeanPerKey: st.MeanPerKey,
		UniqueParts: st.UniqueParts, MaxPerPart: st.MaxPerPart, MaxPart: st.MaxPart, MeanPerPart: st.MeanPerPart,
		MaxParked: st.MaxParked, MaxHeldParts: st.MaxHeldParts, MaxPublishLagMS: st.MaxPublishLagMS, Status: st.Status,
	}
}

// maxCatchUp bounds the turns after a join left out of the latencies:
// catching up takes two (the join playlist may be a second old).
const maxCatchUp = 4

// latencies derives the wake latency, the part TTFB, late parts and
// stalls from the players' cycles and the parts' publication times.
func (r *Report) latencies(players []*player, st llorigin.Stats, csv io.Writer) {
	if csv != nil {
		fmt.Fprintln(csv, "player,joined,msn,part,published_unix_ns,playlist_sent_ms,playlist_done_ms,part_sent_ms,part_first_ms,part_done_ms")
	}
	partTarget := time.Duration(st.PartDurationMS * float64(time.Millisecond))
	var wake, ttfb []time.Duration
	var blocked int64
	for i, p := range players {
		caughtUp, since := false, 0
		for _, cy := range p.cycles {
			pubT, ok := st.PublishedAt(cy.msn, cy.part)
			if !ok {
				r.Unmatched++
				continue
			}
			pub := pubT.UnixNano()
			if csv != nil {
				joined := 0
				if cy.joined {
					joined = 1
				}
				rel := func(t int64) float64 {
					if t == 0 {
						return 0
					}
					return float64(t-pub) / 1e6
				}
				fmt.Fprintf(csv, "%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f\n", i, joined, cy.msn, cy.part, pub,
					rel(cy.plSent), rel(cy.plDone), rel(cy.partSent), rel(cy.partFirst), rel(cy.partDone))
			}
			// After a join the player catches up with the live edge: its
			// first turns ask for parts that already exist (its join
			// playlist came from a cache), until one is held for its part.
			// A player that never gets there (a system too slow to keep
			// up) counts from its maxCatchUp-th turn on.
			if cy.joined {
				caughtUp, since = false, 0
			}
			since++
			if caughtUp = caughtUp || !cy.joined && cy.plSent < pub || since > maxCatchUp; !caughtUp {
				r.JoinCycles++
				continue
			}
			wake = append(wake, time.Duration(max(0, cy.plDone-pub)))
			if cy.plSent < pub {
				blocked++
			}
			ready := cy.plDone
			if cy.partFirst > 0 {
				ttfb = append(ttfb, time.Duration(max(0, cy.partFirst-max(cy.partSent, pub))))
				ready = max(ready, cy.partDone)
			}
			switch lag := time.Duration(ready - pub); {
			case lag > 3*partTarget:
				r.Stalls++
				r.Late++
			case lag > partTarget:
				r.Late++
			}
		}
	}
	if n := len(wake); n > 0 {
		r.Blocked = float64(blocked) / float64(n)
	}
	partErrors := int64(0)
	for k, n := range r.ErrorKinds {
		if strings.HasPrefix(k, "part ") {
			partErrors += n
		}
	}
	r.Wake = crowd.Summarize(wake, r.Errors-r.JoinErrors-partErrors)
	r.PartTTFB = crowd.Summarize(ttfb, partErrors)
}

// Summary renders r for a terminal.
func (r Report) Summary() string {
	var b strings.Builder
	name := r.Label
	if name == "" {
		name = "llcrowd"
	}
	fmt.Fprintf(&b, "%s run %d: %d/%d players joined, %.1fs, %d requests, %d cycles, %d errors, %d cancelled, %d mismatches, %d late, %d stalls, %d skipped parts, %.1f MB, %.0f%% of reloads blocked\n",
		name, r.Run, r.Joined, r.Settings.Players, r.WallS, r.Requests, r.Cycles, r.Errors, r.Cancelled, r.Mismatches,
		r.Late, r.Stalls, r.SkippedParts, float64(r.Bytes)/1e6, 100*r.Blocked)
	fmt.Fprintf(&b, "  %-22s %8s %8s %8s %8s %8s\n", "ms", "count", "p50", "p95", "p99", "max")
	for _, row := range []struct {
		name string
		l    crowd.Latency
	}{{"wake (pub -> playlist)", r.Wake}, {"part TTFB", r.PartTTFB}, {"join playlist TTFB", r.JoinPlaylist}} {
		fmt.Fprintf(&b, "  %-22s %8d %8.1f %8.1f %8.1f %8.1f\n", row.name, row.l.Count, row.l.P50MS, row.l.P95MS, row.l.P99MS, row.l.MaxMS)
	}
	fmt.Fprintf(&b, "  loadgen CPU %.2fs (user %.2fs, sys %.2fs, %.0f%% of one core)\n", r.CPU.TotalS, r.CPU.UserS, r.CPU.SysS, r.CPU.PercentOfWall)
	if o := r.Origin; o != nil {
		if o.Error != "" {
			fmt.Fprintf(&b, "  origin stats: %s\n", o.Error)
		} else {
			fmt.Fprintf(&b, "  origin: %d requests; blocking %d for %d keys: max %d per (playlist, msn, part) (%s), mean %.2f; parts %d for %d: max %d (%s), mean %.2f; plain playlists %d; most parked %d, held parts %d; status %v; published up to %.1f ms late\n",
				o.Requests, o.Blocking, o.Keys, o.MaxPerKey, o.MaxKey, o.MeanPerKey, o.Parts, o.UniqueParts, o.MaxPerPart,
				o.MaxPart, o.MeanPerPart, o.Plain, o.MaxParked, o.MaxHeldParts, o.Status, o.MaxPublishLagMS)
		}
	}
	for _, p := range r.Parked {
		fmt.Fprintf(&b, "  parked at %s: %s\n", p.URL, p.String())
	}
	for _, k := range slices.Sorted(maps.Keys(r.ErrorKinds)) {
		fmt.Fprintf(&b, "  errors %s: %d\n", k, r.ErrorKinds[k])
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	return b.String()
}
