package prometheus_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/prometheus"
	"github.com/heronkit/heronkit/lib/sink/sinktest"
	"github.com/heronkit/heronkit/lib/testserver"
)

func promConfig(t testing.TB) (*sink.Config, string) {
	port := testserver.FreePort(t)
	cfg := sink.NewConfig(prometheus.DefaultID)
	cfg.Set(prometheus.KeyPort, port)
	cfg.Set(prometheus.KeyPath, "/metrics")
	cfg.Set(prometheus.KeyListenHost, testserver.Host)
	return cfg, testserver.Host + ":" + strconv.Itoa(port)
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	return string(b)
}

func stmgrRecord(ts time.Time) *metricsrecord.Record {
	return &metricsrecord.Record{
		Timestamp: ts.UnixMilli(), Source: "host:6001/__stmgr__/stmgr-1", Topology: "WordCount",
		Cluster: "local", Role: "tester", Environ: "default",
		Metrics: []metricsrecord.Metric{
			{Name: "__time_spent_back_pressure_by_compid/container_1_count_1", Value: "7"},
			{Name: "__server/__tuples_from_stmgrs", Value: "3"},
			{Name: "__process/__uptime_sec", Value: "100"},
		},
	}
}

// The exposition: Heron's names and labels, TYPE lines with the metric
// types, no timestamps, values that do not parse skipped and counted.
func TestExposition(t *testing.T) {
	cfg, addr := promConfig(t)
	p := sinktest.Start(t, cfg, sink.Context{}, prometheus.New)
	rec := sinktest.Record(1, time.Now())
	rec.Metrics = append(rec.Metrics, metricsrecord.Metric{Name: "__custom", Value: "not a number"})
	p.Send(t, rec, stmgrRecord(time.Now()))
	sinktest.WaitCount(t, p, sink.CountRecords, 2)
	body := scrape(t, addr)
	base := `cluster_role_env="local/tester/default",component="count",component_type="bolt",instance_id="container_1_count_1",topology="WordCount"`
	for _, want := range []string{
		"# TYPE heron_emit_count_default gauge\n",
		"heron_emit_count_default{" + base + "} 11\n",
		"heron_execute_latency_split_default{" + base + "} 2001.5\n",
		"# TYPE heron_jvm_uptime_secs counter\n",
		"heron_jvm_uptime_secs{" + base + "} 42\n",
		`heron_time_spent_back_pressure_by_compid{cluster_role_env="local/tester/default",component="__stmgr__",instance_id="stmgr-1",metric_instance_id="container_1_count_1",topology="WordCount"} 7` + "\n",
		`heron_server_tuples_from_stmgrs{cluster_role_env="local/tester/default",component="__stmgr__",instance_id="stmgr-1",topology="WordCount"} 3` + "\n",
		"# TYPE heron_process_uptime_sec counter\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q\n%s", want, body)
		}
	}
	// The stmgr's metric_instance_id does not leak into its other metrics.
	if strings.Contains(body, `metric_instance_id="container_1_count_1",topology="WordCount"} 3`) {
		t.Errorf("label leaked between metrics:\n%s", body)
	}
	if strings.Contains(body, "custom") {
		t.Errorf("non-numeric value exported:\n%s", body)
	}
	if n := p.Count(sink.CountIllegal); n != 1 {
		t.Errorf("illegal = %d, want 1", n)
	}
	// A newer record replaces the values.
	rec2 := sinktest.Record(1, time.Now())
	rec2.Metrics[3].Value = "99"
	p.Send(t, rec2)
	sinktest.WaitCount(t, p, sink.CountRecords, 3)
	if body := scrape(t, addr); !strings.Contains(body, "heron_emit_count_default{"+base+"} 99\n") {
		t.Errorf("value not replaced:\n%s", body)
	}
}

// A source without component and instance is refused, as Heron does.
func TestBadSource(t *testing.T) {
	cfg, _ := promConfig(t)
	p := sinktest.Start(t, cfg, sink.Context{}, prometheus.New)
	p.Send(t, &metricsrecord.Record{Timestamp: 1, Source: "host:1", Metrics: []metricsrecord.Metric{{Name: "a", Value: "1"}}})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := p.Count(sink.CountProcessErrors); n != 1 {
		t.Errorf("process errors = %d, want 1", n)
	}
}

func TestPortFile(t *testing.T) {
	port := testserver.FreePort(t)
	pf := filepath.Join(t.TempDir(), "port_file")
	if err := os.WriteFile(pf, []byte(strconv.Itoa(port)+"\nignored\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := sink.NewConfig(prometheus.DefaultID)
	cfg.Set(prometheus.KeyPortFile, pf)
	cfg.Set(prometheus.KeyPath, "/metrics")
	cfg.Set(prometheus.KeyListenHost, testserver.Host)
	p := sinktest.Start(t, cfg, sink.Context{}, prometheus.New)
	p.Send(t, sinktest.Record(1, time.Now()))
	sinktest.WaitCount(t, p, sink.CountRecords, 1)
	if body := scrape(t, testserver.Host+":"+strconv.Itoa(port)); !strings.Contains(body, "heron_emit_count_default") {
		t.Errorf("nothing served on the port-file port:\n%s", body)
	}

	cfg = sink.NewConfig(prometheus.DefaultID)
	cfg.Set(prometheus.KeyPath, "/metrics")
	if _, err := sink.NewRunner(cfg, sink.Context{}, prometheus.New, sinktest.Nop()); err == nil ||
		!strings.Contains(err.Error(), "neither 'port' nor 'port-file'") {
		t.Errorf("no port: err = %v", err)
	}
}

// A real Prometheus scrapes the sink and answers queries with the values,
// knowing their types from the exposition.
func TestPrometheusScrapes(t *testing.T) {
	cfg, addr := promConfig(t)
	p := sinktest.Start(t, cfg, sink.Context{}, prometheus.New)
	now := time.Now()
	for i := 1; i <= 3; i++ {
		p.Send(t, sinktest.Record(i, now))
	}
	p.Send(t, stmgrRecord(now))
	sinktest.WaitCount(t, p, sink.CountRecords, 4)

	prom := testserver.StartPrometheus(t, testserver.PromTarget{Addr: addr, Path: "/metrics"})
	res, err := prom.WaitQuery(`heron_emit_count_default{topology="WordCount",instance_id="container_1_count_2"}`, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Value != 12 || res[0].Labels["component"] != "count" || res[0].Labels["component_type"] != "bolt" {
		t.Errorf("query result %+v, want one sample of 12 for component count", res)
	}
	res, err = prom.WaitQuery(`sum(heron_execute_count_split_default)`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Value != 101+102+103 {
		t.Errorf("sum = %+v, want 306", res)
	}
	res, err = prom.WaitQuery(`heron_time_spent_back_pressure_by_compid{metric_instance_id="container_1_count_1"}`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Value != 7 {
		t.Errorf("back pressure = %+v, want 7", res)
	}
	for metric, want := range map[string]string{"heron_jvm_uptime_secs": "counter", "heron_emit_count_default": "gauge"} {
		var got string
		err := testserver.Poll(context.Background(), 10*time.Second, func() error {
			var err error
			got, err = prom.MetricType(context.Background(), metric)
			if err == nil && got == "" {
				err = io.EOF
			}
			return err
		})
		if err != nil || got != want {
			t.Errorf("type of %s = %q (%v), want %s", metric, got, err, want)
		}
	}
}

func BenchmarkPrometheusSink(b *testing.B) {
	cfg, addr := promConfig(b)
	p := sinktest.Start(b, cfg, sink.Context{}, prometheus.New)
	recs := make([]*metricsrecord.Record, 100)
	for i := range recs {
		recs[i] = sinktest.Record(i, time.Now())
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p.Send(b, recs[i%len(recs)])
	}
	sinktest.WaitCount(b, p, sink.CountRecords, int64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.StopTimer()
	// One scrape of 100 sources x 6 metrics, for the record.
	t0 := time.Now()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.ReportMetric(float64(time.Since(t0).Microseconds()), "scrape-µs")
}
