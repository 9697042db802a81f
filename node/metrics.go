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
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_http_requests_total", Help: "Player-facing /live responses by status code.",
		}, []string{"code"}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_http_body_bytes_total", Help: "Body bytes of complete /live responses.",
		}),
	}
	reg.MustRegister(m.vec, m.bytesOut)
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
