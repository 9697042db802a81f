package telemetry

import "bytes"

// set stores one key's value. kind is 'b' (boolean), 's' (string), 't'
// (token or number) or 'e' (an empty inner list, ignored).
func (c *CMCD) set(key, val []byte, kind byte, b bool) error {
	if kind == 'e' {
		return nil
	}
	var err error
	switch string(key) {
	case "sid":
		c.SID, err = str(kind, val, HasSID, &c.Has)
	case "cid":
		c.CID, err = str(kind, val, HasCID, &c.Has)
	case "nor":
		c.NOR, err = str(kind, val, HasNOR, &c.Has)
	case "nrr":
		c.NRR, err = str(kind, val, HasNRR, &c.Has)
	case "cdn":
		c.CDN, err = str(kind, val, HasCDN, &c.Has)
	case "url":
		c.URL, err = str(kind, val, HasURL, &c.Has)
	case "ec":
		c.EC, err = str(kind, val, HasEC, &c.Has)
	case "su":
		c.SU, err = boolean(kind, b, HasSU, &c.Has)
	case "bs":
		c.BS, err = boolean(kind, b, HasBS, &c.Has)
	case "bg":
		c.BG, err = boolean(kind, b, HasBG, &c.Has)
	case "ot":
		err = c.setOT(kind, val)
	case "sf":
		c.SF, err = token1(kind, val, "dhso", HasSF, &c.Has)
	case "st":
		c.ST, err = token1(kind, val, "vl", HasST, &c.Has)
	case "sta":
		c.STA, err = token1(kind, val, "spawkrfeqd", HasSTA, &c.Has)
	case "e":
		if kind != 't' || len(val) == 0 || len(val) > 2 {
			return ErrCMCDValue
		}
		c.E = [2]byte{}
		copy(c.E[:], val)
		c.Has |= HasE
	case "pr":
		c.PR, err = decimalMilli(kind, val, HasPR, &c.Has)
	default:
		if p := c.intField(string(key)); p != nil {
			*p, err = integer(kind, val)
			if err == nil {
				c.Has |= intBit(string(key))
			}
			return err
		}
		c.Unknown++
	}
	return err
}

// intField returns the integer field of key, or nil.
func (c *CMCD) intField(key string) *int64 {
	switch key {
	case "br":
		return &c.BR
	case "bl":
		return &c.BL
	case "d":
		return &c.D
	case "dl":
		return &c.DL
	case "mtp":
		return &c.MTP
	case "rtp":
		return &c.RTP
	case "tb":
		return &c.TB
	case "v":
		return &c.V
	case "ltc":
		return &c.LTC
	case "msd":
		return &c.MSD
	case "bsd":
		return &c.BSD
	case "tbl":
		return &c.TBL
	case "ab":
		return &c.AB
	case "tab":
		return &c.TAB
	case "lb":
		return &c.LB
	case "lab":
		return &c.LAB
	case "tpb":
		return &c.TPB
	case "ts":
		return &c.TS
	case "sn":
		return &c.SN
	case "rc":
		return &c.RC
	case "ttfb":
		return &c.TTFB
	case "ttlb":
		return &c.TTLB
	case "pt":
		return &c.PT
	}
	return nil
}

func intBit(key string) uint64 {
	switch key {
	case "br":
		return HasBR
	case "bl":
		return HasBL
	case "d":
		return HasD
	case "dl":
		return HasDL
	case "mtp":
		return HasMTP
	case "rtp":
		return HasRTP
	case "tb":
		return HasTB
	case "v":
		return HasV
	case "ltc":
		return HasLTC
	case "msd":
		return HasMSD
	case "bsd":
		return HasBSD
	case "tbl":
		return HasTBL
	case "ab":
		return HasAB
	case "tab":
		return HasTAB
	case "lb":
		return HasLB
	case "lab":
		return HasLAB
	case "tpb":
		return HasTPB
	case "ts":
		return HasTS
	case "sn":
		return HasSN
	case "rc":
		return HasRC
	case "ttfb":
		return HasTTFB
	case "ttlb":
		return HasTTLB
	case "pt":
		return HasPT
	}
	return 0
}

func (c *CMCD) setOT(kind byte, val []byte) error {
	if kind != 't' {
		return ErrCMCDValue
	}
	var t ObjectType
	switch string(val) {
	case "m":
		t = OTManifest
	case "a":
		t = OTAudio
	case "v":
		t = OTVideo
	case "av":
		t = OTMuxed
	case "i":
		t = OTInit
	case "c":
		t = OTCaption
	case "tt":
		t = OTTimedText
	case "k":
		t = OTKey
	case "o":
		t = OTOther
	default:
		return ErrCMCDValue
	}
	c.OT = t
	c.Has |= HasOT
	return nil
}

func str(kind byte, val []byte, bit uint64, has *uint64) ([]byte, error) {
	if kind != 's' {
		return nil, ErrCMCDValue
	}
	*has |= bit
	return val, nil
}

func boolean(kind byte, b bool, bit uint64, has *uint64) (bool, error) {
	if kind != 'b' {
		return false, ErrCMCDValue
	}
	*has |= bit
	return b, nil
}

// token1 accepts a one-character token from allowed.
func token1(kind byte, val []byte, allowed string, bit uint64, has *uint64) (byte, error) {
	if kind != 't' || len(val) != 1 {
		return 0, ErrCMCDValue
	}
	for i := 0; i < len(allowed); i++ {
		if allowed[i] == val[0] {
			*has |= bit
			return val[0], nil
		}
	}
	return 0, ErrCMCDValue
}

// maxInt bounds CMCD integers (SFV allows 15 digits); larger is an error.
const maxInt = 999_999_999_999_999

// integer parses an SFV integer; a decimal (some players send one) is
// truncated.
func integer(kind byte, val []byte) (int64, error) {
	if kind != 't' || len(val) == 0 {
		return 0, ErrCMCDValue
	}
	neg := val[0] == '-'
	if neg {
		val = val[1:]
	}
	var n int64
	digits := 0
	for i, ch := range val {
		if ch == '.' && digits > 0 {
			if !allDigits(val[i+1:]) {
				return 0, ErrCMCDValue
			}
			break
		}
		if ch < '0' || ch > '9' || digits == 15 {
			return 0, ErrCMCDValue
		}
		n = n*10 + int64(ch-'0')
		digits++
	}
	if digits == 0 || n > maxInt {
		return 0, ErrCMCDValue
	}
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(b []byte) bool {
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	return len(b) > 0
}

// decimalMilli parses a decimal such as 1.25 into thousandths (1250).
func decimalMilli(kind byte, val []byte, bit uint64, has *uint64) (int64, error) {
	if kind != 't' || len(val) == 0 {
		return 0, ErrCMCDValue
	}
	neg := val[0] == '-'
	if neg {
		val = val[1:]
	}
	var whole, frac int64
	i, digits := 0, 0
	for ; i < len(val) && val[i] >= '0' && val[i] <= '9'; i++ {
		if digits == 12 {
			return 0, ErrCMCDValue
		}
		whole = whole*10 + int64(val[i]-'0')
		digits++
	}
	if digits == 0 {
		return 0, ErrCMCDValue
	}
	if i < len(val) {
		if val[i] != '.' || !allDigits(val[i+1:]) || len(val)-i-1 > 3 {
			return 0, ErrCMCDValue
		}
		scale := int64(100)
		for _, ch := range val[i+1:] {
			frac += int64(ch-'0') * scale
			scale /= 10
		}
	}
	n := whole*1000 + frac
	if neg {
		n = -n
	}
	*has |= bit
	return n, nil
}

// queryValue finds the value of the first parameter named name in a raw
// query ("a=1&CMCD=...&b=2"), still percent-encoded. Parameters are
// separated by '&' only, as net/url does since Go 1.17.
func queryValue(q []byte, name string) ([]byte, bool) {
	for len(q) > 0 {
		var p []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			p, q = q[:i], q[i+1:]
		} else {
			p, q = q, nil
		}
		if len(p) < len(name) || string(p[:len(name)]) != name {
			continue
		}
		if len(p) == len(name) {
			return nil, true
		}
		if p[len(name)] == '=' {
			return p[len(name)+1:], true
		}
	}
	return nil, false
}

// unescapeQuery percent-decodes v into dst ('+' is a space) and returns the
// length.
func unescapeQuery(dst, v []byte) (int, error) {
	n := 0
	for len(v) > 0 {
		j := bytes.IndexByte(v, '%')
		if j < 0 {
			j = len(v)
		}
		if n+j > len(dst) {
			return 0, ErrCMCDTooLong
		}
		run := dst[n : n+j]
		copy(run, v[:j])
		for k := bytes.IndexByte(run, '+'); k >= 0; k = bytes.IndexByte(run, '+') {
			run[k] = ' '
			run = run[k+1:]
		}
		n += j
		v = v[j:]
		if len(v) == 0 {
			break
		}
		if len(v) < 3 {
			return 0, ErrCMCDSyntax
		}
		h, l := unhex(v[1]), unhex(v[2])
		if h < 0 || l < 0 {
			return 0, ErrCMCDSyntax
		}
		if n == len(dst) {
			return 0, ErrCMCDTooLong
		}
		dst[n] = byte(h<<4 | l)
		n++
		v = v[3:]
	}
	return n, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
