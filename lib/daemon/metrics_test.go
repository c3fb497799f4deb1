package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}

// series counts what c exposes.
func series(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	return len(ch)
}

// serve runs h on a real 127.0.0.1 port for the test and returns its base URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	t.Setenv("NOTIFY_SOCKET", "")
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{Handler: h}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string, method ...string) (int, string) {
	t.Helper()
	m := http.MethodGet
	if len(method) > 0 {
		m = method[0]
	}
	req, _ := http.NewRequest(m, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRequestMetrics(t *testing.T) {
	reg := NewRegistry()
	m := NewRequestMetrics(reg, RequestMetricsOpts{
		Namespace: "heron_test", RequestsHelp: "Requests.", DurationHelp: "Latency.", RouteLabel: "endpoint",
	})
	down := errors.New("state managers unavailable:\nzk: connection refused")
	var health error
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(reg))
	mux.Handle("/healthz", m.Handler("healthz", Healthz(func() error { return health })))
	mux.Handle("/teapot", m.Handler("teapot", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	// A handler that only writes gets 200; bytes are counted.
	mux.Handle("/body", m.Handler("body", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})))
	base := serve(t, mux)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthy: %d %q", code, body)
	}
	health = down
	if code, body := get(t, base+"/healthz"); code != 503 || body != down.Error()+"\n" {
		t.Errorf("unhealthy: %d %q", code, body)
	}
	get(t, base+"/teapot")
	get(t, base+"/teapot")
	if code, body := get(t, base+"/body"); code != 200 || body != "hello" {
		t.Errorf("body: %d %q", code, body)
	}
	_, text := get(t, base+"/metrics")
	for _, want := range []string{
		`# HELP heron_test_requests_total Requests.`,
		`heron_test_requests_total{code="200",endpoint="healthz"} 1`,
		`heron_test_requests_total{code="503",endpoint="healthz"} 1`,
		`heron_test_requests_total{code="418",endpoint="teapot"} 2`,
		`heron_test_requests_total{code="200",endpoint="body"} 1`,
		`heron_test_request_duration_seconds_count{endpoint="teapot"} 2`,
		`heron_test_request_duration_seconds_bucket{endpoint="body",le="+Inf"} 1`,
		"go_goroutines", "process_open_fds",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Counters of common codes exist from the start, at zero.
	if !strings.Contains(text, `heron_test_requests_total{code="404",endpoint="body"} 0`) {
		t.Error("pre-made counter for 404 missing")
	}
}

// With a method label, a route computed per request and an in-flight gauge
// (the API server's set).
func TestRequestMetricsRouteFuncAndMethod(t *testing.T) {
	reg := NewRegistry()
	m := NewRequestMetrics(reg, RequestMetricsOpts{
		Namespace: "heron_test", Method: true, Buckets: []float64{1, 10},
		InFlightName: "requests_in_flight", InFlightHelp: "In flight.",
	})
	during := make(chan float64, 3)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		during <- value(t, m.inflight)
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/base") // as a base-URL strip would
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	})
	base := serve(t, m.RouteFunc(func(r *http.Request) string { return strings.Trim(r.URL.Path, "/") }, inner))
	get(t, base+"/base/a")
	get(t, base+"/a", http.MethodPost)
	get(t, base+"/base/missing")
	for range 3 {
		if v := <-during; v != 1 {
			t.Errorf("in flight during a request: %v", v)
		}
	}
	if v := value(t, m.inflight); v != 0 {
		t.Errorf("in flight after: %v", v)
	}
	for labels, want := range map[[3]string]float64{
		{"a", "GET", "200"}:        1,
		{"a", "POST", "200"}:       1,
		{"missing", "GET", "404"}:  1,
		{"base/a", "GET", "200"}:   0,
		{"missing", "POST", "404"}: 0,
	} {
		if got := value(t, m.requests.WithLabelValues(labels[:]...)); got != want {
			t.Errorf("requests%v = %v, want %v", labels, got, want)
		}
	}
	if n := series(m.duration); n != 2 {
		t.Errorf("%d duration series, want 2 (a and missing)", n)
	}
	m.Observe("direct", "GET", 500, 0)
	if got := value(t, m.requests.WithLabelValues("direct", "GET", "500")); got != 1 {
		t.Errorf("Observe: %v", got)
	}
}

// Without a registry nothing is kept and handlers pass through untouched.
func TestNilRequestMetrics(t *testing.T) {
	m := NewRequestMetrics(nil, RequestMetricsOpts{Namespace: "x"})
	if m != nil {
		t.Fatal("want nil")
	}
	h := http.NotFoundHandler()
	if m.Handler("r", h) == nil || m.RouteFunc(nil, h) == nil {
		t.Fatal("nil handler")
	}
	m.Observe("r", "GET", 200, 0)
	m.Begin()()
}

// The recorder keeps sendfile: an *os.File body reaches the connection's
// ReaderFrom, and the bytes are counted.
func TestRecorderReadFrom(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(strings.Repeat("x", 100000))
	recs := make(chan *Recorder, 1)
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := NewRecorder(w)
		defer func() { recs <- rec }()
		_, _ = f.Seek(0, 0)
		if _, err := io.Copy(rec, f); err != nil {
			t.Error(err)
		}
	}))
	if code, body := get(t, base+"/"); code != 200 || len(body) != 100000 {
		t.Errorf("got %d, %d bytes", code, len(body))
	}
	rec := <-recs
	if rec.Bytes() != 100000 || rec.Status() != 200 {
		t.Errorf("recorder: %d bytes, status %d", rec.Bytes(), rec.Status())
	}
	if _, ok := any(rec).(io.ReaderFrom); !ok {
		t.Error("no ReaderFrom")
	}
	if _, ok := any(rec).(http.Flusher); !ok {
		t.Error("no Flusher")
	}
}
