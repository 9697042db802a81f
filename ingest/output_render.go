package ingest

// Rendering the output playlist and reading where a feed segment starts.

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/mpegts"
	"github.com/ringside-live/ringside/pkg/segment"
)

// outputSegmentPath is where output segment e is served: its media
// sequence number in the rendition's directory, with its source's
// extension. Numbers come from the timeline, so the name is the same on
// every node and never names two segments.
func outputSegmentPath(dir string, e control.TimelineEntry) string {
	return path.Join(dir, strconv.FormatUint(e.MSN, 10)+path.Ext(e.Source))
}

func targetOf(window []control.TimelineEntry) int {
	td := 1
	for _, e := range window {
		td = max(td, int(time.Duration(e.Duration).Round(time.Second)/time.Second))
	}
	return td
}

// renderOutput writes the output playlist of tr: the last listSize
// entries of window.
func renderOutput(tr *outTrack, window []control.TimelineEntry) []byte {
	if n := tr.listSize; n > 0 && len(window) > n {
		window = window[len(window)-n:]
	}
	// The first segment's discontinuity sequence number is the header's;
	// a discontinuity before it is not written (what it separated from
	// left the window).
	first := window[0]
	dseq := first.DSN
	version := tr.version
	if first.Map != "" {
		version = max(version, 6)
	}
	b := make([]byte, 0, 128+96*len(window))
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(targetOf(window)), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, first.MSN, 10)
	b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendUint(b, dseq, 10)
	b = append(b, '\n')
	if tr.indep {
		b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}
	curMap := ""
	for i, e := range window {
		if e.Discontinuity && i > 0 {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if e.Map != curMap && e.Map != "" {
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(b, relURI(tr.dir, e.Map)...)
			b = append(b, "\"\n"...)
			curMap = e.Map
		}
		if !e.PDT.IsZero() {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = e.PDT.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, time.Duration(e.Duration).Seconds(), 'f', 6, 64)
		b = append(b, ",\n"...)
		b = append(b, relURI(tr.dir, outputSegmentPath(tr.dir, e))...)
		b = append(b, '\n')
	}
	return b
}

// relURI is event-relative path p as a URI relative to a playlist in dir.
func relURI(dir, p string) string {
	if dir == "" {
		return p
	}
	if r, ok := strings.CutPrefix(p, dir+"/"); ok {
		return r
	}
	return p
}

func hasTag(pl *segment.MediaPlaylist, name string) bool {
	for _, t := range pl.Tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

// firstPTS is the presentation time a segment starts at, in 90 kHz units:
// from its first PES header (MPEG-TS) or its first fragment's decode time
// (fragmented MP4, with its init segment).
func firstPTS(body, init []byte) (int64, bool) {
	if len(init) == 0 {
		pts, err := mpegts.FirstPTS(body)
		return pts, err == nil
	}
	in, err := bmff.ParseInit(init)
	if err != nil {
		return 0, false
	}
	var frag *bmff.Fragment
	sc := bmff.NewScanner(in, func(f bmff.Fragment) {
		if frag == nil {
			frag = &f
		}
	})
	_, _ = sc.Write(body)
	if frag == nil {
		return 0, false
	}
	best, ok := int64(0), false
	for _, t := range frag.Tracks {
		if !t.HasDecodeTime || t.Timescale == 0 {
			continue
		}
		v := int64(t.DecodeTime * 90000 / uint64(t.Timescale))
		if !ok || v < best {
			best, ok = v, true
		}
	}
	return best, ok
}
