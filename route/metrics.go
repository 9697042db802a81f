package route

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	fetches *prometheus.CounterVec // by tier and result
	fills   *prometheus.CounterVec // by result
	resumes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_upstream_requests_total",
			Help: "Requests to the next tier up, by tier (shield, ingest, origin) and result (ok, error).",
		}, []string{"tier", "result"}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_push_fills_total", Help: "Segments pushed to shield owners before publication, by result.",
		}, []string{"result"}),
		resumes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_upstream_resumes_total", Help: "Broken upstream bodies resumed with a Range request.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.fetches, m.fills, m.resumes)
	}
	return m
}

func (m *metrics) count(tier string, ok bool) {
	m.fetches.WithLabelValues(tier, resultLabel(ok)).Inc()
}

func resultLabel(ok bool) string {
	if ok {
		return "ok"
	}
	return "error"
}
