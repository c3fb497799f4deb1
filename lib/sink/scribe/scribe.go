// Package scribe is Heron's ScribeSink: one Scribe LogEntry per record, its
// message a JSON object with the service, the source, the time in seconds
// and every metric as a number, sent with Thrift's Log call over a framed
// transport and the binary protocol.
package scribe

//go:generate sh -c "thrift --gen go:package_prefix=github.com/heronkit/heronkit/lib/sink/scribe/ -out . scribe.thrift && rm -rf scribethrift/scribe-remote && gofmt -w scribethrift"

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/jsonstr"
	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/scribe/scribethrift"
)

// The sink's keys (Heron's).
const (
	KeyHost            = "scribe-host"
	KeyPort            = "scribe-port"
	KeyCategory        = "scribe-category"
	KeyNamespace       = "service-namespace"
	KeyTimeoutMs       = "scribe-timeout-ms"
	KeyConnectAttempts = "scribe-connect-server-attempts"
	KeyRetryAttempts   = "scribe-retry-attempts"
	KeyRetryIntervalMs = "scribe-retry-interval-ms"
)

// DefaultID is the sink id of Heron's example scribe sink.
const DefaultID = "scribe-sink"

// Defaults from Heron's example config (Heron itself required every key).
const (
	DefaultHost            = "127.0.0.1"
	DefaultPort            = 1463
	DefaultCategory        = "scribe-category"
	DefaultNamespace       = "heron"
	DefaultTimeoutMs       = 200
	DefaultRetryAttempts   = 5
	DefaultRetryIntervalMs = 100
)

// CountTryAgain counts TRY_LATER answers (Heron's try-again-count).
const CountTryAgain = "try-again-count"

// Sink turns records into log entries and hands them to an Outbox.
type Sink struct {
	category, namespace string
	out                 *sink.Outbox[*scribethrift.LogEntry]
	illegal             *atomic.Int64
	buf                 []byte
}

// New builds the sink from its config.
func New(cfg *sink.Config, _ sink.Context, c *sink.Counters, log zerolog.Logger) (sink.Sink, error) {
	addr, err := cfg.TCPAddress(KeyHost, DefaultHost, KeyPort, DefaultPort)
	if err != nil {
		return nil, err
	}
	category, err := cfg.String(KeyCategory, DefaultCategory)
	if err != nil {
		return nil, err
	}
	ns, err := cfg.String(KeyNamespace, DefaultNamespace)
	if err != nil {
		return nil, err
	}
	timeoutMs, err := cfg.PositiveMs(KeyTimeoutMs, DefaultTimeoutMs)
	if err != nil {
		return nil, err
	}
	retries, err := cfg.Int(KeyRetryAttempts, DefaultRetryAttempts)
	if err != nil {
		return nil, err
	}
	retryMs, err := cfg.Int(KeyRetryIntervalMs, DefaultRetryIntervalMs)
	if err != nil {
		return nil, err
	}
	// Heron killed the sink after this many failed connects; here it keeps
	// retrying with backoff, so the key is only checked.
	if _, err := cfg.Int(KeyConnectAttempts, 0); err != nil {
		return nil, err
	}
	opts, err := sink.OutboxOptionsFrom(cfg)
	if err != nil {
		return nil, err
	}
	conn := &Conn{
		Addr: addr, Timeout: time.Duration(timeoutMs) * time.Millisecond,
		Retries: int(max(retries, 1)), RetryInterval: time.Duration(max(retryMs, 0)) * time.Millisecond,
		tryAgain: c.Counter(CountTryAgain),
	}
	return &Sink{
		category: category, namespace: ns,
		out:     sink.NewOutbox[*scribethrift.LogEntry](conn, opts, c, log.With().Str("scribe", addr).Logger()),
		illegal: c.Counter(sink.CountIllegal),
	}, nil
}

// Process builds the record's entry and queues it.
func (s *Sink) Process(rec *metricsrecord.Record) error {
	var illegal int
	s.buf, illegal = AppendMessage(s.buf[:0], s.namespace, rec)
	if illegal > 0 {
		s.illegal.Add(int64(illegal))
	}
	s.out.Put(&scribethrift.LogEntry{Category: s.category, Message: string(s.buf)})
	return nil
}

// Flush does nothing: entries leave as soon as they are queued.
func (s *Sink) Flush() error { return nil }

// Close delivers what is buffered, until ctx ends.
func (s *Sink) Close(ctx context.Context) error { return s.out.Close(ctx) }

// The message's own keys; a metric with one of these names is skipped (in
// Heron it overwrote them).
var reserved = map[string]bool{"service": true, "source": true, "timestamp": true}

// AppendMessage appends Heron's scribe message for rec and returns how many
// metrics were skipped: values that are not finite numbers, and names that
// clash with the message's own keys. A repeated name keeps its last value.
// Numbers are written as Java wrote them (120.0, 1.0E7).
func AppendMessage(b []byte, namespace string, rec *metricsrecord.Record) ([]byte, int) {
	_, comp, inst := rec.SplitSource()
	b = append(b, `{"service":`...)
	b = jsonstr.Append(b, namespace+"/"+rec.Topology)
	b = append(b, `,"source":`...)
	b = jsonstr.Append(b, "/"+comp+"/"+inst)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, rec.Timestamp/1000, 10)
	illegal := 0
	for i, m := range rec.Metrics {
		v, err := strconv.ParseFloat(m.Value, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || reserved[m.Name] {
			illegal++
			continue
		}
		if repeatedLater(rec.Metrics, i) {
			continue
		}
		b = append(b, ',')
		b = jsonstr.Append(b, m.Name)
		b = append(b, ':')
		b = append(b, sink.JavaDouble(v)...)
	}
	return append(b, '}'), illegal
}

func repeatedLater(ms []metricsrecord.Metric, i int) bool {
	for _, m := range ms[i+1:] {
		if m.Name == ms[i].Name {
			if _, err := strconv.ParseFloat(m.Value, 64); err == nil {
				return true
			}
		}
	}
	return false
}

// Conn is a Thrift connection to a Scribe server: a framed transport over a
// socket, with the binary protocol.
type Conn struct {
	Addr          string
	Timeout       time.Duration
	Retries       int
	RetryInterval time.Duration

	tryAgain *atomic.Int64
	trans    thrift.TTransport
	client   *scribethrift.ScribeClient
}

// Dial connects.
func (c *Conn) Dial(context.Context) error {
	conf := &thrift.TConfiguration{ConnectTimeout: c.Timeout, SocketTimeout: c.Timeout}
	trans := thrift.NewTFramedTransportConf(thrift.NewTSocketConf(c.Addr, conf), conf)
	if err := trans.Open(); err != nil {
		return err
	}
	c.trans = trans
	c.client = scribethrift.NewScribeClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(conf))
	return nil
}

// Send calls Log with the batch, again after RetryInterval while the server
// answers TRY_LATER, up to Retries calls.
func (c *Conn) Send(ctx context.Context, batch []*scribethrift.LogEntry) error {
	for attempt := 1; ; attempt++ {
		rc, err := c.client.Log(ctx, batch)
		if err != nil {
			return err
		}
		if rc == scribethrift.ResultCode_OK {
			return nil
		}
		if c.tryAgain != nil {
			c.tryAgain.Add(1)
		}
		if attempt >= c.Retries {
			return fmt.Errorf("scribe answered %v %d times", rc, attempt)
		}
		if !sink.WaitCtx(ctx, c.RetryInterval) {
			return ctx.Err()
		}
	}
}

// Close closes the connection.
func (c *Conn) Close() error {
	if c.trans == nil {
		return nil
	}
	err := c.trans.Close()
	c.trans, c.client = nil, nil
	return err
}
