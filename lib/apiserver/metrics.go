package apiserver

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heronkit/heronkit/lib/daemon"
)

// metrics are the server's own Prometheus metrics, on a registry of its own
// so that several servers (tests) can live in one process.
type metrics struct {
	reg        *prometheus.Registry
	requests   *daemon.RequestMetrics
	upBytes    prometheus.Counter
	downBytes  prometheus.Counter
	rejected   *prometheus.CounterVec
	operations *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: daemon.NewRegistry(),
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
	m.requests = daemon.NewRequestMetrics(m.reg, daemon.RequestMetricsOpts{
		Namespace:    "heron_apiserver",
		RequestsHelp: "HTTP requests answered, by route, method and status code.",
		DurationHelp: "Time to answer an HTTP request, by route.",
		Method:       true,
		Buckets:      []float64{.001, .005, .025, .1, .5, 1, 5, 30, 120},
		InFlightName: "requests_in_flight",
		InFlightHelp: "HTTP requests being answered.",
	})
	m.reg.MustRegister(m.upBytes, m.downBytes, m.rejected, m.operations)
	return m
}

func (m *metrics) handler() http.Handler { return daemon.MetricsHandler(m.reg) }

func (m *metrics) op(name string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.operations.WithLabelValues(name, result).Inc()
}
