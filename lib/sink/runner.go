// Package sink is what every heron-sink-* binary shares: the sink's config
// (named flags, --set, or a metrics_sinks.yaml section with Heron's keys and
// the override file over it), the loop that reads metrics records on stdin and
// calls the sink (flush every flush-frequency-ms, a final flush on EOF or
// SIGTERM), bounded delivery to a network destination with reconnects and
// drop counting (Outbox), and the sink's own counters logged on stderr.
//
// docs/sinks.md describes the contract with heron-executor's metrics manager.
package sink

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/metricsrecord"
)

// Sink is one destination. The runner calls every method from one goroutine,
// as Heron's sink executor calls a sink from its own thread.
type Sink interface {
	// Process takes one record. It must not wait on the destination: network
	// sinks hand the record to an Outbox.
	Process(rec *metricsrecord.Record) error
	// Flush runs every flush interval and once before Close.
	Flush() error
	// Close ends the sink after the final flush, waiting until ctx ends at
	// most for buffered records to be delivered.
	Close(ctx context.Context) error
}

// Context is the sink context Heron hands a sink at init (SinkContext). The
// metrics manager repeats it on every record; these values fill in the
// fields a record leaves empty, for records written by hand.
type Context struct {
	Topology     string
	Cluster      string
	Role         string
	Environ      string
	MetricsMgrID string
}

// Fill sets the record's empty context fields from c.
func (c Context) Fill(r *metricsrecord.Record) {
	if r.Topology == "" {
		r.Topology = c.Topology
	}
	if r.Cluster == "" {
		r.Cluster = c.Cluster
	}
	if r.Role == "" {
		r.Role = c.Role
	}
	if r.Environ == "" {
		r.Environ = c.Environ
	}
	if r.MetricsMgrID == "" {
		r.MetricsMgrID = c.MetricsMgrID
	}
}

// Runner reads records and drives a Sink.
type Runner struct {
	Sink     Sink
	Context  Context
	Counters *Counters
	Log      zerolog.Logger
	// FlushEvery is the flush interval (flush-frequency-ms).
	FlushEvery time.Duration
	// StatsEvery is how often the counters are logged (0: only at exit).
	StatsEvery time.Duration
	// ExitTimeout bounds the wait for delivery at exit.
	ExitTimeout time.Duration
	// Linger keeps the sink up after EOF until ctx ends (the Prometheus sink
	// keeps serving the last values).
	Linger bool
}

// Malformed lines are all counted; only the first few, then every
// malformedLogEvery-th, are logged so that a garbage stream cannot flood stderr.
const (
	malformedLogFirst = 10
	malformedLogEvery = 1000
)

type input struct {
	rec *metricsrecord.Record
	bad *metricsrecord.LineError
	err error
}

// Run reads records from in until EOF (or ctx ends), then flushes and closes
// the sink. Malformed lines are skipped with a warning and counted.
func (r *Runner) Run(ctx context.Context, in io.Reader) error {
	if r.Counters == nil {
		r.Counters = NewCounters()
	}
	var (
		records    = r.Counters.Counter(CountRecords)
		metrics    = r.Counters.Counter(CountMetrics)
		exceptions = r.Counters.Counter(CountExceptions)
		flushes    = r.Counters.Counter(CountFlushes)
		malformed  = r.Counters.Counter(CountMalformed)
		procErrs   = r.Counters.Counter(CountProcessErrors)
	)
	ch := make(chan []input, 16)
	go readInput(in, ch)

	var flushC, statsC <-chan time.Time
	if r.FlushEvery > 0 {
		t := time.NewTicker(r.FlushEvery)
		defer t.Stop()
		flushC = t.C
	}
	if r.StatsEvery > 0 {
		t := time.NewTicker(r.StatsEvery)
		defer t.Stop()
		statsC = t.C
	}
	flush := func() {
		flushes.Add(1)
		if err := r.Sink.Flush(); err != nil {
			procErrs.Add(1)
			r.Log.Warn().Err(err).Msg("flush failed")
		}
	}
	var readErr error
loop:
	for {
		select {
		case <-ctx.Done():
			r.Log.Info().Msg("signal received: flushing and stopping")
			break loop
		case <-flushC:
			flush()
		case <-statsC:
			r.Log.Info().Object("counters", r.Counters).Msg("sink counters")
		case batch, ok := <-ch:
			if !ok {
				if r.Linger {
					r.Log.Info().Msg("end of input: serving the last values until stopped")
					flush()
					r.lingerUntil(ctx, flushC, statsC, flush)
				}
				break loop
			}
			for _, in := range batch {
				switch {
				case in.rec != nil:
					rec := in.rec
					r.Context.Fill(rec)
					records.Add(1)
					metrics.Add(int64(len(rec.Metrics)))
					exceptions.Add(int64(len(rec.Exceptions)))
					if err := r.Sink.Process(rec); err != nil {
						n := procErrs.Add(1)
						if n <= malformedLogFirst || n%malformedLogEvery == 0 {
							r.Log.Warn().Err(err).Str("source", rec.Source).Int64("errors", n).Msg("record not handled")
						}
					}
				case in.bad != nil:
					n := malformed.Add(1)
					if n <= malformedLogFirst || n%malformedLogEvery == 0 {
						r.Log.Warn().Int("line", in.bad.Line).Err(in.bad.Err).Int64("malformed_lines", n).
							Msg("skipping malformed input line")
					}
				default:
					readErr = in.err
				}
			}
		}
	}
	flush()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.ExitTimeout)
	defer cancel()
	closeErr := r.Sink.Close(closeCtx)
	r.Log.Info().Object("counters", r.Counters).Msg("sink stopped")
	if readErr != nil {
		return readErr
	}
	return closeErr
}

func (r *Runner) lingerUntil(ctx context.Context, flushC, statsC <-chan time.Time, flush func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-flushC:
			flush()
		case <-statsC:
			r.Log.Info().Object("counters", r.Counters).Msg("sink counters")
		}
	}
}

// readInput parses stdin on its own goroutine and hands records over in
// small batches, so that the sink loop pays one channel operation per batch.
func readInput(in io.Reader, ch chan<- []input) {
	defer close(ch)
	rd := metricsrecord.NewReader(in)
	const batchMax = 64
	batch := make([]input, 0, batchMax)
	send := func() {
		if len(batch) > 0 {
			ch <- batch
			batch = make([]input, 0, batchMax)
		}
	}
	for {
		rec, err := rd.Next()
		var le *metricsrecord.LineError
		switch {
		case err == nil:
			batch = append(batch, input{rec: rec})
		case errors.As(err, &le):
			batch = append(batch, input{bad: le})
		case errors.Is(err, io.EOF):
			send()
			return
		default:
			batch = append(batch, input{err: err})
			send()
			return
		}
		// Hand over a partial batch when no more input is buffered, so that a
		// slow trickle of records is not held back.
		if len(batch) == batchMax || !rd.Buffered() {
			send()
		}
	}
}
