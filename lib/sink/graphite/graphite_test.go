package graphite_test

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/graphite"
	"github.com/heronkit/heronkit/lib/sink/sinktest"
	"github.com/heronkit/heronkit/lib/testserver"
)

func TestLineFormat(t *testing.T) {
	rec := &metricsrecord.Record{
		Timestamp: 1677661863999, Source: "host1:5/word/container_1_word_5", Topology: "WordCount",
		Metrics: []metricsrecord.Metric{
			{Name: "__emit-count/default", Value: "120"},
			{Name: "my metric\tx", Value: "1.0E7"},
			{Name: "bad", Value: "n/a"},
			{Name: "nan", Value: "NaN"},
			{Name: "__connection_buffer_by_instanceid/container_1_word_5/bytes", Value: "0.000000"},
		},
	}
	got, illegal := graphite.AppendLines(nil, "heron", rec)
	want := "heron.WordCount.host1:5/word/container_1_word_5.__emit-count/default 120 1677661863\n" +
		"heron.WordCount.host1:5/word/container_1_word_5.my.metric.x 1.0E7 1677661863\n" +
		"heron.WordCount.host1:5/word/container_1_word_5.__connection_buffer_by_instanceid/container_1_word_5/bytes 0.000000 1677661863\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if illegal != 2 {
		t.Errorf("illegal = %d, want 2", illegal)
	}
	// No prefix: no leading dot (Heron wrote one).
	got, _ = graphite.AppendLines(nil, "", &metricsrecord.Record{Timestamp: 1000, Source: "h:1/c/i", Topology: "T",
		Metrics: []metricsrecord.Metric{{Name: "m", Value: "1"}}})
	if string(got) != "T.h:1/c/i.m 1 1\n" {
		t.Errorf("no prefix: got %q", got)
	}
}

func graphiteConfig(addr string) *sink.Config {
	host, port, _ := net.SplitHostPort(addr)
	cfg := sink.NewConfig(graphite.DefaultID)
	cfg.Set(graphite.KeyHost, host)
	cfg.Set(graphite.KeyPort, port)
	cfg.Set(graphite.KeyPrefix, "heron")
	cfg.Set(graphite.KeyMaxReconnects, 20)
	cfg.Set(sink.KeyReconnectMinMs, 20)
	cfg.Set(sink.KeyReconnectMaxMs, 200)
	return cfg
}

// metricPath is the path carbon stores a record's metric under.
func metricPath(rec *metricsrecord.Record, metric string) string {
	return "heron." + rec.Topology + "." + rec.Source + "." + metric
}

// Records go through the sink into a real carbon-cache, and whisper holds
// the points at the records' seconds.
func TestCarbonStoresPoints(t *testing.T) {
	carbon := testserver.StartCarbon(t)
	p := sinktest.Start(t, graphiteConfig(carbon.Addr()), sink.Context{}, graphite.New)
	now := time.Now()
	var recs []*metricsrecord.Record
	for i := 1; i <= 3; i++ {
		r := sinktest.Record(i, now)
		recs = append(recs, r)
		p.Send(t, r)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := p.Count(sink.CountSent); n != 3 {
		t.Fatalf("sent %d records, want 3", n)
	}
	for i, r := range recs {
		want, _ := strconv.ParseFloat(r.Metrics[0].Value, 64)
		if err := carbon.WaitPoint(metricPath(r, r.Metrics[0].Name), now.Unix(), want, 20*time.Second); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
	}
	// A mean latency with a fraction.
	if err := carbon.WaitPoint(metricPath(recs[0], recs[0].Metrics[1].Name), now.Unix(), 2001.5, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Carbon goes down while records keep coming: the sink does not crash,
// buffers up to its bound, counts the drops, and once carbon is back the
// later records are stored.
func TestCarbonDownThenBack(t *testing.T) {
	carbon := testserver.StartCarbon(t)
	cfg := graphiteConfig(carbon.Addr())
	cfg.Set(sink.KeyBufferMaxRecords, 5)
	p := sinktest.Start(t, cfg, sink.Context{}, graphite.New)

	before := sinktest.Record(1, time.Now())
	p.Send(t, before)
	sinktest.WaitCount(t, p, sink.CountSent, 1)

	carbon.Stop()
	down := time.Now()
	for i := 0; i < 50; i++ {
		p.Send(t, sinktest.Record(100+i, down))
	}
	// At most 5 of the 50 can wait in the buffer; the rest are dropped.
	sinktest.WaitCount(t, p, sink.CountDropped, 45)
	sinktest.WaitCount(t, p, sink.CountConnectFailures, 1)

	carbon.Start()
	after := sinktest.Record(2, time.Now().Add(2*time.Second))
	p.Send(t, after)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Every record was either delivered or counted as dropped; whether the
	// oldest buffered one made room for the last depends on when the
	// reconnect happened.
	sent, dropped := p.Count(sink.CountSent), p.Count(sink.CountDropped)
	if sent+dropped != 52 || dropped < 45 || dropped > 46 {
		t.Errorf("sent %d + dropped %d, want 52 in all with 45 or 46 dropped", sent, dropped)
	}
	if err := carbon.WaitPoint(metricPath(after, after.Metrics[0].Name), after.Timestamp/1000, 102, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// The newest buffered records survived the outage.
	last := sinktest.Record(149, down)
	if err := carbon.WaitPoint(metricPath(last, last.Metrics[0].Name), down.Unix(), 249, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// discard is a TCP server that reads and counts lines, for the benchmark:
// it measures the sink, not carbon.
func discard(b *testing.B) (addr string, lines func() int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	count := make(chan int, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				n := 0
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "heron.") {
						n++
					}
				}
				count <- n
			}()
		}
	}()
	return ln.Addr().String(), func() int { return <-count }
}

func BenchmarkGraphiteSink(b *testing.B) {
	addr, lines := discard(b)
	cfg := graphiteConfig(addr)
	cfg.Set(sink.KeyBufferMaxRecords, 1<<30)
	p := sinktest.Start(b, cfg, sink.Context{}, graphite.New)
	rec := sinktest.Record(1, time.Now())
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p.Send(b, rec)
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	if n := lines(); n != b.N*len(rec.Metrics) {
		b.Fatalf("server got %d lines, want %d", n, b.N*len(rec.Metrics))
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
