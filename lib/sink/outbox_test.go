package sink

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// gate is a Transport whose destination is up or down at the test's
// command; it records what it delivered. It tests the buffer's bookkeeping;
// the sinks' tests use real servers.
type gate struct {
	mu   sync.Mutex
	up   bool
	got  []int
	sent chan struct{}
}

func (g *gate) Dial(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.up {
		return errors.New("down")
	}
	return nil
}

func (g *gate) Send(_ context.Context, b []int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.up {
		return errors.New("down")
	}
	g.got = append(g.got, b...)
	select {
	case g.sent <- struct{}{}:
	default:
	}
	return nil
}

func (g *gate) Close() error { return nil }

func (g *gate) set(up bool) {
	g.mu.Lock()
	g.up = up
	g.mu.Unlock()
}

func TestOutboxDropsOldestWhileDown(t *testing.T) {
	g := &gate{sent: make(chan struct{}, 1)}
	c := NewCounters()
	o := NewOutbox[int](g, OutboxOptions{MaxItems: 3, ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond}, c, zerolog.Nop())
	for i := 1; i <= 10; i++ {
		o.Put(i)
	}
	if n := o.Len(); n != 3 {
		t.Fatalf("buffered %d, want 3", n)
	}
	g.set(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(g.got) != 3 || g.got[0] != 8 || g.got[2] != 10 {
		t.Errorf("delivered %v, want the newest [8 9 10]", g.got)
	}
	if d := c.Get(CountDropped); d != 7 {
		t.Errorf("dropped %d, want 7", d)
	}
}

func TestOutboxCloseGivesUp(t *testing.T) {
	g := &gate{}
	c := NewCounters()
	o := NewOutbox[int](g, OutboxOptions{ReconnectMin: time.Millisecond}, c, zerolog.Nop())
	o.Put(1)
	o.Put(2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := c.Get(CountDropped); d != 2 {
		t.Errorf("dropped %d, want 2", d)
	}
}

func TestOutboxPutBackKeepsOrder(t *testing.T) {
	c := NewCounters()
	o := &Outbox[int]{opts: OutboxOptions{MaxItems: 4, BatchMax: 2}, dropped: c.Counter(CountDropped)}
	o.q = []int{3, 4, 5}
	o.putBack([]int{1, 2})
	if got := o.q[o.head:]; len(got) != 4 || got[0] != 2 || got[3] != 5 {
		t.Errorf("queue %v, want [2 3 4 5]", got)
	}
	if c.Get(CountDropped) != 1 {
		t.Errorf("dropped %d, want 1", c.Get(CountDropped))
	}
}
