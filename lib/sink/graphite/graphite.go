// Package graphite is Heron's GraphiteSink: every metric becomes one line of
// Graphite's plaintext protocol,
//
//	<metrics_prefix>.<topology>.<host:port/component/instance>.<metric> <value> <seconds>
//
// sent over TCP to carbon.
package graphite

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
)

// The sink's keys (Heron's, with its mix of underscores and hyphens).
const (
	KeyHost          = "graphite_host"
	KeyPort          = "graphite_port"
	KeyPrefix        = "metrics_prefix"
	KeyMaxReconnects = "server_max_reconnect-attempts"
)

// DefaultID is the sink id of Heron's example graphite sink.
const DefaultID = "graphite-sink"

// ioTimeout bounds one connect or one batch write.
const ioTimeout = 10 * time.Second

// Sink turns records into plaintext lines and hands them to an Outbox.
type Sink struct {
	prefix  string
	out     *sink.Outbox[[]byte]
	illegal *atomic.Int64
}

// New builds the sink from its config.
func New(cfg *sink.Config, _ sink.Context, c *sink.Counters, log zerolog.Logger) (sink.Sink, error) {
	addr, err := cfg.TCPAddress(KeyHost, "", KeyPort, 0)
	if err != nil {
		return nil, err
	}
	prefix, err := cfg.String(KeyPrefix, "")
	if err != nil {
		return nil, err
	}
	// Heron gives up (and kills the sink) after this many failed connects;
	// here the sink keeps retrying with backoff, so the key is only checked.
	if _, err := cfg.Int(KeyMaxReconnects, 0); err != nil {
		return nil, err
	}
	opts, err := sink.OutboxOptionsFrom(cfg)
	if err != nil {
		return nil, err
	}
	return &Sink{
		prefix:  prefix,
		out:     sink.NewOutbox[[]byte](&Conn{Addr: addr}, opts, c, log.With().Str("graphite", addr).Logger()),
		illegal: c.Counter(sink.CountIllegal),
	}, nil
}

// Process formats the record's lines and queues them.
func (s *Sink) Process(rec *metricsrecord.Record) error {
	b, illegal := AppendLines(nil, s.prefix, rec)
	if illegal > 0 {
		s.illegal.Add(int64(illegal))
	}
	if len(b) > 0 {
		s.out.Put(b)
	}
	return nil
}

// Flush does nothing: lines leave as soon as they are queued.
func (s *Sink) Flush() error { return nil }

// Close delivers what is buffered, until ctx ends.
func (s *Sink) Close(ctx context.Context) error { return s.out.Close(ctx) }

// AppendLines appends one plaintext line per metric of rec and returns the
// number of metrics skipped because their value is not a finite number.
// The path is Heron's: prefix, topology, the raw source, the raw metric
// name, with whitespace turned into dots (Heron did so for spaces in the
// metric name only; any whitespace would break the protocol). An empty
// prefix adds no leading dot.
func AppendLines(b []byte, prefix string, rec *metricsrecord.Record) ([]byte, int) {
	illegal := 0
	var head []byte
	for _, m := range rec.Metrics {
		v, err := strconv.ParseFloat(m.Value, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			illegal++
			continue
		}
		if head == nil {
			head = make([]byte, 0, len(prefix)+len(rec.Topology)+len(rec.Source)+3)
			if prefix != "" {
				head = appendPath(head, prefix)
				head = append(head, '.')
			}
			head = appendPath(head, rec.Topology)
			head = append(head, '.')
			head = appendPath(head, rec.Source)
			head = append(head, '.')
		}
		b = append(b, head...)
		b = appendPath(b, m.Name)
		b = append(b, ' ')
		b = append(b, m.Value...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, rec.Timestamp/1000, 10)
		b = append(b, '\n')
	}
	return b, illegal
}

func appendPath(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			c = '.'
		}
		b = append(b, c)
	}
	return b
}

// Conn is a plaintext-protocol connection to carbon.
type Conn struct {
	Addr string
	c    net.Conn
	w    *bufio.Writer
}

// Dial connects.
func (g *Conn) Dial(ctx context.Context) error {
	d := net.Dialer{Timeout: ioTimeout}
	c, err := d.DialContext(ctx, "tcp", g.Addr)
	if err != nil {
		return err
	}
	g.c, g.w = c, bufio.NewWriterSize(c, 64*1024)
	return nil
}

// Send writes a batch of line blocks.
func (g *Conn) Send(_ context.Context, batch [][]byte) error {
	// carbon never writes on this port: anything readable is a close or reset.
	if err := sink.PeerClosed(g.c); err != nil {
		return fmt.Errorf("carbon closed the connection: %w", err)
	}
	if err := g.c.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	for _, b := range batch {
		if _, err := g.w.Write(b); err != nil {
			return err
		}
	}
	return g.w.Flush()
}

// Close closes the connection.
func (g *Conn) Close() error {
	if g.c == nil {
		return nil
	}
	err := g.c.Close()
	g.c, g.w = nil, nil
	return err
}
