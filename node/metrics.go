package node

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics counts player-facing responses by status without a label
// lookup per request: each code's counter is resolved on first use.
type httpMetrics struct {
	vec      *prometheus.CounterVec
	byStatus [600]atomic.Pointer[prometheus.Counter]
	bytesOut prometheus.Counter
	// parked counts blocking playlist requests (LL-HLS directives) this
	// node holds for an upstream answer (the ingest's own are counted by
	// ringside_ingest_ll_parked_requests).
	parked prometheus.Gauge
	// panics counts requests whose handler panicked (answered 500).
	panics prometheus.Counter
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_http_requests_total", Help: "Player-facing /live responses by status code.",
		}, []string{"code"}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_http_body_bytes_total", Help: "Body bytes of complete /live responses.",
		}),
		parked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringside_ll_parked_requests", Help: "Blocking LL-HLS playlist requests held for an upstream answer (edge and shield tiers).",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_http_handler_panics_total", Help: "Requests whose handler panicked: answered 500, the stack logged (a bug to report).",
		}),
	}
	reg.MustRegister(m.vec, m.bytesOut, m.parked, m.panics)
	return m
}

func (m *httpMetrics) status(code int) {
	if code < 100 || code >= 600 {
		code = 599
	}
	c := m.byStatus[code].Load()
	if c == nil {
		cc := m.vec.WithLabelValues(strconv.Itoa(code))
		m.byStatus[code].CompareAndSwap(nil, &cc)
		c = m.byStatus[code].Load()
	}
	(*c).Inc()
}

// registerListenerMetrics exports, per listener, the open connections,
// the connections closed for their address's share and the accepts that
// failed for lack of descriptors (each then backed off).
func (n *running) registerListenerMetrics() {
	for name, l := range map[string]*trackingListener{"http": n.lis.http, "https": n.lis.https, "mesh": n.lis.mesh, "admin": n.lis.admin} {
		if l == nil {
			continue
		}
		labels := prometheus.Labels{"listener": name}
		n.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ringside_open_connections", ConstLabels: labels,
				Help: "Connections open on a listener."}, func() float64 { return float64(l.open()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ringside_connections_refused_total", ConstLabels: labels,
				Help: "Connections closed at once because their client address had its share (http.max_conns_per_ip)."},
				func() float64 { return float64(l.refused.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ringside_accept_errors_total", ConstLabels: labels,
				Help: "Accepts that failed for lack of descriptors or memory; the listener backed off and went on."},
				func() float64 { return float64(l.acceptErrors.Load()) }))
	}
}
