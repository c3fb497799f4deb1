package sink

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Transport is a connection to a network destination, used by one Outbox
// goroutine at a time.
type Transport[T any] interface {
	// Dial opens the connection.
	Dial(ctx context.Context) error
	// Send delivers a batch. An error means the connection is no longer
	// usable: the Outbox closes it, keeps the batch, and dials again.
	Send(ctx context.Context, batch []T) error
	// Close closes the connection (it may not be open).
	Close() error
}

// OutboxOptions tune an Outbox.
type OutboxOptions struct {
	// MaxItems bounds the buffer; when it is full the oldest item is dropped.
	MaxItems int
	// BatchMax bounds the items of one Send.
	BatchMax int
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// failed connects or sends.
	ReconnectMin, ReconnectMax time.Duration
}

// Outbox buffers items for a destination and delivers them from its own
// goroutine, so that a slow or dead destination never blocks reading stdin.
// Items go out as soon as they arrive, batched by whatever accumulated during
// the previous send. While the destination is down the buffer fills, the
// oldest items are dropped and counted, and the connection is retried with
// exponential backoff; delivery resumes by itself once the destination is back.
type Outbox[T any] struct {
	tr   Transport[T]
	opts OutboxOptions
	log  zerolog.Logger

	sent, dropped, sendFail, connFail, connects *atomic.Int64

	mu      sync.Mutex
	q       []T // q[head:] are the waiting items, oldest first
	head    int
	closing bool
	wake    chan struct{}
	abort   chan struct{} // closed when Close gives up waiting
	done    chan struct{}
}

// NewOutbox starts an Outbox on tr; Close stops it.
func NewOutbox[T any](tr Transport[T], opts OutboxOptions, c *Counters, log zerolog.Logger) *Outbox[T] {
	if opts.MaxItems <= 0 {
		opts.MaxItems = 10000
	}
	if opts.BatchMax <= 0 {
		opts.BatchMax = 500
	}
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = 100 * time.Millisecond
	}
	if opts.ReconnectMax < opts.ReconnectMin {
		opts.ReconnectMax = opts.ReconnectMin
	}
	o := &Outbox[T]{
		tr: tr, opts: opts, log: log,
		sent: c.Counter(CountSent), dropped: c.Counter(CountDropped),
		sendFail: c.Counter(CountSendFailures), connFail: c.Counter(CountConnectFailures),
		connects: c.Counter(CountConnects),
		wake:     make(chan struct{}, 1), abort: make(chan struct{}), done: make(chan struct{}),
	}
	go o.run()
	return o
}

// Put queues an item, dropping the oldest one when the buffer is full.
func (o *Outbox[T]) Put(item T) {
	o.mu.Lock()
	if len(o.q)-o.head >= o.opts.MaxItems {
		var zero T
		o.q[o.head] = zero
		o.head++
		o.dropped.Add(1)
	}
	// Reclaim the consumed front once it is at least half of the slice.
	if o.head > 0 && o.head >= len(o.q)/2 {
		n := copy(o.q, o.q[o.head:])
		clear(o.q[n:])
		o.q, o.head = o.q[:n], 0
	}
	o.q = append(o.q, item)
	o.mu.Unlock()
	o.signal()
}

// Len returns how many items wait.
func (o *Outbox[T]) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q) - o.head
}

func (o *Outbox[T]) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Close delivers what is buffered, waiting until ctx ends at most; whatever
// is still undelivered then is counted as dropped.
func (o *Outbox[T]) Close(ctx context.Context) error {
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	o.signal()
	select {
	case <-o.done:
	case <-ctx.Done():
		close(o.abort)
		<-o.done
	}
	o.mu.Lock()
	left := len(o.q) - o.head
	o.q, o.head = nil, 0
	o.mu.Unlock()
	if left > 0 {
		o.dropped.Add(int64(left))
		o.log.Warn().Int("records", left).Msg("destination unreachable at exit: buffered records dropped")
	}
	return o.tr.Close()
}

// take removes up to BatchMax items from the front.
func (o *Outbox[T]) take() []T {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := min(len(o.q)-o.head, o.opts.BatchMax)
	batch := make([]T, n)
	copy(batch, o.q[o.head:o.head+n])
	clear(o.q[o.head : o.head+n])
	o.head += n
	return batch
}

// putBack returns an unsent batch to the front, keeping the newest items
// when that overflows the buffer.
func (o *Outbox[T]) putBack(batch []T) {
	o.mu.Lock()
	defer o.mu.Unlock()
	waiting := o.q[o.head:]
	room := o.opts.MaxItems - len(waiting)
	if room < len(batch) {
		drop := len(batch) - max(room, 0)
		o.dropped.Add(int64(drop))
		batch = batch[drop:]
	}
	q := make([]T, 0, len(batch)+len(waiting))
	q = append(q, batch...)
	q = append(q, waiting...)
	o.q, o.head = q, 0
}

// ready waits until there is something to send; it returns false when the
// outbox should stop.
func (o *Outbox[T]) ready() bool {
	for {
		o.mu.Lock()
		n, closing := len(o.q)-o.head, o.closing
		o.mu.Unlock()
		if n > 0 {
			return true
		}
		if closing {
			return false
		}
		select {
		case <-o.wake:
		case <-o.abort:
			return false
		}
	}
}

func (o *Outbox[T]) run() {
	defer close(o.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-o.abort:
			cancel()
		case <-o.done:
		}
	}()
	connected := false
	delay := time.Duration(0)
	failures := 0
	backoff := func(what string, err error) bool {
		failures++
		if delay == 0 {
			delay = o.opts.ReconnectMin
		} else {
			delay = min(delay*2, o.opts.ReconnectMax)
		}
		// Log the first failure of an outage, then every 10th.
		if failures == 1 || failures%10 == 0 {
			o.log.Warn().Err(err).Int("failures", failures).Dur("retry_in", delay).
				Int("buffered", o.Len()).Msg(what)
		}
		// Jitter keeps many sinks of a topology from reconnecting in step.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-o.abort:
			return false
		}
	}
	for o.ready() {
		if !connected {
			if err := o.tr.Dial(ctx); err != nil {
				o.connFail.Add(1)
				if !backoff("cannot connect to the destination; buffering", err) {
					return
				}
				continue
			}
			connected = true
			o.connects.Add(1)
			if failures > 0 {
				o.log.Info().Int("failures", failures).Msg("connected to the destination again")
			}
		}
		batch := o.take()
		if len(batch) == 0 {
			continue
		}
		if err := o.tr.Send(ctx, batch); err != nil {
			o.sendFail.Add(1)
			o.putBack(batch)
			_ = o.tr.Close()
			connected = false
			if !backoff("send failed; reconnecting", err) {
				return
			}
			continue
		}
		o.sent.Add(int64(len(batch)))
		failures, delay = 0, 0
	}
}
