package ui

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heronkit/heronkit/lib/daemon"
)

// serverMetrics are what /metrics shows about the UI itself: requests by
// kind and status, and the calls it made to the tracker.
type serverMetrics struct {
	requests        *daemon.RequestMetrics // nil without a registry
	trackerRequests *prometheus.CounterVec
	trackerSeconds  prometheus.Histogram
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		requests: daemon.NewRequestMetrics(reg, daemon.RequestMetricsOpts{
			Namespace:    "heron_ui",
			RequestsName: "http_requests_total",
			RequestsHelp: "HTTP requests served, by kind of route and status code.",
			DurationName: "http_request_duration_seconds",
			DurationHelp: "Time to serve HTTP requests, by kind of route.",
		}),
		trackerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "heron_ui", Name: "tracker_requests_total",
			Help: "Requests sent to the tracker, by HTTP status code (\"error\" when it could not be reached).",
		}, []string{"code"}),
		trackerSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "heron_ui", Name: "tracker_request_duration_seconds",
			Help:    "Time until the tracker's response headers arrived.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	if reg != nil {
		reg.MustRegister(m.trackerRequests, m.trackerSeconds)
	}
	return m
}

func (m *serverMetrics) tracker(code string, d time.Duration) {
	m.trackerRequests.WithLabelValues(code).Inc()
	m.trackerSeconds.Observe(d.Seconds())
}
