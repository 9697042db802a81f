package llcrowd

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// errPlaylist is wrapped by scan errors.
var errPlaylist = errors.New("llcrowd: bad LL-HLS media playlist")

// llPlaylist is what a player needs of a low-latency media playlist (a
// full one or a delta update): where its live edge is and what to ask
// for next.
type llPlaylist struct {
	targetDuration time.Duration
	partTarget     time.Duration
	// lastMSN is the media sequence number of the last complete segment,
	// -1 when there is none; lastParts is how many parts it listed.
	lastMSN   int64
	lastParts int64
	// tail is how many parts of segment lastMSN+1 (in progress) are listed.
	tail int64
	// hint is the URI of the PRELOAD-HINT of TYPE=PART, "" when there is none.
	hint string
}

// next returns the part after the newest one listed: what a player asks
// for with _HLS_msn and _HLS_part.
func (p *llPlaylist) next() (msn, part int64) { return p.lastMSN + 1, p.tail }

// lists reports whether the playlist lists part part of segment msn: the
// segment is complete, or the part is among those of the segment in
// progress.
func (p *llPlaylist) lists(msn, part int64) bool {
	return msn <= p.lastMSN || msn == p.lastMSN+1 && part < p.tail
}

// partsPerSegment is the parts a complete segment had, 0 when unknown.
func (p *llPlaylist) partsPerSegment() int64 { return p.lastParts }

var (
	tagTarget   = []byte("#EXT-X-TARGETDURATION:")
	tagPartInf  = []byte("#EXT-X-PART-INF:")
	tagMediaSeq = []byte("#EXT-X-MEDIA-SEQUENCE:")
	tagSkip     = []byte("#EXT-X-SKIP:")
	tagPart     = []byte("#EXT-X-PART:")
	tagHint     = []byte("#EXT-X-PRELOAD-HINT:")
	tagStream   = []byte("#EXT-X-STREAM-INF:")
)

// scanPlaylist reads a media playlist line by line without copying it.
func scanPlaylist(b []byte) (*llPlaylist, error) {
	if !bytes.HasPrefix(b, []byte("#EXTM3U")) {
		return nil, fmt.Errorf("%w: no #EXTM3U", errPlaylist)
	}
	p := &llPlaylist{}
	var seq, skipped, segs, parts int64
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, "\r \t")
		switch {
		case len(line) == 0:
		case line[0] != '#':
			segs++
			p.lastParts, parts = parts, 0
		case bytes.HasPrefix(line, tagPart):
			parts++
		case bytes.HasPrefix(line, tagTarget):
			v, err := strconv.ParseFloat(string(line[len(tagTarget):]), 64)
			if err != nil || v <= 0 || v > 3600 {
				return nil, fmt.Errorf("%w: %q", errPlaylist, line)
			}
			p.targetDuration = time.Duration(math.Round(v * float64(time.Second)))
		case bytes.HasPrefix(line, tagPartInf):
			v, err := strconv.ParseFloat(string(attr(line[len(tagPartInf):], "PART-TARGET")), 64)
			if err != nil || v <= 0 || v > 60 {
				return nil, fmt.Errorf("%w: %q", errPlaylist, line)
			}
			p.partTarget = time.Duration(math.Round(v * float64(time.Second)))
		case bytes.HasPrefix(line, tagMediaSeq):
			if seq = atoi(line[len(tagMediaSeq):]); seq < 0 {
				return nil, fmt.Errorf("%w: %q", errPlaylist, line)
			}
		case bytes.HasPrefix(line, tagSkip):
			if skipped = atoi(attr(line[len(tagSkip):], "SKIPPED-SEGMENTS")); skipped < 0 {
				return nil, fmt.Errorf("%w: %q", errPlaylist, line)
			}
		case bytes.HasPrefix(line, tagHint):
			a := line[len(tagHint):]
			if string(attr(a, "TYPE")) == "PART" {
				p.hint = string(bytes.Trim(attr(a, "URI"), `"`))
			}
		case bytes.HasPrefix(line, tagStream):
			return nil, fmt.Errorf("%w: a master playlist", errPlaylist)
		}
	}
	if p.targetDuration == 0 || p.partTarget == 0 {
		return nil, fmt.Errorf("%w: no TARGETDURATION or PART-INF", errPlaylist)
	}
	p.lastMSN = seq + skipped + segs - 1
	p.tail = parts
	return p, nil
}

// attr returns the value of attribute name in an attribute list (quotes
// kept), nil when it is absent. Quoted values may hold commas.
func attr(list []byte, name string) []byte {
	for len(list) > 0 {
		eq := bytes.IndexByte(list, '=')
		if eq < 0 {
			return nil
		}
		key, rest := list[:eq], list[eq+1:]
		end := bytes.IndexByte(rest, ',')
		if len(rest) > 0 && rest[0] == '"' {
			end = -1
			if q := bytes.IndexByte(rest[1:], '"'); q >= 0 && q+2 < len(rest) {
				end = q + 2 // the comma after the closing quote
			}
		}
		val := rest
		list = nil
		if end >= 0 {
			val, list = rest[:end], rest[end+1:]
		}
		if string(key) == name {
			return val
		}
	}
	return nil
}

// atoi parses a non-negative decimal, -1 when it is not one.
func atoi(b []byte) int64 {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
