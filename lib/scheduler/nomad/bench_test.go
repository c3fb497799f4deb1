package nomad

import (
	"context"
	"testing"
	"time"
)

// BenchmarkNomadSubmitToRunning measures a launch on a real dev agent (the
// raw_exec driver, the core and topology packages fetched over HTTP as
// artifacts): from registering the job until every container's task runs.
// The containers run a stub in place of heron-executor, so the figure is
// the scheduler's and Nomad's share of a submit.
func BenchmarkNomadSubmitToRunning(b *testing.B) {
	m := newMechanics(b)
	ctx := context.Background()
	l := &Launcher{}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := l.Launch(ctx, m.job); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if err := m.sched.Kill(ctx, "WordCount"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/submit-to-running")
}

// BenchmarkNomadKillToClean measures a kill: from the request until the
// job is purged, every allocation has stopped and the services are gone
// from Nomad's catalogue.
func BenchmarkNomadKillToClean(b *testing.B) {
	m := newMechanics(b)
	ctx := context.Background()
	l := &Launcher{}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := l.Launch(ctx, m.job); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := m.sched.Kill(ctx, "WordCount"); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/kill-to-clean")
}
