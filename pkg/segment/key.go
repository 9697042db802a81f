package segment

import "strings"

// llhlsDirectives are the query parameters that select a different LL-HLS
// response and so belong in the cache key, in this fixed order. Every other
// parameter (tokens, CMCD, cache busters) is stripped.
var llhlsDirectives = [...]string{"_HLS_msn", "_HLS_part", "_HLS_skip"}

// AppendKey appends the cache key of a request to dst: the path, then the
// LL-HLS directives present in rawQuery in fixed order. It does not allocate
// when dst has room, so the serving hot path can reuse a buffer.
func AppendKey(dst []byte, reqPath, rawQuery string) []byte {
	dst = append(dst, reqPath...)
	if rawQuery == "" || !strings.Contains(rawQuery, "_HLS_") {
		return dst
	}
	sep := byte('?')
	for _, name := range llhlsDirectives {
		v, ok := queryValue(rawQuery, name)
		if !ok {
			continue
		}
		dst = append(dst, sep)
		dst = append(dst, name...)
		dst = append(dst, '=')
		dst = append(dst, v...)
		sep = '&'
	}
	return dst
}

// Key is AppendKey into a new string.
func Key(reqPath, rawQuery string) string {
	return string(AppendKey(make([]byte, 0, len(reqPath)+16), reqPath, rawQuery))
}

func queryValue(q, name string) (string, bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}
