package ingest

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/pkg/segment"
)

// Seed playlists: what ffmpeg sends (TS, fMP4, LHLS), LL-HLS as the origin
// writes it, and a master with every URI-carrying tag.
var fuzzSeeds = []string{
	mediaPL(0, 3),
	"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
		"#EXT-X-MAP:URI=\"init_0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2025-06-01T12:00:00.000+0000\n#EXTINF:2.000000,\nindex0.m4s\n",
	"#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.ts\",IV=0x0123\n" +
		"#EXTINF:2.0,\nindex0.ts\n#EXT-X-PREFETCH:index1.ts\n",
	"#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n" +
		"#EXT-X-PART-INF:PART-TARGET=0.5\n#EXTINF:2.0,\nindex0.ts\n#EXT-X-PART:DURATION=0.5,URI=\"index1.0.m4s\",INDEPENDENT=YES\n" +
		"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"index1.1.m4s\"\n#EXT-X-RENDITION-REPORT:URI=\"../1/index.m3u8\",LAST-MSN=0\n",
	"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,KEYFORMAT=\"urn:uuid:x\",URI=\"data:text/plain;base64,AA==\"\n" +
		"#EXT-X-KEY:METHOD=AES-128,URI=\"https://evil.example/k\"\n#EXTINF:2.0,\nindex0.ts\n",
	"#EXTM3U\n#EXT-X-VERSION:7\n\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"0/k.ts\"\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"steer.m3u8\"\n" +
		"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"a/index.m3u8\"\n" +
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"0/iframe.m3u8\"\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"a\"\n0/index.m3u8\n",
	"#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x,URI=\\\"http://e/\",URI=\"a.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n",
	"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128, URI=\"https://evil.example/k\"\n#EXTINF:2,\nindex0.ts\n",
}

// lenientAttr reads attribute lists the way a forgiving player does:
// blanks around names and '=', names in any case.
var lenientAttr = regexp.MustCompile(`(?:^|,)\s*([^=,\s]+)\s*=\s*("[^"]*"|[^,]*)`)

// FuzzCheckURIs: whatever checkURIs accepts, neither a forgiving player's
// reading of the attribute lists nor segment's parsers find a URI in it
// that leaves the event.
func FuzzCheckURIs(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const dir = "0"
		if checkURIs(data, dir) != nil {
			return
		}
		inside := func(what, uri string, data bool) {
			if data && len(uri) >= 5 && strings.EqualFold(uri[:5], "data:") {
				return
			}
			if _, err := segment.ResolveURI(dir, uri); err != nil {
				t.Fatalf("accepted %s %q: %v", what, uri, err)
			}
		}
		for _, line := range strings.Split(strings.TrimPrefix(string(data), "\xef\xbb\xbf"), "\n") {
			line = strings.TrimSpace(line)
			name, value, _ := strings.Cut(line, ":")
			rule, ok := uriRuleOf(name) // players match tag names exactly
			switch {
			case line == "":
			case line[0] != '#':
				inside("URI line", line, false)
			case !ok:
			case rule.attr == "":
				inside(name, strings.TrimSpace(value), rule.data)
			default:
				for _, m := range lenientAttr.FindAllStringSubmatch(value, -1) {
					if strings.EqualFold(m[1], rule.attr) {
						inside(name+" "+m[1], strings.Trim(m[2], `"`), rule.data)
					}
				}
			}
		}
		if mp, err := segment.ParseMaster(data); err == nil {
			for _, r := range mp.Media {
				if r.URI != "" {
					inside("EXT-X-MEDIA", r.URI, false)
				}
			}
			for _, v := range mp.Variants {
				inside("variant", v.URI, false)
			}
		}
		if pl, err := segment.ParseMedia(data); err == nil {
			for i := range pl.Segments {
				inside("segment", pl.Segments[i].URI, false)
				if m := pl.Segments[i].Map; m != nil {
					inside("EXT-X-MAP", m.URI, false)
				}
			}
		}
	})
}

// FuzzPlaylistUpload: any playlist body, whole or cut short of its
// declared length, is published or rejected with a sentinel, and the live
// bytes stay exactly what the event holds.
func FuzzPlaylistUpload(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	o := newOrigin(f, func(c *Config) { c.ListedGrace, c.MaxPlaylistBytes, c.LiveBytes = 0, 64<<10, 1<<30 })
	for _, p := range []string{"0/index0.ts", "0/index1.ts", "0/index2.ts", "0/init_0.mp4", "0/index0.m4s"} {
		if err := put(o, p, "x"); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, master, short bool) {
		p, declared := "0/index.m3u8", int64(len(data))
		if master {
			p = "master.m3u8"
		}
		if short {
			declared++
		}
		_, err := o.Put(context.Background(), Upload{Event: "ev", Path: p, Token: key, Body: bytes.NewReader(data), ContentLength: declared})
		switch {
		case short && !errors.Is(err, ErrAborted) && !errors.Is(err, ErrTooLarge):
			t.Fatalf("body short of its length: err = %v", err)
		case err != nil && !errors.Is(err, ErrInvalidPlaylist) && !errors.Is(err, ErrAborted) && !errors.Is(err, ErrTooLarge):
			t.Fatalf("err = %v, want a sentinel", err)
		}
		checkAccounting(t, o)
	})
}
