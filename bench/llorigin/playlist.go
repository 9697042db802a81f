package llorigin

import (
	"strconv"
	"sync"
	"time"
)

// resolutions is the ladder the master playlist advertises, lowest first;
// renditions past its end repeat the last entry.
var resolutions = [...]string{"640x360", "960x540", "1280x720", "1920x1080"}

// RenditionBandwidth returns the BANDWIDTH (bits/s) advertised for
// rendition i: its part size over the part duration.
func (c Config) RenditionBandwidth(i int) int64 {
	return int64(float64(c.PartSize(i)) * 8 / c.PartDuration.Seconds())
}

// master renders the master playlist.
func (s *Server) master() []byte {
	b := make([]byte, 0, 128+96*s.cfg.Renditions)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	for i := range s.cfg.Renditions {
		b = append(b, "#EXT-X-STREAM-INF:BANDWIDTH="...)
		b = strconv.AppendInt(b, s.cfg.RenditionBandwidth(i), 10)
		b = append(b, ",RESOLUTION="...)
		b = append(b, resolutions[min(i, len(resolutions)-1)]...)
		b = append(b, ",CODECS=\"avc1.64001f,mp4a.40.2\"\nr"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, "/index.m3u8\n"...)
	}
	return b
}

// playlists keeps the media playlists of the newest publication state, so
// that a thousand requests woken by one part share one rendering.
type playlists struct {
	mu    sync.Mutex
	n     int64
	full  [][]byte // by rendition; nil until asked for
	delta [][]byte
}

// media returns rendition rend's media playlist with n parts published,
// as a delta update when skip is set. Callers must not modify it.
func (s *Server) media(rend int, n int64, skip bool) []byte {
	pl := &s.playlists
	pl.mu.Lock()
	defer pl.mu.Unlock()
	switch {
	case n < pl.n: // a request that read the state before a publication
		return s.renderMedia(nil, rend, n, skip)
	case n > pl.n || pl.full == nil:
		pl.n = n
		pl.full = make([][]byte, s.cfg.Renditions)
		pl.delta = make([][]byte, s.cfg.Renditions)
	}
	cache := pl.full
	if skip {
		cache = pl.delta
	}
	if cache[rend] == nil {
		cache[rend] = s.renderMedia(make([]byte, 0, 4096), rend, n, skip)
	}
	return cache[rend]
}

// renderMedia appends to b the media playlist of rendition rend when n
// parts are published: the Window newest complete segments, the parts of
// the PartSegments newest ones and of the segment in progress, the hint
// of the next part, and the other renditions' reports. With skip, the
// segments more than CAN-SKIP-UNTIL from the end are one EXT-X-SKIP.
func (s *Server) renderMedia(b []byte, rend int, n int64, skip bool) []byte {
	c := s.cfg
	pps := int64(c.PartsPerSegment)
	complete, k := n/pps, n%pps // segments 0..complete-1 are whole, k parts of the next exist
	first := max(0, complete-int64(c.Window))
	skipped := int64(0)
	if skip {
		keep := int64((c.canSkipUntil() + c.SegmentDuration() - 1) / c.SegmentDuration())
		skipped = max(0, complete-first-keep)
	}
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, c.TargetDuration(), 10)
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = appendSeconds(b, c.partHoldBack())
	b = append(b, ",CAN-SKIP-UNTIL="...)
	b = appendSeconds(b, c.canSkipUntil())
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = appendSeconds(b, c.PartDuration)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, "\n#EXT-X-MAP:URI=\"init.mp4\"\n"...)
	if skipped > 0 {
		b = append(b, "#EXT-X-SKIP:SKIPPED-SEGMENTS="...)
		b = strconv.AppendInt(b, skipped, 10)
		b = append(b, '\n')
	}
	for seg := first + skipped; seg < complete; seg++ {
		if seg == first+skipped {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = s.start.Add(time.Duration(seg)*c.SegmentDuration()).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
			b = append(b, '\n')
		}
		if seg >= complete-int64(c.PartSegments) {
			b = s.appendParts(b, seg, pps)
		}
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, c.SegmentDuration())
		b = append(b, ",\nseg"...)
		b = strconv.AppendInt(b, seg, 10)
		b = append(b, ".m4s\n"...)
	}
	b = s.appendParts(b, complete, k)
	b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
	b = appendPartName(b, complete, k)
	b = append(b, "\"\n"...)
	lastMSN, lastPart := complete, k-1
	if k == 0 {
		lastMSN, lastPart = complete-1, pps-1
	}
	for r := range c.Renditions {
		if r == rend || lastMSN < 0 {
			continue
		}
		b = append(b, "#EXT-X-RENDITION-REPORT:URI=\"../r"...)
		b = strconv.AppendInt(b, int64(r), 10)
		b = append(b, "/index.m3u8\",LAST-MSN="...)
		b = strconv.AppendInt(b, lastMSN, 10)
		b = append(b, ",LAST-PART="...)
		b = strconv.AppendInt(b, lastPart, 10)
		b = append(b, '\n')
	}
	return b
}

// appendParts appends the EXT-X-PART lines of parts 0..count-1 of seg.
func (s *Server) appendParts(b []byte, seg, count int64) []byte {
	for p := range count {
		b = append(b, "#EXT-X-PART:DURATION="...)
		b = appendSeconds(b, s.cfg.PartDuration)
		b = append(b, ",URI=\""...)
		b = appendPartName(b, seg, p)
		b = append(b, '"')
		if p == 0 {
			b = append(b, ",INDEPENDENT=YES"...)
		}
		b = append(b, '\n')
	}
	return b
}

// appendPartName appends "{msn}.{part}.m4s", the URI of a part relative
// to its media playlist.
func appendPartName(b []byte, msn, part int64) []byte {
	b = strconv.AppendInt(b, msn, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, part, 10)
	return append(b, ".m4s"...)
}

// appendSeconds appends d in seconds with three decimals.
func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}
