package llorigin

import (
	"strconv"
	"sync"
	"time"
)

// Stats is what GET /_stats returns: the requests that reached the origin
// since Since, counted when they arrive (before any hold), and the
// publication times of the newest parts.
type Stats struct {
	Since    time.Time `json:"since"`
	Requests int64     `json:"requests"`
	// Master, Plain and Blocking are playlist requests: the master, media
	// playlists without _HLS_msn (a join, or a delta update alone) and
	// blocking reloads (_HLS_msn). Delta counts requests with _HLS_skip.
	Master   int64 `json:"master_requests"`
	Plain    int64 `json:"plain_playlist_requests"`
	Blocking int64 `json:"blocking_requests"`
	Delta    int64 `json:"delta_requests"`
	Parts    int64 `json:"part_requests"`
	Segments int64 `json:"segment_requests"`
	Other    int64 `json:"other_requests"`
	// Status counts answers by status code ("200", "400", "404", "503").
	Status map[string]int64 `json:"status"`

	// Keys is the number of distinct (playlist, msn, part) blocking keys
	// requested; MaxPerKey the most requests one of them got (1 behind a
	// cache that coalesces blocking reloads perfectly), MeanPerKey the
	// blocking requests over Keys.
	Keys       int     `json:"keys"`
	MaxPerKey  int64   `json:"max_per_key"`
	MaxKey     string  `json:"max_key,omitempty"`
	MeanPerKey float64 `json:"mean_per_key"`
	// UniqueParts, MaxPerPart, MeanPerPart: the same for part requests.
	UniqueParts int     `json:"unique_parts"`
	MaxPerPart  int64   `json:"max_per_part"`
	MaxPart     string  `json:"max_part,omitempty"`
	MeanPerPart float64 `json:"mean_per_part"`
	// MaxParked is the most blocking reloads held at once; MaxHeldParts
	// the most requests for a hinted part held at once.
	MaxParked    int64 `json:"max_parked"`
	MaxHeldParts int64 `json:"max_held_parts"`
	// MaxPublishLagMS is the most a part was published after it was due:
	// the simulator's own lateness (a busy machine), which every wake
	// latency measured behind it includes.
	MaxPublishLagMS float64 `json:"max_publish_lag_ms"`

	// PerKey and PerPart count requests by blocking key
	// ("r0/index.m3u8?_HLS_msn=12&_HLS_part=3"; _HLS_skip is not part of
	// it) and by part path ("r0/12.3.m4s").
	PerKey  map[string]int64 `json:"per_key"`
	PerPart map[string]int64 `json:"per_part"`

	// PartsPerSegment and the publication times: part a (segment
	// a/PartsPerSegment, part a%PartsPerSegment) was published at
	// PublishedNS[a-PublishedFrom], unix nanoseconds (parts published
	// before the simulator started carry their scheduled time).
	PartsPerSegment int     `json:"parts_per_segment"`
	PartDurationMS  float64 `json:"part_duration_ms"`
	PublishedFrom   int64   `json:"published_from"`
	PublishedNS     []int64 `json:"published_ns"`
}

// PublishedAt returns when part part of segment msn was published, false
// when st does not say.
func (st Stats) PublishedAt(msn, part int64) (time.Time, bool) {
	i := msn*int64(st.PartsPerSegment) + part - st.PublishedFrom
	if part < 0 || i < 0 || i >= int64(len(st.PublishedNS)) {
		return time.Time{}, false
	}
	return time.Unix(0, st.PublishedNS[i]), true
}

// BlockingKey is the name under which Stats counts a blocking reload of
// playlist (relative to the origin root) for part part (-1: the whole
// segment) of segment msn.
func BlockingKey(playlist string, msn, part int64) string {
	b := make([]byte, 0, len(playlist)+40)
	b = append(b, playlist...)
	b = append(b, "?_HLS_msn="...)
	b = strconv.AppendInt(b, msn, 10)
	if part >= 0 {
		b = append(b, "&_HLS_part="...)
		b = strconv.AppendInt(b, part, 10)
	}
	return string(b)
}

// counter accumulates Stats. Its zero value is not ready: use reset.
type counter struct {
	mu        sync.Mutex
	since     time.Time
	total     int64
	kinds     [kindCount]int64
	delta     int64
	status    map[int]int64
	perKey    map[string]int64
	perPart   map[string]int64
	parked    int64
	maxParked int64
	held      int64
	maxHeld   int64
	maxLag    time.Duration
}

func (c *counter) reset(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = now
	c.total, c.delta = 0, 0
	c.kinds = [kindCount]int64{}
	c.status = make(map[int]int64)
	c.perKey = make(map[string]int64)
	c.perPart = make(map[string]int64)
	c.maxParked, c.maxHeld = c.parked, c.held
	c.maxLag = 0
}

// lateBy records a publication d after its part was due.
func (c *counter) lateBy(d time.Duration) {
	c.mu.Lock()
	c.maxLag = max(c.maxLag, d)
	c.mu.Unlock()
}

// add counts one request of kind k; key is its blocking key or part path.
func (c *counter) add(k kind, key string, delta bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	c.kinds[k]++
	if delta {
		c.delta++
	}
	switch k {
	case kindBlocking:
		c.perKey[key]++
	case kindPart:
		c.perPart[key]++
	}
}

func (c *counter) answered(code int) {
	c.mu.Lock()
	c.status[code]++
	c.mu.Unlock()
}

// park counts a held blocking reload (part false) or hinted-part request
// (part true) in (+1) or out (-1).
func (c *counter) park(part bool, d int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if part {
		c.held += d
		c.maxHeld = max(c.maxHeld, c.held)
		return
	}
	c.parked += d
	c.maxParked = max(c.maxParked, c.parked)
}

func (c *counter) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Since:           c.since,
		Requests:        c.total,
		Master:          c.kinds[kindMaster],
		Plain:           c.kinds[kindMedia],
		Blocking:        c.kinds[kindBlocking],
		Delta:           c.delta,
		Parts:           c.kinds[kindPart],
		Segments:        c.kinds[kindSegment] + c.kinds[kindInit],
		Other:           c.kinds[kindOther],
		Status:          make(map[string]int64, len(c.status)),
		Keys:            len(c.perKey),
		UniqueParts:     len(c.perPart),
		MaxParked:       c.maxParked,
		MaxHeldParts:    c.maxHeld,
		MaxPublishLagMS: float64(c.maxLag) / 1e6,
		PerKey:          make(map[string]int64, len(c.perKey)),
		PerPart:         make(map[string]int64, len(c.perPart)),
	}
	for code, n := range c.status {
		s.Status[strconv.Itoa(code)] = n
	}
	s.MaxPerKey, s.MaxKey = maxOf(c.perKey, s.PerKey)
	s.MaxPerPart, s.MaxPart = maxOf(c.perPart, s.PerPart)
	if s.Keys > 0 {
		s.MeanPerKey = float64(s.Blocking) / float64(s.Keys)
	}
	if s.UniqueParts > 0 {
		s.MeanPerPart = float64(s.Parts) / float64(s.UniqueParts)
	}
	return s
}

// maxOf copies m into dst and returns its largest count and the smallest
// name holding it.
func maxOf(m, dst map[string]int64) (int64, string) {
	var top int64
	var name string
	for k, n := range m {
		dst[k] = n
		if n > top || n == top && k < name {
			top, name = n, k
		}
	}
	return top, name
}
