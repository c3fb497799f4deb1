// Package sinktest runs a sink in-process for tests and benchmarks: records
// are written to the sink's stdin through a pipe, as the executor does.
package sinktest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
)

// Pipe is a running sink fed through its stdin.
type Pipe struct {
	Runner *sink.Runner
	pw     *io.PipeWriter
	w      *metricsrecord.Writer
	cancel context.CancelFunc
	done   chan error
}

// Start builds the sink from cfg and runs it until Close. Logs go to the
// test log.
func Start(t testing.TB, cfg *sink.Config, sctx sink.Context, build sink.Builder) *Pipe {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	if _, ok := t.(*testing.B); ok {
		log = zerolog.Nop()
	}
	r, err := sink.NewRunner(cfg, sctx, build, log)
	if err != nil {
		t.Fatalf("build sink: %v", err)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipe{Runner: r, pw: pw, w: metricsrecord.NewWriter(pw), cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- r.Run(ctx, pr) }()
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Send writes records to the sink's stdin.
func (p *Pipe) Send(t testing.TB, recs ...*metricsrecord.Record) {
	t.Helper()
	for _, r := range recs {
		if err := p.w.Write(r); err != nil {
			t.Fatalf("write record: %v", err)
		}
	}
}

// SendLine writes one raw line (e.g. a malformed one).
func (p *Pipe) SendLine(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(p.pw, line+"\n"); err != nil {
		t.Fatalf("write line: %v", err)
	}
}

// Close ends stdin and waits for the sink to flush and exit.
func (p *Pipe) Close() error {
	if p.done == nil {
		return nil
	}
	p.pw.Close()
	err := <-p.done
	p.done = nil
	p.cancel()
	return err
}

// Stop signals the sink as SIGTERM would, and waits for it to exit.
func (p *Pipe) Stop() error {
	if p.done == nil {
		return nil
	}
	p.cancel()
	err := <-p.done
	p.done = nil
	p.pw.Close()
	return err
}

// Count returns one of the sink's counters.
func (p *Pipe) Count(name string) int64 { return p.Runner.Counters.Get(name) }

// Record returns a realistic bolt record: instance i of component "count"
// with a few of Heron's bolt metrics whose values derive from i.
func Record(i int, ts time.Time) *metricsrecord.Record {
	task := strconv.Itoa(i)
	return &metricsrecord.Record{
		Timestamp: ts.UnixMilli(),
		Source:    "127.0.0.1:" + task + "/count/container_1_count_" + task,
		Context:   "default",
		Metrics: []metricsrecord.Metric{
			{Name: "__execute-count/split/default", Value: strconv.Itoa(100 + i)},
			{Name: "__execute-latency/split/default", Value: fmt.Sprintf("%d.5", 2000+i)},
			{Name: "__execute-time-ns/split/default", Value: strconv.Itoa(1000000 + i)},
			{Name: "__emit-count/default", Value: strconv.Itoa(10 + i)},
			{Name: "__ack-count/split/default", Value: "0"},
			{Name: "__jvm-uptime-secs", Value: "42"},
		},
		Topology: "WordCount", Cluster: "local", Role: "tester", Environ: "default",
		MetricsMgrID: "metricsmgr-1",
	}
}

// waitMax bounds WaitCount, so that a broken sink fails the test instead of
// hanging it.
const waitMax = 60 * time.Second

// WaitCount waits until counter name reaches at least n.
func WaitCount(t testing.TB, p *Pipe, name string, n int64) {
	t.Helper()
	deadline := time.Now().Add(waitMax)
	for p.Count(name) < n {
		if time.Now().After(deadline) {
			t.Fatalf("counter %s stayed at %d, want %d", name, p.Count(name), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Nop is a logger that discards everything.
func Nop() zerolog.Logger { return zerolog.Nop() }
