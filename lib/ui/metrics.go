package ui

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are what /metrics shows about the UI itself: requests by
// kind and status, and the calls it made to the tracker.
type serverMetrics struct {
	requests        *prometheus.CounterVec
	requestSeconds  *prometheus.HistogramVec
	trackerRequests *prometheus.CounterVec
	trackerSeconds  prometheus.Histogram
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "heron_ui", Name: "http_requests_total",
			Help: "HTTP requests served, by kind of route and status code.",
		}, []string{"route", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "heron_ui", Name: "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by kind of route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
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
		reg.MustRegister(m.requests, m.requestSeconds, m.trackerRequests, m.trackerSeconds)
	}
	return m
}

func (m *serverMetrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.requestSeconds.WithLabelValues(route).Observe(d.Seconds())
}

func (m *serverMetrics) tracker(code string, d time.Duration) {
	m.trackerRequests.WithLabelValues(code).Inc()
	m.trackerSeconds.Observe(d.Seconds())
}
