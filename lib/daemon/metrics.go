package daemon

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry of its own (several daemons can live in
// one test process) holding the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg for Prometheus to scrape.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Healthz answers "ok" while check (nil: none) returns nil, else 503 with
// the error's text, as plain text for supervisors and people alike.
func Healthz(check func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if check != nil {
			if err := check(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// RequestMetricsOpts names the request metrics; the daemons' names differ
// and dashboards use them, so each keeps its own.
type RequestMetricsOpts struct {
	// Namespace prefixes every name, e.g. "heron_tracker".
	Namespace string
	// RequestsName is the counter by route (and method) and code
	// (default "requests_total").
	RequestsName, RequestsHelp string
	// DurationName is the latency histogram by route (default
	// "request_duration_seconds").
	DurationName, DurationHelp string
	// RouteLabel names the route label (default "route").
	RouteLabel string
	// Method adds a "method" label to the counter.
	Method bool
	// Buckets of the histogram (default prometheus.DefBuckets).
	Buckets []float64
	// InFlightName, when set, adds a gauge of requests being answered.
	InFlightName, InFlightHelp string
}

// RequestMetrics counts requests and their latency. A nil *RequestMetrics
// keeps nothing, for handlers built without a registry.
type RequestMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	method   bool
}

// NewRequestMetrics registers the metrics on reg; a nil reg gives nil.
func NewRequestMetrics(reg prometheus.Registerer, o RequestMetricsOpts) *RequestMetrics {
	if reg == nil {
		return nil
	}
	if o.RequestsName == "" {
		o.RequestsName = "requests_total"
	}
	if o.DurationName == "" {
		o.DurationName = "request_duration_seconds"
	}
	if o.RouteLabel == "" {
		o.RouteLabel = "route"
	}
	if o.Buckets == nil {
		o.Buckets = prometheus.DefBuckets
	}
	labels := []string{o.RouteLabel, "code"}
	if o.Method {
		labels = []string{o.RouteLabel, "method", "code"}
	}
	m := &RequestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: o.Namespace, Name: o.RequestsName, Help: o.RequestsHelp,
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: o.Namespace, Name: o.DurationName, Help: o.DurationHelp, Buckets: o.Buckets,
		}, []string{o.RouteLabel}),
		method: o.Method,
	}
	reg.MustRegister(m.requests, m.duration)
	if o.InFlightName != "" {
		m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: o.Namespace, Name: o.InFlightName, Help: o.InFlightHelp})
		reg.MustRegister(m.inflight)
	}
	return m
}

// Observe records one answered request.
func (m *RequestMetrics) Observe(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if m.method {
		m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	} else {
		m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	}
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Begin counts a request in flight until the returned func is called.
func (m *RequestMetrics) Begin() (end func()) {
	if m == nil || m.inflight == nil {
		return func() {}
	}
	m.inflight.Inc()
	return m.inflight.Dec
}

// commonCodes get their counters looked up once per route, not per request.
var commonCodes = []int{200, 400, 404, 422, 500, 502, 503}

// Handler measures h under a fixed route label.
func (m *RequestMetrics) Handler(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	if m.method {
		return m.RouteFunc(func(*http.Request) string { return route }, h)
	}
	hist := m.duration.WithLabelValues(route)
	counters := make(map[int]prometheus.Counter, len(commonCodes))
	for _, c := range commonCodes {
		counters[c] = m.requests.WithLabelValues(route, strconv.Itoa(c))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer m.Begin()()
		start := time.Now()
		rec := NewRecorder(w)
		h.ServeHTTP(rec, r)
		hist.Observe(time.Since(start).Seconds())
		c, ok := counters[rec.Status()]
		if !ok {
			c = m.requests.WithLabelValues(route, strconv.Itoa(rec.Status()))
		}
		c.Inc()
	})
}

// RouteFunc measures h under the route label routeOf gives, asked once h
// has answered (so it sees the request as h left it).
func (m *RequestMetrics) RouteFunc(routeOf func(*http.Request) string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer m.Begin()()
		start := time.Now()
		rec := NewRecorder(w)
		h.ServeHTTP(rec, r)
		m.Observe(routeOf(r), r.Method, rec.Status(), time.Since(start))
	})
}

// Recorder remembers a response's status and counts its body bytes. It
// passes on Flush (streamed logs), Hijack, io.ReaderFrom (sendfile for
// downloads) and Unwrap (http.ResponseController).
type Recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

// NewRecorder wraps w.
func NewRecorder(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// Status is the status sent, 200 when the handler set none.
func (w *Recorder) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Bytes is the number of body bytes written.
func (w *Recorder) Bytes() int64 { return w.n }

func (w *Recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *Recorder) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.n += n
	return n, err
}

func (w *Recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *Recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}
