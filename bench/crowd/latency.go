package crowd

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Latency summarises the time to first byte of one kind of request:
// from sending the request until the headers and the first body byte
// arrived. Errors are requests that failed or got a status other than 200;
// their times are not in the percentiles.
type Latency struct {
	Count  int64   `json:"count"`
	Errors int64   `json:"errors"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
	MeanMS float64 `json:"mean_ms"`
}

// recorder collects samples of one kind. It is safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	samples []time.Duration
	errors  int64
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
}

func (r *recorder) addError() {
	r.mu.Lock()
	r.errors++
	r.mu.Unlock()
}

// summary sorts the samples and returns their percentiles.
func (r *recorder) summary() Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Summarize(r.samples, r.errors)
}

// Summarize sorts samples in place and returns their percentiles, with
// errors more requests that failed.
func Summarize(samples []time.Duration, errors int64) Latency {
	l := Latency{Count: int64(len(samples)) + errors, Errors: errors}
	if len(samples) == 0 {
		return l
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	l.P50MS = ms(percentile(samples, 0.50))
	l.P95MS = ms(percentile(samples, 0.95))
	l.P99MS = ms(percentile(samples, 0.99))
	l.MaxMS = ms(samples[len(samples)-1])
	l.MeanMS = ms(sum / time.Duration(len(samples)))
	return l
}

// percentile returns the nearest-rank q-quantile of sorted, non-empty s.
func percentile(s []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// ms converts d to milliseconds rounded to microseconds.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
