package segment

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// ParseXSDuration parses an xs:duration as MPDs use it ("PT2S",
// "PT0.5S", "P1DT1H", "-PT1S"). A year counts 365 days and a month 30, as
// dash.js counts them; digits past nanoseconds are dropped. Durations
// beyond time.Duration's range are an error.
func ParseXSDuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) { return 0, fmt.Errorf("bad xs:duration %q", clipText([]byte(s))) }
	v := strings.Trim(s, " \t\r\n")
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	if !strings.HasPrefix(v, "P") {
		return bad()
	}
	v = v[1:]
	const day = 24 * time.Hour
	units := [...]struct {
		unit   byte
		inTime bool
		d      time.Duration
	}{{'Y', false, 365 * day}, {'M', false, 30 * day}, {'D', false, day}, {'H', true, time.Hour}, {'M', true, time.Minute}, {'S', true, time.Second}}
	var total time.Duration
	next, inTime, parts, timeParts := 0, false, 0, 0
	for v != "" {
		if v[0] == 'T' {
			if inTime {
				return bad()
			}
			inTime, v = true, v[1:]
			continue
		}
		n := 0
		for n < len(v) && (v[n] >= '0' && v[n] <= '9' || v[n] == '.') {
			n++
		}
		if n == 0 || n == len(v) {
			return bad()
		}
		num, unit := v[:n], v[n]
		v = v[n+1:]
		i := next
		for i < len(units) && (units[i].unit != unit || units[i].inTime != inTime) {
			i++
		}
		if i == len(units) {
			return bad()
		}
		next = i + 1
		whole, frac, hasFrac := strings.Cut(num, ".")
		if !isDigits(whole) || hasFrac && (unit != 'S' || !isDigits(frac)) {
			return bad()
		}
		w, err := strconv.ParseUint(whole, 10, 63)
		if err != nil || w > uint64(math.MaxInt64/units[i].d) {
			return bad()
		}
		d := time.Duration(w) * units[i].d
		if hasFrac {
			ns := 0
			for j := range 9 {
				ns *= 10
				if j < len(frac) {
					ns += int(frac[j] - '0')
				}
			}
			d += time.Duration(ns)
		}
		if total > math.MaxInt64-d {
			return bad()
		}
		total += d
		parts++
		if inTime {
			timeParts++
		}
	}
	if parts == 0 || inTime && timeParts == 0 {
		return bad()
	}
	if neg {
		total = -total
	}
	return total, nil
}

// FormatXSDuration writes d as an xs:duration in seconds ("PT2S",
// "PT0.5S", "-PT1.25S").
func FormatXSDuration(d time.Duration) string {
	sign := ""
	u := uint64(d)
	if d < 0 {
		sign, u = "-", uint64(-d) // -MinInt64 wraps to its own magnitude as uint64
	}
	secs := strconv.FormatUint(u/1e9, 10)
	if ns := u % 1e9; ns != 0 {
		secs += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return sign + "PT" + secs + "S"
}

// ParseXSDateTime parses an xs:dateTime as MPDs use it
// ("2026-11-23T14:17:03.404Z"). Without a time zone it is taken as UTC,
// as dash.js takes it. The result is in UTC.
func ParseXSDateTime(s string) (time.Time, error) {
	v := strings.Trim(s, " \t\r\n")
	if t, ok := parseDateTime(v); ok {
		return t, nil
	}
	if t, ok := parseDateTime(v + "Z"); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", clipText([]byte(s)))
}

// UnitsDuration converts n units of 1/timescale seconds to a duration
// exactly (no float rounding); false when the timescale is 0 or the
// result does not fit.
func UnitsDuration(n, timescale uint64) (time.Duration, bool) {
	if timescale == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(n, uint64(time.Second))
	if hi >= timescale {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, timescale)
	if q > math.MaxInt64 {
		return 0, false
	}
	return time.Duration(q), true
}

// secondsToDuration converts seconds (finite, possibly negative) to a
// duration.
func secondsToDuration(f float64) (time.Duration, bool) {
	ns := f * 1e9
	if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return 0, false
	}
	return time.Duration(math.Round(ns)), true
}
