package telemetry

import (
	"errors"
	"fmt"
)

// Limits of the CMCD parser. A player's CMCD is a few hundred bytes; these
// bounds keep a hostile one cheap.
const (
	// MaxCMCDLen bounds the CMCD of one request: the decoded query value,
	// or the four headers together.
	MaxCMCDLen = 2048
	// MaxCMCDKeys bounds the keys of one request (CTA-5004 and the v2
	// draft define fewer than 50).
	MaxCMCDKeys = 64
)

// Errors of the CMCD parser, wrapped with the offending key where there is
// one. A request whose CMCD does not parse is still served and still
// recorded, without its CMCD.
var (
	// ErrCMCDTooLong: more than MaxCMCDLen bytes.
	ErrCMCDTooLong = errors.New("telemetry: cmcd: too long")
	// ErrCMCDTooManyKeys: more than MaxCMCDKeys keys.
	ErrCMCDTooManyKeys = errors.New("telemetry: cmcd: too many keys")
	// ErrCMCDSyntax: a bad key, an unterminated string or inner list, a bad
	// escape or percent-encoding, or junk after a value.
	ErrCMCDSyntax = errors.New("telemetry: cmcd: syntax error")
	// ErrCMCDValue: a value of the wrong type for its key (a string for an
	// integer, an unknown token).
	ErrCMCDValue = errors.New("telemetry: cmcd: bad value")
)

// ObjectType is the CMCD object type (key "ot").
type ObjectType uint8

// Object types of CTA-5004.
const (
	OTUnknown   ObjectType = iota
	OTManifest             // m: manifest or playlist
	OTAudio                // a: audio only
	OTVideo                // v: video only
	OTMuxed                // av: muxed audio and video
	OTInit                 // i: init segment
	OTCaption              // c: caption or subtitle
	OTTimedText            // tt: ISOBMFF timed text track
	OTKey                  // k: cryptographic key, license or certificate
	OTOther                // o: other
)

// Media reports whether the object carries audio or video, or whether the
// player did not say (then it is counted as media: most requests are).
func (t ObjectType) Media() bool {
	return t == OTUnknown || t == OTAudio || t == OTVideo || t == OTMuxed
}

// Field bits of CMCD.Has: which keys the request carried.
const (
	HasBR uint64 = 1 << iota
	HasBL
	HasBS
	HasCID
	HasD
	HasDL
	HasMTP
	HasNOR
	HasNRR
	HasOT
	HasPR
	HasRTP
	HasSF
	HasSID
	HasST
	HasSU
	HasTB
	HasV
	// CMCD v2 draft keys.
	HasSTA
	HasLTC
	HasMSD
	HasBSD
	HasTBL
	HasAB
	HasTAB
	HasLB
	HasLAB
	HasTPB
	HasTS
	HasSN
	HasBG
	HasCDN
	HasRC
	HasTTFB
	HasTTLB
	HasE
	HasURL
	HasPT
	HasEC
)

// CMCD is one request's Common Media Client Data (CTA-5004, with the keys
// of the CMCD v2 draft that players send). A Parser fills it; its strings
// are views into the Parser's buffer.
//
// Integers are in the units of the specification: kbps for bitrates and
// throughputs, milliseconds for durations, lengths and deadlines. A key
// that is absent is zero; Has says which keys were present.
type CMCD struct {
	Has uint64 // Has* bits of the keys present

	SID []byte // session id (sid)
	CID []byte // content id (cid)
	NOR []byte // next object request, relative path (nor), first of a v2 list
	NRR []byte // next range request, "start-end" (nrr)
	CDN []byte // v2: CDN the object came from (cdn)
	URL []byte // v2 event mode: URL of the object (url)
	EC  []byte // v2: first error code (ec)

	OT  ObjectType // object type (ot)
	SF  byte       // streaming format (sf): 'd' DASH, 'h' HLS, 's' Smooth, 'o' other
	ST  byte       // stream type (st): 'v' VOD, 'l' live
	STA byte       // v2 player state (sta): s, p, a, w, k, r, f, e, q, d
	E   [2]byte    // v2 event (e): ps, e, t, c, b, m, um, pe, pc, rr

	SU bool // startup: the object is needed urgently at start or seek (su)
	BS bool // buffer starvation since the previous request (bs)
	BG bool // v2: the player is in the background (bg)

	BR   int64 // encoded bitrate, kbps (br)
	BL   int64 // buffer length, ms (bl)
	D    int64 // object duration, ms (d)
	DL   int64 // deadline, ms (dl)
	MTP  int64 // measured throughput, kbps (mtp)
	RTP  int64 // requested maximum throughput, kbps (rtp)
	TB   int64 // top bitrate, kbps (tb)
	V    int64 // CMCD version (v); absent (0) means 1
	PR   int64 // playback rate in thousandths (pr=1.25 is 1250); absent (0) means 1000
	LTC  int64 // v2: live latency, ms (ltc)
	MSD  int64 // v2: media start delay, ms (msd): time from play to first frame
	BSD  int64 // v2: buffer starvation duration, ms (bsd)
	TBL  int64 // v2: target buffer length, ms (tbl)
	AB   int64 // v2: aggregate encoded bitrate, kbps (ab)
	TAB  int64 // v2: top aggregate encoded bitrate, kbps (tab)
	LB   int64 // v2: lowest encoded bitrate, kbps (lb)
	LAB  int64 // v2: lowest aggregate encoded bitrate, kbps (lab)
	TPB  int64 // v2: top playable bitrate, kbps (tpb)
	TS   int64 // v2: timestamp, ms since the epoch (ts)
	SN   int64 // v2: sequence number (sn)
	RC   int64 // v2 event mode: response code (rc)
	TTFB int64 // v2 event mode: time to first byte, ms (ttfb)
	TTLB int64 // v2 event mode: time to last byte, ms (ttlb)
	PT   int64 // v2: playhead time, ms (pt)

	Keys    int // keys seen, known or not
	Unknown int // keys not defined above (custom keys are allowed and ignored)
}

// Parser parses CMCD into its embedded CMCD without allocating: the
// strings of the CMCD are views into the Parser's own buffer, valid until
// its next Reset or parse, so a caller copies what must outlive the request
// (the Recorder copies nothing: it hashes the session id). Reuse one Parser
// per goroutine or take it from a sync.Pool; it is about 2.3 KiB.
type Parser struct {
	CMCD
	n   int // bytes of buf in use
	buf [MaxCMCDLen]byte
}

// Reset clears the parsed CMCD for the next request.
func (c *Parser) Reset() {
	c.CMCD = CMCD{}
	c.n = 0
}

// ParseQuery parses the CMCD query parameter of rawQuery (the part of a URL
// after '?', still percent-encoded) into c, after a Reset. A query without
// a CMCD parameter leaves c empty and is not an error. It does not
// allocate unless it fails.
func (c *Parser) ParseQuery(rawQuery []byte) error {
	c.Reset()
	v, ok := queryValue(rawQuery, "CMCD")
	if !ok {
		return nil
	}
	n, err := unescapeQuery(c.buf[:], v)
	if err != nil {
		return err
	}
	c.n = n
	return c.parse(c.buf[:n])
}

// ParseHeaders parses the four CMCD headers (CMCD-Request, CMCD-Object,
// CMCD-Status, CMCD-Session; any may be empty) into c, after a Reset. A key
// may appear in any of them. It does not allocate unless it fails.
func (c *Parser) ParseHeaders(request, object, status, session []byte) error {
	c.Reset()
	for _, h := range [4][]byte{request, object, status, session} {
		if len(h) == 0 {
			continue
		}
		if c.n+len(h)+1 > len(c.buf) {
			return ErrCMCDTooLong
		}
		if c.n > 0 {
			c.buf[c.n] = ','
			c.n++
		}
		c.n += copy(c.buf[c.n:], h)
	}
	return c.parse(c.buf[:c.n])
}

// parse reads a CMCD dictionary in place: members separated by commas,
// each a bare key (true), key=?0/?1, key="string", key=token-or-number or
// key=(inner list); parameters (";...") are skipped.
func (c *Parser) parse(b []byte) error {
	i := 0
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil
		}
		if c.Keys == MaxCMCDKeys {
			return ErrCMCDTooManyKeys
		}
		c.Keys++
		ks := i
		for i < len(b) && isKeyChar(b[i]) {
			i++
		}
		if i == ks || b[ks] < 'a' && b[ks] != '*' { // a key starts with lcalpha or '*'
			return ErrCMCDSyntax
		}
		key := b[ks:i]
		var val []byte
		var kind byte // 'b' boolean, 's' string, 't' token or number
		boolVal := true
		if i < len(b) && b[i] == '=' {
			i++
			var err error
			val, kind, boolVal, i, err = readValue(b, i)
			if err != nil {
				return fmt.Errorf("telemetry: cmcd: key %q: %w", key, err)
			}
		} else {
			kind = 'b'
		}
		if i = skipParams(b, i); i < 0 {
			return fmt.Errorf("telemetry: cmcd: key %q: parameter: %w", key, ErrCMCDSyntax)
		}
		i = skipSpace(b, i)
		if i < len(b) {
			if b[i] != ',' {
				return fmt.Errorf("telemetry: cmcd: after key %q: %w", key, ErrCMCDSyntax)
			}
			i++
		}
		if err := c.set(key, val, kind, boolVal); err != nil {
			return fmt.Errorf("telemetry: cmcd: key %q: %w", key, err)
		}
	}
}

// readValue reads the value starting at b[i]. Strings are unescaped in
// place; an inner list yields its first item.
func readValue(b []byte, i int) (val []byte, kind byte, boolVal bool, next int, err error) {
	if i >= len(b) {
		return nil, 0, false, i, ErrCMCDSyntax
	}
	switch b[i] {
	case '"':
		return readString(b, i)
	case '?':
		if i+1 < len(b) && (b[i+1] == '0' || b[i+1] == '1') {
			return nil, 'b', b[i+1] == '1', i + 2, nil
		}
		return nil, 0, false, i, ErrCMCDSyntax
	case '(':
		return readInnerList(b, i)
	}
	s := i
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	if i == s {
		return nil, 0, false, i, ErrCMCDSyntax
	}
	return b[s:i], 't', true, i, nil
}

// readString reads a quoted string at b[i] == '"', unescaping \" and \\ in
// place.
func readString(b []byte, i int) (val []byte, kind byte, boolVal bool, next int, err error) {
	i++
	s, w := i, i
	for i < len(b) {
		ch := b[i]
		switch {
		case ch == '"':
			return b[s:w], 's', true, i + 1, nil
		case ch == '\\':
			if i+1 >= len(b) || (b[i+1] != '"' && b[i+1] != '\\') {
				return nil, 0, false, i, ErrCMCDSyntax
			}
			b[w] = b[i+1]
			i += 2
		case ch < 0x20 || ch == 0x7f:
			return nil, 0, false, i, ErrCMCDSyntax
		default:
			b[w] = ch
			i++
		}
		w++
	}
	return nil, 0, false, i, ErrCMCDSyntax // unterminated
}

// readInnerList reads "(item item ...)" at b[i] == '(' and returns the first
// item (v2 sends some keys as lists, e.g. br=(3000;v 128;a)).
func readInnerList(b []byte, i int) (val []byte, kind byte, boolVal bool, next int, err error) {
	i++
	first := true
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, 0, false, i, ErrCMCDSyntax
		}
		if b[i] == '(' {
			return nil, 0, false, i, ErrCMCDSyntax // lists do not nest
		}
		if b[i] == ')' {
			if first {
				return nil, 'e', false, i + 1, nil // empty list: ignored
			}
			return val, kind, boolVal, i + 1, nil
		}
		v, k, bv, n, err := readValue(b, i)
		if err != nil {
			return nil, 0, false, n, err
		}
		if first {
			val, kind, boolVal, first = v, k, bv, false
		}
		if i = skipParams(b, n); i < 0 {
			return nil, 0, false, n, ErrCMCDSyntax
		}
		if i < len(b) && b[i] != ' ' && b[i] != ')' {
			return nil, 0, false, i, ErrCMCDSyntax
		}
	}
}

// skipParams skips ";key[=value]" parameters after a value; -1 for a bad
// quoted parameter value.
func skipParams(b []byte, i int) int {
	for i < len(b) && b[i] == ';' {
		i++
		for i < len(b) && b[i] != ',' && b[i] != ';' && b[i] != ' ' && b[i] != ')' && b[i] != '"' {
			i++
		}
		if i < len(b) && b[i] == '"' { // a quoted parameter value
			if _, _, _, n, err := readString(b, i); err == nil {
				i = n
			} else {
				return -1
			}
		}
	}
	return i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func isKeyChar(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '.' || ch == '*'
}

// isTokenChar accepts the characters of an SFV token or number (players
// send tokens and integers unquoted; some send decimals).
func isTokenChar(ch byte) bool {
	return ch > 0x20 && ch < 0x7f && ch != ',' && ch != ';' && ch != '"' && ch != '(' && ch != ')' && ch != '=' && ch != ' '
}
