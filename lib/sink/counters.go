package sink

import (
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// The counter names. The first four are Heron's sink counters (exported by
// Heron as <sinkId>/<name>); the others are this runner's own.
const (
	CountRecords    = "record-process-count"
	CountMetrics    = "metrics-count"
	CountExceptions = "exceptions-count"
	CountFlushes    = "flush-count"
	// CountMalformed counts input lines that were not a valid record.
	CountMalformed = "malformed-line-count"
	// CountIllegal counts metrics a sink could not express (e.g. a value that
	// is not a number where one is needed); Heron's scribe sink name.
	CountIllegal = "illegal-metrics-count"
	// CountProcessErrors counts records a sink failed to handle locally.
	CountProcessErrors = "process-error-count"
	// CountSent counts records delivered to the destination.
	CountSent = "sent-record-count"
	// CountDropped counts records lost because the buffer was full or the
	// destination stayed down past the exit timeout.
	CountDropped = "dropped-record-count"
	// CountSendFailures counts failed writes (the records go back to the buffer).
	CountSendFailures = "send-failure-count"
	// CountConnectFailures counts failed connection attempts.
	CountConnectFailures = "connect-failure-count"
	// CountConnects counts successful connections.
	CountConnects = "connect-count"
)

// Counters is a sink's set of monotonic counters, logged on stderr
// periodically and at exit. It is safe for concurrent use.
type Counters struct {
	mu    sync.Mutex
	order []string
	m     map[string]*atomic.Int64
}

// NewCounters returns counters with the given names registered (so that they
// are logged even while zero).
func NewCounters(names ...string) *Counters {
	c := &Counters{m: map[string]*atomic.Int64{}}
	for _, n := range names {
		c.Counter(n)
	}
	return c
}

// Counter returns the named counter, registering it on first use. Keep the
// pointer for hot paths.
func (c *Counters) Counter(name string) *atomic.Int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[name]; ok {
		return v
	}
	v := &atomic.Int64{}
	c.m[name] = v
	c.order = append(c.order, name)
	return v
}

// Add adds n to the named counter.
func (c *Counters) Add(name string, n int64) { c.Counter(name).Add(n) }

// Get returns the named counter's value (0 when never used).
func (c *Counters) Get(name string) int64 {
	c.mu.Lock()
	v, ok := c.m[name]
	c.mu.Unlock()
	if !ok {
		return 0
	}
	return v.Load()
}

// Snapshot returns every counter's value.
func (c *Counters) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v.Load()
	}
	return out
}

// MarshalZerologObject logs the counters in registration order.
func (c *Counters) MarshalZerologObject(e *zerolog.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.order {
		e.Int64(n, c.m[n].Load())
	}
}
