package shield

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes one node's cache tier.
type Config struct {
	// MaxBytes bounds the bytes held (ristretto cost = body bytes).
	MaxBytes int64
	// MaxObjectBytes: larger objects are streamed to their waiters but not
	// kept.
	MaxObjectBytes int64
	// SegmentTTL is how long segments and init segments stay fresh; they are
	// immutable, so this only bounds memory held by old ones.
	SegmentTTL time.Duration
	// MasterTTL is the freshness of master playlists and DASH manifests
	// (media playlists use 45% of their target duration).
	MasterTTL time.Duration
	// NegativeTTL is how long a 404 (a segment not yet published) is cached.
	NegativeTTL time.Duration
	// StaleFor is how long past its freshness a copy may still be served
	// when the upstream fails (stale-if-error).
	StaleFor time.Duration
	// FetchTimeout is the deadline of one shared upstream fetch, whole body
	// included; it does not depend on any waiter.
	FetchTimeout time.Duration
	// MaxPlaylistBytes bounds a playlist read from upstream.
	MaxPlaylistBytes int64
	// FileMinBytes: complete 200 bodies at least this large are kept in
	// sealed in-memory files (object.NewFile), which the node sends to plain
	// HTTP clients with sendfile(2), without copying them from user space;
	// smaller ones (playlists) stay on the heap. 0 keeps every body on the
	// heap.
	FileMinBytes int64
}

// DefaultConfig returns settings for an edge or shield with 512 MiB.
func DefaultConfig() Config {
	return Config{
		MaxBytes:         512 << 20,
		MaxObjectBytes:   64 << 20,
		SegmentTTL:       10 * time.Minute,
		MasterTTL:        2 * time.Second,
		NegativeTTL:      500 * time.Millisecond,
		StaleFor:         30 * time.Second,
		FetchTimeout:     15 * time.Second,
		MaxPlaylistBytes: 1 << 20,
		FileMinBytes:     64 << 10,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("shield: %s must be positive, got %d", name, v))
		}
	}
	pos("max bytes", c.MaxBytes)
	pos("max object bytes", c.MaxObjectBytes)
	pos("max playlist bytes", c.MaxPlaylistBytes)
	pos("segment ttl", int64(c.SegmentTTL))
	pos("master ttl", int64(c.MasterTTL))
	pos("negative ttl", int64(c.NegativeTTL))
	pos("fetch timeout", int64(c.FetchTimeout))
	if c.FileMinBytes < 0 {
		errs = append(errs, errors.New("shield: file min bytes must not be negative"))
	}
	if c.StaleFor < 0 {
		errs = append(errs, errors.New("shield: stale-for must not be negative"))
	}
	return errors.Join(errs...)
}
