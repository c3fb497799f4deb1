package scribe_test

import (
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/scribe"
	"github.com/heronkit/heronkit/lib/sink/scribe/scribetest"
	"github.com/heronkit/heronkit/lib/sink/sinktest"
)

func TestMessageLayout(t *testing.T) {
	rec := &metricsrecord.Record{
		Timestamp: 1677661863999, Source: "host1:5/word/container_1_word_5", Topology: "WordCount",
		Metrics: []metricsrecord.Metric{
			{Name: "__emit-count/default", Value: "120"},
			{Name: "__execute-latency/default", Value: "12345678.5"},
			{Name: "small", Value: "0.0001"},
			{Name: "bad", Value: "n/a"},
			{Name: "timestamp", Value: "5"},
			{Name: "__emit-count/default", Value: "121"},
		},
	}
	got, illegal := scribe.AppendMessage(nil, "heron", rec)
	want := `{"service":"heron/WordCount","source":"/word/container_1_word_5","timestamp":1677661863,` +
		`"__execute-latency/default":1.23456785E7,"small":1.0E-4,"__emit-count/default":121.0}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if illegal != 2 {
		t.Errorf("illegal = %d, want 2", illegal)
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
}

func scribeConfig(addr string) *sink.Config {
	host, port, _ := net.SplitHostPort(addr)
	cfg := sink.NewConfig(scribe.DefaultID)
	cfg.Set(scribe.KeyHost, host)
	cfg.Set(scribe.KeyPort, port)
	cfg.Set(scribe.KeyCategory, "heron-metrics")
	cfg.Set(scribe.KeyNamespace, "heron")
	cfg.Set(scribe.KeyTimeoutMs, 2000)
	cfg.Set(scribe.KeyRetryIntervalMs, 10)
	cfg.Set(sink.KeyReconnectMinMs, 20)
	cfg.Set(sink.KeyReconnectMaxMs, 200)
	return cfg
}

type message struct {
	Service   string  `json:"service"`
	Source    string  `json:"source"`
	Timestamp int64   `json:"timestamp"`
	Emit      float64 `json:"__emit-count/default"`
}

func decode(t *testing.T, msg string) message {
	t.Helper()
	var m message
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatalf("message is not JSON: %v: %s", err, msg)
	}
	return m
}

// Records reach a real Thrift Scribe server as one entry each, with the
// category and Heron's message layout.
func TestScribeServerReceives(t *testing.T) {
	srv := scribetest.Start(t)
	p := sinktest.Start(t, scribeConfig(srv.Addr()), sink.Context{}, scribe.New)
	now := time.Now()
	for i := 1; i <= 20; i++ {
		p.Send(t, sinktest.Record(i, now))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := srv.WaitEntries(20, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 20 {
		t.Fatalf("got %d entries, want 20", len(entries))
	}
	for i, e := range entries {
		if e.Category != "heron-metrics" {
			t.Errorf("entry %d category %q", i, e.Category)
		}
		m := decode(t, e.Message)
		want := message{Service: "heron/WordCount", Source: "/count/container_1_count_" + itoa(i+1),
			Timestamp: now.Unix(), Emit: float64(10 + i + 1)}
		if m != want {
			t.Errorf("entry %d = %+v, want %+v", i, m, want)
		}
	}
	if n := p.Count(sink.CountSent); n != 20 {
		t.Errorf("sent = %d, want 20", n)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TRY_LATER answers are retried after scribe-retry-interval-ms.
func TestScribeTryLater(t *testing.T) {
	srv := scribetest.Start(t)
	srv.TryLater(3)
	p := sinktest.Start(t, scribeConfig(srv.Addr()), sink.Context{}, scribe.New)
	p.Send(t, sinktest.Record(1, time.Now()))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitEntries(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := p.Count(scribe.CountTryAgain); n != 3 {
		t.Errorf("try-again = %d, want 3", n)
	}
}

// The server goes away and comes back: no crash, the drops beyond the
// buffer are counted, and delivery resumes.
func TestScribeDownThenBack(t *testing.T) {
	srv := scribetest.Start(t)
	cfg := scribeConfig(srv.Addr())
	cfg.Set(sink.KeyBufferMaxRecords, 5)
	p := sinktest.Start(t, cfg, sink.Context{}, scribe.New)
	p.Send(t, sinktest.Record(1, time.Now()))
	sinktest.WaitCount(t, p, sink.CountSent, 1)

	srv.Stop()
	for i := 0; i < 50; i++ {
		p.Send(t, sinktest.Record(100+i, time.Now()))
	}
	sinktest.WaitCount(t, p, sink.CountDropped, 45)

	srv.Restart()
	p.Send(t, sinktest.Record(2, time.Now()))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	sent, dropped := p.Count(sink.CountSent), p.Count(sink.CountDropped)
	if sent+dropped != 52 || dropped < 45 || dropped > 46 {
		t.Errorf("sent %d + dropped %d, want 52 in all with 45 or 46 dropped", sent, dropped)
	}
	entries := srv.Entries()
	if len(entries) != int(sent) {
		t.Fatalf("server has %d entries, sink counted %d sent", len(entries), sent)
	}
	last := decode(t, entries[len(entries)-1].Message)
	if last.Source != "/count/container_1_count_2" {
		t.Errorf("last entry from %s, want the record sent after the restart", last.Source)
	}
	if p.Count(sink.CountSendFailures)+p.Count(sink.CountConnectFailures) == 0 {
		t.Error("no failure was counted during the outage")
	}
}

// The sink never reaches a server at all: it still exits on EOF within the
// exit timeout, counting everything as dropped.
func TestScribeNeverUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := scribeConfig(addr)
	cfg.Set(sink.KeyExitTimeoutMs, 300)
	p := sinktest.Start(t, cfg, sink.Context{}, scribe.New)
	for i := 0; i < 3; i++ {
		p.Send(t, sinktest.Record(i, time.Now()))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := p.Count(sink.CountDropped); d != 3 {
		t.Errorf("dropped = %d, want 3", d)
	}
}

func BenchmarkScribeSink(b *testing.B) {
	srv := scribetest.Start(b)
	cfg := scribeConfig(srv.Addr())
	cfg.Set(sink.KeyBufferMaxRecords, 1<<30)
	p := sinktest.Start(b, cfg, sink.Context{}, scribe.New)
	rec := sinktest.Record(1, time.Now())
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p.Send(b, rec)
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	if n := len(srv.Entries()); n != b.N {
		b.Fatalf("server got %d entries, want %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
