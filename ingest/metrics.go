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

	// Low latency (lowlatency.go).
	parts     prometheus.Counter
	partDelay prometheus.Histogram
	parked    prometheus.Gauge
	held      prometheus.Gauge
	wake      prometheus.Histogram
	llErrors  prometheus.Counter
	llSlivers prometheus.Counter

	// Redundant feeds (output.go, failover.go).
	outputSegments prometheus.Counter
	feedSwitches   prometheus.Counter

	// DVR (dvr.go).
	dvrSegments prometheus.Counter
	dvrErrors   prometheus.Counter
	dvrDropped  prometheus.Counter
	// dvrMirrorErrors: segments the shield owners did not take.
	dvrMirrorErrors prometheus.Counter
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
		parts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_ingest_ll_parts_total", Help: "LL-HLS parts published (CMAF fragments of low-latency pushes).",
		}),
		partDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ringside_ingest_ll_part_publish_seconds", Help: "From reading a part's last byte to the part being listed.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}),
		parked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringside_ingest_ll_parked_requests", Help: "Blocking playlist requests (_HLS_msn) waiting for their part.",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringside_ingest_held_requests", Help: "Requests held for a file about to exist: a hinted part, a DASH segment before its availability time.",
		}),
		wake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ringside_ingest_ll_wake_seconds", Help: "From a part being listed to a parked blocking request having its playlist.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}),
		llErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_ingest_ll_errors_total", Help: "Segments of low-latency pushes that could not (all) be made into parts.",
		}),
		llSlivers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_ingest_ll_short_last_parts_total",
			Help: "LL-HLS segments whose last part is under a fifth of the part target (the encoder's fragment duration does not suit its segments; hls.js can stall on such parts).",
		}),
		outputSegments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_output_segments_total", Help: "Segments of redundant events' output timelines this node committed and published.",
		}),
		feedSwitches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_feed_switches_total", Help: "Switches of the active feed this node asked the control plane for (and got).",
		}),
		dvrSegments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_dvr_segments_total", Help: "Segments written to the DVR store.",
		}),
		dvrErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_dvr_errors_total", Help: "Segments the DVR store refused or could not write (full, disk errors).",
		}),
		dvrMirrorErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_dvr_mirror_errors_total", Help: "DVR segments not copied to every shield owner.",
		}),
		dvrDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ringside_dvr_dropped_total", Help: "Segments not written to the DVR store because its queue was full (the disk is too slow).",
		}),
	}
	for _, r := range []string{reasonUnauthorized, reasonNoEvent, reasonBadPath, reasonTooLarge,
		reasonStoreFull, reasonPlaylist, reasonAborted, reasonConflict} {
		m.rejected.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.uploads, m.bytes, m.rejected, m.published, m.deletes,
			m.parts, m.partDelay, m.parked, m.held, m.wake, m.llErrors, m.llSlivers, m.outputSegments, m.feedSwitches,
			m.dvrSegments, m.dvrErrors, m.dvrDropped, m.dvrMirrorErrors,
			feedCollector{o},
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

// feedCollector exports the health of every feed this node receives:
// ringside_feed_up{event,feed} (1 healthy, 0 not) and
// ringside_feed_segment_age_seconds{event,feed}; bounded by the events.
type feedCollector struct{ o *Origin }

var (
	feedUpDesc = prometheus.NewDesc("ringside_feed_up",
		"1 when the feed delivers segments on time into this node, 0 when it stalled or never started.", []string{"event", "feed"}, nil)
	feedAgeDesc = prometheus.NewDesc("ringside_feed_segment_age_seconds",
		"Seconds since the feed last delivered a segment into this node.", []string{"event", "feed"}, nil)
	feedPublishingDesc = prometheus.NewDesc("ringside_feed_publishing",
		"1 when this node publishes the event's output from this feed.", []string{"event", "feed"}, nil)
)

func (c feedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- feedUpDesc
	ch <- feedAgeDesc
	ch <- feedPublishingDesc
}

func (c feedCollector) Collect(ch chan<- prometheus.Metric) {
	c.o.mu.RLock()
	outs := make([]*output, 0, len(c.o.outputs))
	for _, out := range c.o.outputs {
		outs = append(outs, out)
	}
	c.o.mu.RUnlock()
	for _, out := range outs {
		for _, st := range out.feedStatus() {
			up, pub := 0.0, 0.0
			if st.Healthy {
				up = 1
			}
			if st.Publishing {
				pub = 1
			}
			ch <- prometheus.MustNewConstMetric(feedUpDesc, prometheus.GaugeValue, up, st.Event, st.Feed)
			ch <- prometheus.MustNewConstMetric(feedPublishingDesc, prometheus.GaugeValue, pub, st.Event, st.Feed)
			if st.Receiving {
				ch <- prometheus.MustNewConstMetric(feedAgeDesc, prometheus.GaugeValue, st.SegmentAge.Seconds(), st.Event, st.Feed)
			}
		}
	}
}
