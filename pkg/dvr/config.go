package dvr

import (
	"errors"
	"fmt"
)

// Config bounds a Store. Dir and MaxBytes are required.
type Config struct {
	// Dir holds one subdirectory per event; it is created if missing.
	Dir string
	// MaxBytes bounds the bytes of stored bodies (segments and init
	// segments) across all events; it must be positive.
	MaxBytes int64
	// EventBytes is the default cap per event (0: MaxBytes). SetPolicy
	// overrides it for one event.
	EventBytes int64
	// LiveKeep is how many of the newest entries of each rendition are
	// never evicted: the live window the ingest node still serves.
	// 0 means the default, 10.
	LiveKeep int
	// MaxPins bounds the pins (clips) of one event, so a runaway client
	// cannot make every segment unevictable. 0 means the default, 100.
	MaxPins int
	// NoSync skips every fsync. For tests and benchmarks only: a crash
	// (of the machine, not the process) may then lose acknowledged Puts.
	NoSync bool
}

const (
	defaultLiveKeep = 10
	defaultMaxPins  = 100
)

// DefaultConfig keeps the newest 10 entries of each rendition and allows
// 100 pins per event; Dir and MaxBytes are left for the caller.
func DefaultConfig() Config {
	return Config{LiveKeep: defaultLiveKeep, MaxPins: defaultMaxPins}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("dvr: config: "+format, args...))
	}
	if c.Dir == "" {
		bad("dir is required")
	}
	if c.MaxBytes <= 0 {
		bad("max_bytes must be positive, got %d", c.MaxBytes)
	}
	if c.EventBytes < 0 {
		bad("event_bytes must not be negative, got %d", c.EventBytes)
	}
	if c.LiveKeep < 0 {
		bad("live_keep must not be negative, got %d", c.LiveKeep)
	}
	if c.MaxPins < 0 {
		bad("max_pins must not be negative, got %d", c.MaxPins)
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.LiveKeep == 0 {
		c.LiveKeep = defaultLiveKeep
	}
	if c.MaxPins == 0 {
		c.MaxPins = defaultMaxPins
	}
	return c
}
