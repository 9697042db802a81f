package bmff

import (
	"errors"
	"fmt"
)

// Config bounds what a Scanner accepts, so that a hostile or broken
// upload fails fast with a clear error instead of holding memory or
// waiting forever for a box that claims terabytes.
type Config struct {
	// MaxBoxSize is the largest top-level box, mdat included, in bytes.
	// A 2-s segment at 50 Mbit/s is about 12.5 MB.
	MaxBoxSize int64
	// MaxMoofSize is the largest moof, the only box the scanner holds in
	// memory whole; it also bounds the other small boxes of a fragment
	// (styp, sidx, prft, emsg).
	MaxMoofSize int
	// MaxSamples is the most samples one fragment may declare, all trun
	// boxes together.
	MaxSamples int
}

// DefaultConfig allows 1 GiB boxes, 1 MiB moofs and a million samples per
// fragment: far above any live stream, far below what would hurt.
func DefaultConfig() Config {
	return Config{
		MaxBoxSize:  1 << 30,
		MaxMoofSize: 1 << 20,
		MaxSamples:  1_000_000,
	}
}

// Validate reports every out-of-range field at once.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBoxSize < 16 {
		errs = append(errs, fmt.Errorf("bmff: max_box_size %d: must be at least 16", c.MaxBoxSize))
	}
	if c.MaxMoofSize < 16 {
		errs = append(errs, fmt.Errorf("bmff: max_moof_size %d: must be at least 16", c.MaxMoofSize))
	}
	if int64(c.MaxMoofSize) > c.MaxBoxSize {
		errs = append(errs, fmt.Errorf("bmff: max_moof_size %d: larger than max_box_size %d", c.MaxMoofSize, c.MaxBoxSize))
	}
	if c.MaxSamples < 1 {
		errs = append(errs, fmt.Errorf("bmff: max_samples %d: must be at least 1", c.MaxSamples))
	}
	return errors.Join(errs...)
}
