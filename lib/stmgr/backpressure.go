package stmgr

import (
	"sync"
	"sync/atomic"
	"time"
)

// backPressure decides when the spouts of this container may run: not while
// any local queue is congested (back pressure we initiated), not while a peer
// container says it is congested, and not while the topology is deactivated.
// Bolts are never stopped by it, so tuples already in flight always drain,
// as in Heron's stream manager.
type backPressure struct {
	mu       sync.Mutex
	cond     sync.Cond
	local    map[*Queue]bool
	remote   map[int32]bool
	inactive bool
	closed   bool
	paused   atomic.Bool
	// notify tells the peers when this container starts or stops initiating.
	notify func(on bool)

	initiated, aggregate, byRemote spent
	byQueue                        map[string]*spent
}

// spent accumulates the time a condition held, for the time-spent metrics.
type spent struct {
	since time.Time
	total time.Duration
}

func (s *spent) set(on bool, now time.Time) {
	switch {
	case on && s.since.IsZero():
		s.since = now
	case !on && !s.since.IsZero():
		s.total += now.Sub(s.since)
		s.since = time.Time{}
	}
}

// take returns the time spent since the last take and restarts the count.
func (s *spent) take(now time.Time) time.Duration {
	d := s.total
	if !s.since.IsZero() {
		d += now.Sub(s.since)
		s.since = now
	}
	s.total = 0
	return d
}

func newBackPressure() *backPressure {
	b := &backPressure{local: map[*Queue]bool{}, remote: map[int32]bool{}, inactive: true, byQueue: map[string]*spent{}}
	b.cond.L = &b.mu
	b.paused.Store(true)
	return b
}

func (b *backPressure) queueChanged(q *Queue, on bool) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	was := len(b.local) > 0
	if on {
		b.local[q] = true
	} else {
		delete(b.local, q)
	}
	s := b.byQueue[q.name]
	if s == nil {
		s = &spent{}
		b.byQueue[q.name] = s
	}
	s.set(on, now)
	is := len(b.local) > 0
	b.initiated.set(is, now)
	if was != is && b.notify != nil {
		b.notify(is)
	}
	b.update(now)
}

func (b *backPressure) setRemote(container int32, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if on {
		b.remote[container] = true
	} else {
		delete(b.remote, container)
	}
	now := time.Now()
	b.byRemote.set(len(b.remote) > 0, now)
	b.update(now)
}

func (b *backPressure) setActive(active bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inactive = !active
	b.update(time.Now())
}

func (b *backPressure) close() {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// initiating reports whether this container currently asks peers to stop.
func (b *backPressure) initiating() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.local) > 0
}

func (b *backPressure) update(now time.Time) {
	congested := len(b.local) > 0 || len(b.remote) > 0
	b.aggregate.set(congested, now)
	p := congested || b.inactive
	b.paused.Store(p)
	if !p {
		b.cond.Broadcast()
	}
}

// wait blocks while spouts must not run. It returns false once closed or
// once stop is set (the spout's process is gone).
func (b *backPressure) wait(stop *atomic.Bool) bool {
	if !b.paused.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.paused.Load() && !b.closed && !stop.Load() {
		b.cond.Wait()
	}
	return !b.closed && !stop.Load()
}

// wake makes waiting spouts look at their stop flags.
func (b *backPressure) wake() {
	b.mu.Lock()
	b.cond.Broadcast()
	b.mu.Unlock()
}

// times returns and resets the time-spent counters, in milliseconds.
func (b *backPressure) times() (initiated, aggregate, byRemote int64, byQueue map[string]int64) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	byQueue = map[string]int64{}
	for name, s := range b.byQueue {
		byQueue[name] = s.take(now).Milliseconds()
	}
	return b.initiated.take(now).Milliseconds(), b.aggregate.take(now).Milliseconds(), b.byRemote.take(now).Milliseconds(), byQueue
}
