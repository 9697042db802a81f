package crowd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// errPlaylist is wrapped by parse errors.
var errPlaylist = errors.New("crowd: bad media playlist")

// mediaPlaylist is the part of a live media playlist a player needs.
type mediaPlaylist struct {
	targetDuration time.Duration
	firstSeq       int64
	uris           []string // uris[i] has media sequence firstSeq+i
}

// lastSeq returns the media sequence of the newest segment, firstSeq-1
// when there is none.
func (p *mediaPlaylist) lastSeq() int64 { return p.firstSeq + int64(len(p.uris)) - 1 }

// parseMedia reads the tags and segment URIs of a media playlist.
func parseMedia(b []byte) (*mediaPlaylist, error) {
	p := &mediaPlaylist{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return nil, fmt.Errorf("%w: no #EXTM3U", errPlaylist)
			}
			first = false
			continue
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			v, err := strconv.ParseFloat(line[len("#EXT-X-TARGETDURATION:"):], 64)
			if err != nil || v <= 0 || v > 3600 {
				return nil, fmt.Errorf("%w: %q", errPlaylist, line)
			}
			p.targetDuration = time.Duration(math.Round(v * float64(time.Second)))
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			v, err := strconv.ParseInt(line[len("#EXT-X-MEDIA-SEQUENCE:"):], 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: %q", errPlaylist, line)
			}
			p.firstSeq = v
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF"):
			return nil, fmt.Errorf("%w: a master playlist", errPlaylist)
		case line[0] == '#':
		default:
			p.uris = append(p.uris, line)
		}
	}
	if first {
		return nil, fmt.Errorf("%w: empty", errPlaylist)
	}
	if p.targetDuration == 0 {
		return nil, fmt.Errorf("%w: no #EXT-X-TARGETDURATION", errPlaylist)
	}
	return p, nil
}
