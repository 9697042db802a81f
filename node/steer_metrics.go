package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/steering"
)

// steerMetrics counts decisions by output and outcome and the steering
// requests shed, and exports the engine's sessions and every CDN's health
// at scrape time.
type steerMetrics struct {
	decisions *prometheus.CounterVec
	shed      *prometheus.CounterVec
}

func newSteerMetrics(reg prometheus.Registerer, s *steer) *steerMetrics {
	m := &steerMetrics{decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ringside_steering_decisions_total",
		Help: "Steering decisions by output (dns, play, redirect, manifest, steered) and outcome (the first pathway's kind, or blocked).",
	}, []string{"output", "outcome"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_steering_shed_total",
			Help: "Steering manifest requests answered 429, by the budget exceeded: client (the requester's network) or node.",
		}, []string{"scope"})}
	reg.MustRegister(m.decisions, m.shed, steerCollector{s})
	return m
}

func (m *steerMetrics) count(output string, d steering.Decision) {
	outcome := "blocked"
	if !d.Blocked && len(d.Pathways) > 0 {
		outcome = d.Pathways[0].Kind
	}
	m.decisions.WithLabelValues(output, outcome).Inc()
}

var (
	descSessions = prometheus.NewDesc("ringside_steering_sessions", "Sticky sessions per pathway.", []string{"pathway"}, nil)
	descCDNUp    = prometheus.NewDesc("ringside_steering_cdn_up", "1 when steering considers the CDN healthy.", []string{"cdn"}, nil)
	descCDNFlaps = prometheus.NewDesc("ringside_steering_cdn_flaps", "Health state changes of the CDN since start.", []string{"cdn"}, nil)
	descOverCap  = prometheus.NewDesc("ringside_steering_sessions_over_network_cap_total",
		"New sessions steered but not remembered (not sticky, not counted against capacity) because their client network already held its share.", nil, nil)
)

// steerCollector reads the engine and the health tracker when scraped.
type steerCollector struct{ s *steer }

func (c steerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSessions
	ch <- descCDNUp
	ch <- descCDNFlaps
	ch <- descOverCap
}

func (c steerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.eng.Stats()
	for id, n := range st.PerPathway {
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(n), id)
	}
	ch <- prometheus.MustNewConstMetric(descOverCap, prometheus.CounterValue, float64(st.OverNetworkCap))
	for _, h := range c.s.health.Status() {
		up := 0.0
		if h.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descCDNUp, prometheus.GaugeValue, up, h.ID)
		ch <- prometheus.MustNewConstMetric(descCDNFlaps, prometheus.CounterValue, float64(h.Flaps), h.ID)
	}
}

var _ prometheus.Collector = steerCollector{}
