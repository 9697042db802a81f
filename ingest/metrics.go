package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	uploads   *prometheus.CounterVec
	bytes     prometheus.Counter
	rejected  *prometheus.CounterVec
	published *prometheus.CounterVec
	deletes   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, o *Origin) *metrics {
	m := &metrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_ingest_uploads_total", Help: "Uploads accepted, by file kind.",
		}, []string{"kind"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_ingest_bytes_total", Help: "Body bytes of accepted uploads.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_ingest_rejected_total", Help: "Uploads rejected, by reason.",
		}, []string{"reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_ingest_playlists_published_total", Help: "Playlists validated and published, by type.",
		}, []string{"type"}),
		deletes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_ingest_deletes_total", Help: "Files removed by encoder DELETEs.",
		}),
	}
	for _, r := range []string{reasonUnauthorized, reasonNoEvent, reasonBadPath, reasonTooLarge,
		reasonStoreFull, reasonPlaylist, reasonAborted, reasonConflict} {
		m.rejected.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.uploads, m.bytes, m.rejected, m.published, m.deletes,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ringside_ingest_live_bytes", Help: "Bytes held in live windows and pending uploads.",
			}, func() float64 { return float64(o.store.used.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ringside_ingest_retired_bytes", Help: "Bytes of segments that left the live window, still cached.",
			}, func() float64 { return float64(o.store.retiredBytes()) }),
		)
	}
	return m
}
