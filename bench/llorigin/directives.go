package llorigin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// directives are the LL-HLS delivery directives of a media playlist
// request (RFC 8216bis 6.2.5.2).
type directives struct {
	msn, part int64 // -1: absent
	skip      bool  // _HLS_skip=YES or v2
}

// errDirective: malformed delivery directives, answered 400.
var errDirective = errors.New("llorigin: bad delivery directive")

// parseDirectives reads _HLS_msn, _HLS_part and _HLS_skip from a raw
// query; other parameters are ignored. A value that is not a decimal
// integer, a parameter given twice, or _HLS_part without _HLS_msn is
// errDirective.
func parseDirectives(rawQuery string) (directives, error) {
	d := directives{msn: -1, part: -1}
	seen := map[string]bool{}
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "_HLS_msn", "_HLS_part", "_HLS_skip":
		default:
			continue
		}
		if seen[k] {
			return d, fmt.Errorf("%w: %s given twice", errDirective, k)
		}
		seen[k] = true
		if k == "_HLS_skip" {
			if v != "YES" && v != "v2" {
				return d, fmt.Errorf("%w: _HLS_skip=%q", errDirective, v)
			}
			d.skip = true
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 1<<53 || v[0] == '+' {
			return d, fmt.Errorf("%w: %s=%q", errDirective, k, v)
		}
		if k == "_HLS_msn" {
			d.msn = n
		} else {
			d.part = n
		}
	}
	if d.part >= 0 && d.msn < 0 {
		return d, fmt.Errorf("%w: _HLS_part without _HLS_msn", errDirective)
	}
	return d, nil
}
