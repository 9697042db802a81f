package shield

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	outcome        [4]prometheus.Counter
	fetches        prometheus.Counter
	upstreamErrors prometheus.Counter
	regressions    prometheus.Counter
	bytesIn        prometheus.Counter
	fills          prometheus.Counter
	pushWakes      prometheus.Counter
	refreshes      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Shield) *metrics {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ringside_cache_requests_total", Help: "Cache lookups by outcome (HIT, MISS, COALESCED, STALE).",
	}, []string{"outcome"})
	m := &metrics{
		fetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_upstream_fetches_total", Help: "Upstream fetches started (one per coalesced miss).",
		}),
		upstreamErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_upstream_errors_total", Help: "Upstream fetches that failed (errors, 5xx, broken bodies).",
		}),
		regressions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_playlist_regressions_total", Help: "Upstream playlists refused for going back in media sequence.",
		}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_upstream_bytes_total", Help: "Body bytes received from upstream.",
		}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_playlist_refreshes_total", Help: "Playlists refetched ahead of expiry while the fresh copy was served.",
		}),
		fills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_cache_push_fills_total", Help: "Objects pushed into this tier by ingest nodes.",
		}),
		pushWakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_ll_push_wakes_total", Help: "Parked blocking playlist fetches answered by the ingest's push, without an upstream request.",
		}),
	}
	for i := range m.outcome {
		m.outcome[i] = outcomes.WithLabelValues(Outcome(i).String())
	}
	if reg != nil {
		reg.MustRegister(outcomes, m.fills, m.pushWakes, m.refreshes, m.fetches, m.upstreamErrors, m.regressions, m.bytesIn,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ringside_cache_bytes", Help: "Bytes held by the cache tier.",
			}, func() float64 { return float64(s.cache.Bytes()) }))
	}
	return m
}
