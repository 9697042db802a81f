package originsim

import (
	"math"
	"strconv"
	"time"
)

// resolutions is the ladder the master playlist advertises, lowest first;
// renditions past its end repeat the last entry.
var resolutions = [...]string{"640x360", "960x540", "1280x720", "1920x1080", "2560x1440", "3840x2160"}

// RenditionBandwidth returns the BANDWIDTH (bits/s) advertised for rendition i:
// its segment size over the segment duration.
func (c Config) RenditionBandwidth(i int) int64 {
	return int64(float64(c.SegmentSize(i)) * 8 / c.SegmentDuration.Seconds())
}

// master renders the master playlist.
func (s *Server) master() []byte {
	b := make([]byte, 0, 128+96*s.cfg.Renditions)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	for i := range s.cfg.Renditions {
		res := resolutions[min(i, len(resolutions)-1)]
		b = append(b, "#EXT-X-STREAM-INF:BANDWIDTH="...)
		b = strconv.AppendInt(b, s.cfg.RenditionBandwidth(i), 10)
		b = append(b, ",RESOLUTION="...)
		b = append(b, res...)
		b = append(b, ",CODECS=\"avc1.64001f,mp4a.40.2\"\nr"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, "/index.m3u8\n"...)
	}
	return b
}

// media renders the media playlist whose newest segment is edge: the
// Window segments ending at edge (fewer early on, none before segment 0
// ends). Segment URIs are relative, so the playlist is the same for every
// rendition.
func (s *Server) media(edge int64) []byte {
	d := s.cfg.SegmentDuration
	first := max(0, edge-int64(s.cfg.Window)+1)
	b := make([]byte, 0, 192+48*s.cfg.Window)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(math.Ceil(d.Seconds())), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, '\n')
	for seq := first; seq <= edge; seq++ {
		if seq == first {
			pdt := s.start.Add(time.Duration(seq) * d).UTC()
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = pdt.AppendFormat(b, "2006-01-02T15:04:05.000Z")
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
		b = append(b, ",\nseg"...)
		b = strconv.AppendInt(b, seq, 10)
		b = append(b, ".ts\n"...)
	}
	return b
}
