package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's own Prometheus metrics, on a registry of its own
// so that several servers (tests) can live in one process.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inflight   prometheus.Gauge
	upBytes    prometheus.Counter
	downBytes  prometheus.Counter
	rejected   *prometheus.CounterVec
	operations *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heron_apiserver_requests_total",
			Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "heron_apiserver_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route.",
			Buckets: []float64{.001, .005, .025, .1, .5, 1, 5, 30, 120},
		}, []string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "heron_apiserver_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		upBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "heron_apiserver_upload_bytes_total",
			Help: "Bytes of files stored by /api/v1/file/upload.",
		}),
		downBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "heron_apiserver_download_bytes_total",
			Help: "Bytes of files sent by the download endpoints.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heron_apiserver_rejected_total",
			Help: "Requests refused before doing anything, by reason (auth, too_large, bad_name, bad_form).",
		}, []string{"reason"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heron_apiserver_operations_total",
			Help: "Topology lifecycle operations, by operation and result (ok or error).",
		}, []string{"operation", "result"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.inflight, m.upBytes, m.downBytes, m.rejected, m.operations,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *metrics) observe(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) op(name string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.operations.WithLabelValues(name, result).Inc()
}
