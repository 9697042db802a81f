package originsim

import (
	"sync"
	"time"
)

// Stats is what GET /_stats returns: the requests the origin received since
// Since, counted when they arrive (before any delay), whatever their status.
type Stats struct {
	Since            time.Time `json:"since"`
	Requests         int64     `json:"requests"`
	PlaylistRequests int64     `json:"playlist_requests"`
	SegmentRequests  int64     `json:"segment_requests"`
	NotFound         int64     `json:"not_found"`
	// UniqueSegments is the number of distinct segment paths requested.
	UniqueSegments int `json:"unique_segments"`
	// MaxPerSegment is the most requests any one segment path received:
	// 1 behind a cache that coalesces perfectly.
	MaxPerSegment int64  `json:"max_per_segment"`
	MaxSegment    string `json:"max_segment,omitempty"`
	// PerPath counts requests by path relative to the origin root.
	PerPath map[string]int64 `json:"per_path"`
}

// PerUniqueSegment returns segment requests per distinct segment, or 0.
func (s Stats) PerUniqueSegment() float64 {
	if s.UniqueSegments == 0 {
		return 0
	}
	return float64(s.SegmentRequests) / float64(s.UniqueSegments)
}

// counter accumulates Stats. Its zero value is not ready: use reset.
type counter struct {
	mu       sync.Mutex
	since    time.Time
	total    int64
	playlist int64
	notFound int64
	perPath  map[string]int64
	segments map[string]int64 // subset of perPath: segment paths only
}

func (c *counter) reset(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = now
	c.total, c.playlist, c.notFound = 0, 0, 0
	c.perPath = make(map[string]int64)
	c.segments = make(map[string]int64)
}

// add counts one request for path of the given kind.
func (c *counter) add(path string, k kind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	c.perPath[path]++
	switch k {
	case kindSegment:
		c.segments[path]++
	case kindMaster, kindMedia:
		c.playlist++
	}
}

func (c *counter) addNotFound() {
	c.mu.Lock()
	c.notFound++
	c.mu.Unlock()
}

func (c *counter) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Since:            c.since,
		Requests:         c.total,
		PlaylistRequests: c.playlist,
		NotFound:         c.notFound,
		UniqueSegments:   len(c.segments),
		PerPath:          make(map[string]int64, len(c.perPath)),
	}
	for p, n := range c.perPath {
		s.PerPath[p] = n
	}
	for p, n := range c.segments {
		s.SegmentRequests += n
		if n > s.MaxPerSegment || n == s.MaxPerSegment && p < s.MaxSegment {
			s.MaxPerSegment, s.MaxSegment = n, p
		}
	}
	return s
}
