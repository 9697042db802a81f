package telemetry

import "bytes"

// StripQuery returns rawQuery without its CMCD parameters, so that CMCD
// never enters a cache key. A query without CMCD is returned as it is,
// without allocating; otherwise the result is a new slice and rawQuery is
// left untouched.
func StripQuery(rawQuery []byte) []byte {
	if !hasCMCD(rawQuery) {
		return rawQuery
	}
	return AppendStripped(make([]byte, 0, len(rawQuery)), rawQuery)
}

// AppendStripped appends rawQuery without its CMCD parameters to dst: the
// allocation-free form of StripQuery for a caller that reuses dst.
// Parameters are separated by '&' (a ';' is part of a value, as in net/url).
func AppendStripped(dst, rawQuery []byte) []byte {
	first := true
	q := rawQuery
	for len(q) > 0 {
		var p []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			p, q = q[:i], q[i+1:]
		} else {
			p, q = q, nil
		}
		if isCMCDParam(p) {
			continue
		}
		if !first {
			dst = append(dst, '&')
		}
		dst = append(dst, p...)
		first = false
	}
	return dst
}

func hasCMCD(q []byte) bool {
	for len(q) > 0 {
		i := bytes.IndexByte(q, '&')
		var p []byte
		if i >= 0 {
			p, q = q[:i], q[i+1:]
		} else {
			p, q = q, nil
		}
		if isCMCDParam(p) {
			return true
		}
	}
	return false
}

// isCMCDParam reports whether the parameter is CMCD (the name is case
// sensitive in CTA-5004, but a cache key must not depend on a player's
// spelling, so any case is stripped).
func isCMCDParam(p []byte) bool {
	if len(p) < 4 || len(p) > 4 && p[4] != '=' {
		return false
	}
	return p[0]|0x20 == 'c' && p[1]|0x20 == 'm' && p[2]|0x20 == 'c' && p[3]|0x20 == 'd'
}
