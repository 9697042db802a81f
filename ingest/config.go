package ingest

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds what one node's ingest accepts and keeps.
type Config struct {
	// MaxBodyBytes caps one upload; a larger body is rejected (413) and
	// nothing of it is kept.
	MaxBodyBytes int64
	// MaxPlaylistBytes caps one playlist upload; playlists are parsed in
	// memory, so this is much lower than MaxBodyBytes.
	MaxPlaylistBytes int64
	// LiveBytes bounds the bytes of every event's live window and pending
	// uploads together; an upload that would pass it is rejected (507) after
	// the retired segments were given up.
	LiveBytes int64
	// EventBytes caps what one event may hold of LiveBytes (its live
	// window, published playlists and pending uploads), so one encoder
	// cannot make every other event get 507. 0: no fixed cap; each event
	// is guaranteed LiveBytes/(2 x push events) and may hold more only
	// out of what no other event's unused guarantee needs (a lone event
	// may use all of LiveBytes, a busy one half of it when the others are
	// idle).
	EventBytes int64
	// MaxEventFiles caps the files one event holds live: segments, init
	// segments, manifests and published playlists, pending ones included.
	// A new file past it is rejected (507). 0: DefaultMaxEventFiles.
	MaxEventFiles int
	// RetiredBytes bounds the cache of segments that left the live window
	// (kept for players a playlist behind, until the encoder DELETEs them).
	RetiredBytes int64
	// ListedGrace is how long a playlist that lists a segment whose upload
	// has not started yet waits for it (ffmpeg with -http_persistent 0 may
	// send the playlist first) before it is rejected.
	ListedGrace time.Duration
	// OrphanTTL drops complete segments and init segments that no playlist
	// ever listed (an encoder that crashed between segment and playlist)
	// and manifests replaced by a newer one, this long after their upload.
	OrphanTTL time.Duration
}

// DefaultMaxEventFiles is the files one event may hold when
// Config.MaxEventFiles is 0: a window of hundreds of segments in each of a
// dozen renditions, with room to spare.
const DefaultMaxEventFiles = 10000

// maxEventFiles is MaxEventFiles with 0 meaning the default.
func (c Config) maxEventFiles() int {
	if c.MaxEventFiles == 0 {
		return DefaultMaxEventFiles
	}
	return c.MaxEventFiles
}

// DefaultConfig returns limits for a single node carrying a few events.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:     64 << 20,
		MaxPlaylistBytes: 1 << 20,
		LiveBytes:        1 << 30,
		EventBytes:       0,
		MaxEventFiles:    DefaultMaxEventFiles,
		RetiredBytes:     256 << 20,
		ListedGrace:      2 * time.Second,
		OrphanTTL:        2 * time.Minute,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("ingest: max body bytes must be positive, got %d", c.MaxBodyBytes))
	}
	if c.MaxPlaylistBytes <= 0 || c.MaxPlaylistBytes > c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("ingest: max playlist bytes must be in (0, max body bytes], got %d", c.MaxPlaylistBytes))
	}
	if c.LiveBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("ingest: live bytes (%d) must hold at least one max-size body (%d)", c.LiveBytes, c.MaxBodyBytes))
	}
	if c.EventBytes != 0 && (c.EventBytes < c.MaxBodyBytes || c.EventBytes > c.LiveBytes) {
		errs = append(errs, fmt.Errorf("ingest: event bytes must be 0 (guaranteed shares of live bytes) or in [max body bytes, live bytes], got %d", c.EventBytes))
	}
	if c.MaxEventFiles < 0 {
		errs = append(errs, fmt.Errorf("ingest: max event files must not be negative, got %d", c.MaxEventFiles))
	}
	if c.RetiredBytes < 0 {
		errs = append(errs, fmt.Errorf("ingest: retired bytes must not be negative, got %d", c.RetiredBytes))
	}
	if c.ListedGrace < 0 || c.OrphanTTL <= 0 {
		errs = append(errs, errors.New("ingest: listed grace must be >= 0 and orphan ttl > 0"))
	}
	return errors.Join(errs...)
}

// EventConfig is what ingest needs to know of a push event.
type EventConfig struct {
	ID string
	// StreamKeys are the bearer tokens an encoder may present; any one is
	// accepted, so a key can be rotated without cutting the encoder off.
	StreamKeys []string
	// PartTarget > 0 makes the event low latency: Ringside packages its
	// CMAF push as LL-HLS with parts of this target duration (see
	// lowlatency.go); 0 leaves the push as it is.
	PartTarget time.Duration
	// Feeds, when set, make the event redundant (feeds.go, output.go):
	// each feed is pushed with its own keys (StreamKeys is then empty) and
	// players get the output timeline Ringside builds from the active one.
	Feeds []FeedConfig
	// Active is the feed the output follows: the control plane's
	// decision (control.Feeds.ActiveFeed).
	Active string
	// SwitchBack, HealthySegments and UnhealthyAfter are the event's
	// failover policy (control.Feeds).
	SwitchBack      string
	HealthySegments int
	UnhealthyAfter  time.Duration
	// DVRWindow > 0 keeps the event's segments this long behind live in
	// the DVR store (Deps.DVR) and serves the DVR playlists (dvr.go).
	DVRWindow time.Duration
	// Ended: the event is over; with VODOnEnd its DVR playlists become VOD
	// and all of it is kept.
	Ended    bool
	VODOnEnd bool
}

// outputConfig is the output's part of a redundant event's configuration.
func (ec EventConfig) outputConfig() outputConfig {
	return outputConfig{ID: ec.ID, Feeds: ec.Feeds, Active: ec.Active, SwitchBack: ec.SwitchBack,
		HealthySegments: ec.HealthySegments, UnhealthyAfter: ec.UnhealthyAfter}
}
