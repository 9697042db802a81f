package ingest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ringside-live/ringside/pkg/bmff"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
)

// masterLocked returns the LL-HLS master playlist, rendered again when a
// rendition started or an init segment or the MPD changed; d.mu held. It
// is ErrNotFound until a video (or, for an audio-only push, audio)
// rendition has its first part: a variant needs its codecs.
//
// Each video Representation is a variant (BANDWIDTH: its MPD bandwidth
// plus the highest audio one; CODECS from the init segments; RESOLUTION;
// FRAME-RATE when the MPD gives it); the audio Representations are one
// EXT-X-MEDIA group "audio", the first the default.
func (d *dash) masterLocked() (*object.Object, error) {
	if d.master.obj != nil {
		return d.master.obj, nil
	}
	var video, audio []*dashTrack
	for _, dt := range d.tracks {
		lt := dt.ll
		if lt == nil || lt.tl.Load() == nil || lt.init == nil || len(lt.init.Tracks) == 0 {
			continue
		}
		switch lt.init.Tracks[0].Handler {
		case bmff.HandlerVideo:
			video = append(video, dt)
		case bmff.HandlerAudio:
			audio = append(audio, dt)
		}
	}
	if len(video) == 0 && len(audio) == 0 {
		return nil, fmt.Errorf("%w: %s: no rendition has its first part yet", ErrNotFound, llMaster)
	}
	byBandwidth := func(ts []*dashTrack) {
		sort.Slice(ts, func(i, j int) bool {
			if ts[i].track.Representation.Bandwidth != ts[j].track.Representation.Bandwidth {
				return ts[i].track.Representation.Bandwidth > ts[j].track.Representation.Bandwidth
			}
			return ts[i].id < ts[j].id
		})
	}
	byBandwidth(video)
	byBandwidth(audio)
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:9\n")
	var audioBW uint64
	audioCodec := ""
	for i, dt := range audio {
		t := dt.ll.init.Tracks[0]
		audioBW = max(audioBW, dt.track.Representation.Bandwidth)
		if audioCodec == "" {
			audioCodec = dt.ll.init.Codecs()
		}
		if len(video) == 0 {
			continue
		}
		name := t.Language
		if name == "" || name == "und" {
			name = "audio " + dt.id
		}
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=%q", name)
		if t.Language != "" && t.Language != "und" {
			fmt.Fprintf(&b, ",LANGUAGE=%q", t.Language)
		}
		def := "NO"
		if i == 0 {
			def = "YES"
		}
		fmt.Fprintf(&b, ",DEFAULT=%s,AUTOSELECT=YES", def)
		if t.Channels > 0 {
			fmt.Fprintf(&b, ",CHANNELS=\"%d\"", t.Channels)
		}
		fmt.Fprintf(&b, ",URI=%q\n", "ll-"+dt.id+".m3u8")
	}
	if len(video) == 0 { // audio only: each rendition is a variant
		for _, dt := range audio {
			fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,CODECS=%q\n%s\n", max(1, dt.track.Representation.Bandwidth),
				dt.ll.init.Codecs(), "ll-"+dt.id+".m3u8")
		}
	}
	for _, dt := range video {
		t := dt.ll.init.Tracks[0]
		codecs := dt.ll.init.Codecs()
		if len(audio) > 0 && audioCodec != "" {
			codecs += "," + audioCodec
		}
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,CODECS=%q", max(1, dt.track.Representation.Bandwidth+audioBW), codecs)
		if t.Width > 0 && t.Height > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", t.Width, t.Height)
		}
		if fr, ok := frameRate(dt.track); ok {
			fmt.Fprintf(&b, ",FRAME-RATE=%s", fr)
		}
		if len(audio) > 0 {
			b.WriteString(",AUDIO=\"audio\"")
		}
		fmt.Fprintf(&b, "\n%s\n", "ll-"+dt.id+".m3u8")
	}
	body := []byte(b.String())
	d.master.obj = object.NewComplete(object.Meta{Status: 200, Kind: segment.KindPlaylist,
		ContentType: "application/vnd.apple.mpegurl", CacheControl: object.CacheControl(segment.KindPlaylist, 2),
		Gzip: object.Compress(body), Source: "ingest"}, body)
	return d.master.obj, nil
}

// frameRate is the Representation's (else its AdaptationSet's) frameRate
// as EXT-X-STREAM-INF's FRAME-RATE, three decimals.
func frameRate(t segment.Track) (string, bool) {
	fr := t.Representation.FrameRate
	if fr == "" && t.AdaptationSet != nil {
		fr = t.AdaptationSet.FrameRate
	}
	if fr == "" {
		return "", false
	}
	num, den, hasDen := strings.Cut(fr, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 {
		return "", false
	}
	if hasDen {
		dv, err := strconv.ParseFloat(den, 64)
		if err != nil || dv <= 0 {
			return "", false
		}
		n /= dv
	}
	if n > 1000 {
		return "", false
	}
	return strconv.FormatFloat(n, 'f', 3, 64), true
}
