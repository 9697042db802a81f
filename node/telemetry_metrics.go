package node

import (
	"cmp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/telemetry"
)

// maxTelemetryRows bounds the (event, region, pathway) label sets
// exported: the rows with the most viewers; the rest are counted in
// ringside_telemetry_rows_dropped. Labels are known events, configured
// regions and CDNs (and "mesh", "", "_other"), so the bound is rarely met.
const maxTelemetryRows = 256

// telemetryMetrics are the node's own telemetry counters, and on a node
// with a Merger the mesh-wide figures (a collector: computed per scrape).
type telemetryMetrics struct {
	t          *nodeTelemetry
	sent       *prometheus.CounterVec // deltas sent, by outcome
	applied    *prometheus.CounterVec // deltas received, by outcome
	deltaBytes prometheus.Histogram
	flaps      prometheus.Counter

	viewers, rps, errRate, rebuf, startup, bitrate, startups, dropped, down, series *prometheus.Desc
}

func newTelemetryMetrics(reg prometheus.Registerer, t *nodeTelemetry) *telemetryMetrics {
	m := &telemetryMetrics{t: t,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringside_telemetry_deltas_sent_total",
			Help: "Telemetry deltas sent to steer and control nodes, by outcome (ok, error, skipped: the previous one still on its way)."}, []string{"outcome"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringside_telemetry_deltas_received_total",
			Help: "Telemetry deltas received from other nodes, by outcome (ok, refused)."}, []string{"outcome"}),
		deltaBytes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ringside_telemetry_delta_bytes",
			Help: "Size of this node's encoded deltas, before compression.", Buckets: prometheus.ExponentialBuckets(64, 4, 8)}),
		flaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "ringside_telemetry_qoe_changes_total",
			Help: "Changes of a CDN's viewers' health in a region (down or up again)."}),
	}
	lbl := []string{"event", "region", "pathway"}
	d := func(name, help string, l []string) *prometheus.Desc { return prometheus.NewDesc(name, help, l, nil) }
	m.viewers = d("ringside_telemetry_viewers", "Distinct sessions seen in the last 30 s, mesh-wide (HyperLogLog).", lbl)
	m.rps = d("ringside_telemetry_requests_per_second", "Player requests per second over the last 10 s.", lbl)
	m.errRate = d("ringside_telemetry_error_ratio", "Share of 5xx and failed responses over the last 10 s.", lbl)
	m.rebuf = d("ringside_telemetry_rebuffer_ratio", "Media requests flagged buffer starvation (CMCD bs) over those with CMCD, last 60 s.", lbl)
	m.startup = d("ringside_telemetry_startup_seconds", "Startup time over the last 60 s, by quantile (0.5, 0.9).", append(lbl, "quantile"))
	m.startups = d("ringside_telemetry_startups", "Startups in the last 60 s.", lbl)
	m.bitrate = d("ringside_telemetry_bitrate_kbps", "Average encoded bitrate of media requests (CMCD br) over the last 10 s.", lbl)
	m.dropped = d("ringside_telemetry_rows_dropped", "Label sets not exported (beyond the bound of 256).", nil)
	m.down = d("ringside_telemetry_qoe_down", "1 when a pathway is down in a region by the viewers' telemetry.", []string{"pathway", "region"})
	m.series = d("ringside_telemetry_recorder_series", "Series this node's recorder holds.", nil)
	for _, o := range []string{"ok", "error", "skipped"} {
		m.sent.WithLabelValues(o) // every outcome from the start, at 0
	}
	m.applied.WithLabelValues("ok")
	m.applied.WithLabelValues("refused")
	reg.MustRegister(m.sent, m.applied, m.deltaBytes, m.flaps, m)
	return m
}

func (m *telemetryMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.viewers, m.rps, m.errRate, m.rebuf, m.startup, m.startups, m.bitrate, m.dropped, m.down, m.series} {
		ch <- d
	}
}

func (m *telemetryMetrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	gauge(m.series, float64(m.t.rec.Series()))
	if m.t.merger == nil {
		return
	}
	rows := m.t.merger.View(telemetry.Query{By: telemetry.ByEvent | telemetry.ByRegion | telemetry.ByPathway})
	dropped := 0
	if len(rows) > maxTelemetryRows {
		slices.SortFunc(rows, func(a, b telemetry.Row) int { return cmp.Compare(b.Viewers, a.Viewers) })
		dropped, rows = len(rows)-maxTelemetryRows, rows[:maxTelemetryRows]
	}
	gauge(m.dropped, float64(dropped))
	for _, r := range rows {
		l := []string{r.Event, r.Region, r.Pathway}
		gauge(m.viewers, float64(r.Viewers), l...)
		gauge(m.rps, r.Short.RequestsPerSecond, l...)
		gauge(m.errRate, r.Short.ErrorRate, l...)
		gauge(m.rebuf, r.Long.RebufferRatio, l...)
		gauge(m.startups, float64(r.Long.Startups), l...)
		gauge(m.bitrate, r.Short.BitrateKbps, l...)
		if r.Long.Startups > 0 {
			gauge(m.startup, r.Long.StartupP50Ms/1000, append(l, "0.5")...)
			gauge(m.startup, r.Long.StartupP90Ms/1000, append(l, "0.9")...)
		}
	}
	if m.t.health != nil {
		for _, st := range m.t.health.Status() {
			v := 0.0
			if st.Down {
				v = 1
			}
			gauge(m.down, v, st.Pathway, st.Region)
		}
	}
}

var _ prometheus.Collector = (*telemetryMetrics)(nil)
