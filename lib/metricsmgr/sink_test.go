package metricsmgr

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/metricsrecord"
)

// A sink that stops reading its stdin must not keep the metrics manager
// from stopping: its writer is blocked on a full pipe, and closing the
// manager kills the sink after the grace period.
func TestStuckSinkDoesNotBlockStop(t *testing.T) {
	defer func(g time.Duration) { sinkStopGrace = g }(sinkStopGrace)
	sinkStopGrace = 100 * time.Millisecond
	// The sink never reads and never exits.
	s := newSinkProc(SinkSpec{ID: "stuck", Path: "/bin/sh", Args: []string{"-c", "exec sleep 600"}, Log: io.Discard}, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	go func() { s.run(ctx); close(ran) }()
	big := &metricsrecord.Record{Source: strings.Repeat("x", 4<<20)}
	s.offer([]*metricsrecord.Record{big})
	// Wait until the writer took the records (it is now blocked writing).
	for len(s.ch) > 0 || s.starts.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	s.close()
	<-ran
}
