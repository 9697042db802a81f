package telemetry

import "time"

// Counters of a series, per second: the unit of every delta and of the
// Merger's rings. Sums of durations and bitrates let averages merge
// exactly across nodes.
const (
	cRequests    = iota // responses
	cBytes              // bytes sent
	cDurationUs         // sum of response durations, µs (throughput = bytes / duration)
	cTTFBUs             // sum of times to first byte, µs
	c2xx                // responses by status class
	c3xx                //
	c4xx                //
	c5xx                //
	cFailed             // no status: timeouts, resets, aborted transfers
	cMedia              // media object requests (ot a, v, av or none)
	cRebuffers          // media requests flagged bs (buffer starvation)
	cStallMs            // sum of reported starvation durations (v2 bsd), ms
	cPlayedMs           // sum of the durations (d) of media objects, ms
	cStartups           // startups (see Recorder.Record)
	cBitrateKbps        // sum of encoded bitrates (br) of media requests
	cBitrateN           // media requests that carried br
	cMTPKbps            // sum of client-measured throughputs (mtp)
	cMTPN               // requests that carried mtp
	cCMCD               // requests that carried CMCD
	cCMCDInvalid        // requests whose CMCD did not parse
	numCounters
)

// counterNames name the counters in the README and in test failures.
var counterNames = [numCounters]string{
	"requests", "bytes", "duration_us", "ttfb_us", "2xx", "3xx", "4xx", "5xx", "failed",
	"media", "rebuffers", "stall_ms", "played_ms", "startups", "bitrate_kbps", "bitrate_n",
	"mtp_kbps", "mtp_n", "cmcd", "cmcd_invalid",
}

// Startup-time histogram: upper bounds of the buckets, in milliseconds;
// the last bucket is unbounded.
var startupBounds = [...]int64{100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 8000, 12000}

const numBuckets = len(startupBounds) + 1

func startupBucket(ms int64) int {
	for i, b := range startupBounds {
		if ms <= b {
			return i
		}
	}
	return numBuckets - 1
}

// quantile estimates the q-quantile (0 < q < 1) of a startup histogram,
// interpolating linearly inside a bucket; the unbounded bucket reports its
// lower bound. Zero when the histogram is empty.
func quantile(h *[numBuckets]uint64, q float64) time.Duration {
	var total uint64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range h {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo := int64(0)
			if i > 0 {
				lo = startupBounds[i-1]
			}
			if i == numBuckets-1 {
				return time.Duration(lo) * time.Millisecond
			}
			hi := startupBounds[i]
			frac := (rank - seen) / float64(n)
			return time.Duration(float64(lo)+frac*float64(hi-lo)) * time.Millisecond
		}
		seen += float64(n)
	}
	return time.Duration(startupBounds[len(startupBounds)-1]) * time.Millisecond
}
