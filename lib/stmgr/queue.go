package stmgr

import (
	"slices"
	"sync"
)

// Batch encodings.
const (
	encRaw  byte = 1 // plain lines, one single-field tuple each
	encJSON byte = 2 // internal tuple lines: "<meta>\t<values JSON array>"
	encCtl  byte = 3 // lines ready for an instance's stdin (spout acks, activate...)
	encAck  byte = 4 // 21-byte ack/fail records for another container
	encBP   byte = 5 // back-pressure start (n=1) or stop (n=0) for a peer
)

// Batch sizes: a batch is handed on once it holds flushAt bytes; buffers that
// grew past maxPooled (long lines) are not kept.
const (
	batchCap  = 64 << 10
	flushAt   = 48 << 10
	maxPooled = 1 << 20
)

// batch is a run of lines from one source task on one stream for one
// destination task. It is the unit of every queue and of the wire.
type batch struct {
	src, dst int32
	stream   *Stream
	enc      byte
	n        int
	buf      []byte
	// front is set on batches queued by pushFront (not counted in the
	// queue's bytes and tuples).
	front bool
}

var batchPool = sync.Pool{New: func() any { return &batch{buf: make([]byte, 0, batchCap)} }}

func getBatch() *batch { return batchPool.Get().(*batch) }

func putBatch(b *batch) {
	if cap(b.buf) > maxPooled || cap(b.buf) < batchCap/2 {
		return
	}
	b.buf = b.buf[:0]
	b.n = 0
	b.stream = nil
	b.front = false
	batchPool.Put(b)
}

// Queue is a FIFO of batches with byte accounting. Crossing the high
// watermark marks it congested (which starts back pressure); falling below
// the low watermark clears that. Producers that may block wait while the
// queue holds more than the hard limit, which bounds memory even when a
// consumer never reads.
type Queue struct {
	name     string
	mu       sync.Mutex
	notEmpty sync.Cond
	notFull  sync.Cond
	items    []*batch
	head     int
	bytes    int64
	tuples   int64
	high     int64
	low      int64
	hard     int64
	// exempt queues (a spout's control lines) never congest nor block.
	exempt    bool
	lossy     bool
	congested bool
	closed    bool
	onChange  func(q *Queue, congested bool)
	// dropped counts tuples refused because the queue was full and the
	// producer could not wait.
	dropped int64
}

func newQueue(name string, high, low, hard int64, onChange func(*Queue, bool)) *Queue {
	q := &Queue{name: name, high: high, low: low, hard: hard, onChange: onChange}
	q.notEmpty.L = &q.mu
	q.notFull.L = &q.mu
	return q
}

// push appends b. With wait, it blocks while the queue is over its hard
// limit; without, a full queue refuses the batch (false) when drop is set
// and takes it anyway otherwise.
func (q *Queue) push(b *batch, wait, drop bool) bool {
	size := int64(len(b.buf))
	q.mu.Lock()
	if !q.exempt {
		for wait && !q.lossy && q.bytes > q.hard && !q.closed {
			q.notFull.Wait()
		}
		if (drop || q.lossy) && q.bytes > q.hard {
			q.dropped += int64(b.n)
			q.mu.Unlock()
			putBatch(b)
			return false
		}
	}
	if q.closed {
		q.mu.Unlock()
		putBatch(b)
		return false
	}
	q.items = append(q.items, b)
	q.bytes += size
	q.tuples += int64(b.n)
	changed := false
	if !q.exempt && !q.congested && q.bytes > q.high {
		q.congested, changed = true, true
	}
	q.notEmpty.Signal()
	q.mu.Unlock()
	if changed && q.onChange != nil {
		q.onChange(q, true)
	}
	return true
}

// pushFront puts a control batch ahead of the data queued, after the
// control batches queued before it (so that a peer or a spout sees state
// changes in order); it is not counted against the watermarks.
func (q *Queue) pushFront(b *batch) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		putBatch(b)
		return
	}
	b.front = true
	i := q.head
	for i < len(q.items) && q.items[i].front {
		i++
	}
	if i == q.head && q.head > 0 {
		q.head--
		q.items[q.head] = b
	} else {
		q.items = slices.Insert(q.items, i, b)
	}
	q.notEmpty.Signal()
	q.mu.Unlock()
}

// pop takes up to len(dst) batches, waiting for at least one. It returns
// nil once the queue is closed and empty.
func (q *Queue) pop(dst []*batch) []*batch {
	q.mu.Lock()
	for q.head == len(q.items) && !q.closed {
		q.notEmpty.Wait()
	}
	n := 0
	for q.head < len(q.items) && n < cap(dst) {
		b := q.items[q.head]
		q.items[q.head] = nil
		q.head++
		dst = append(dst, b)
		n++
		if b.enc == encBP || b.front {
			continue
		}
		q.bytes -= int64(len(b.buf))
		q.tuples -= int64(b.n)
	}
	if q.head == len(q.items) {
		q.items = q.items[:0]
		q.head = 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		k := copy(q.items, q.items[q.head:])
		clear(q.items[k:])
		q.items = q.items[:k]
		q.head = 0
	}
	changed := false
	if q.congested && q.bytes < q.low {
		q.congested, changed = false, true
	}
	if q.bytes <= q.hard {
		q.notFull.Broadcast()
	}
	q.mu.Unlock()
	if changed && q.onChange != nil {
		q.onChange(q, false)
	}
	if n == 0 {
		return nil
	}
	return dst
}

// unget puts batches back at the head (a write to a peer failed).
func (q *Queue) unget(bs []*batch) {
	if len(bs) == 0 {
		return
	}
	q.mu.Lock()
	rest := append([]*batch(nil), q.items[q.head:]...)
	q.items = append(append(q.items[:0], bs...), rest...)
	q.head = 0
	for _, b := range bs {
		if b.enc == encBP || b.front {
			continue
		}
		q.bytes += int64(len(b.buf))
		q.tuples += int64(b.n)
	}
	q.notEmpty.Signal()
	q.mu.Unlock()
}

// drain drops everything queued (a peer that is gone for good).
func (q *Queue) drain() (tuples int64) {
	q.mu.Lock()
	for _, b := range q.items[q.head:] {
		tuples += int64(b.n)
		putBatch(b)
	}
	q.items, q.head, q.bytes, q.tuples = q.items[:0], 0, 0, 0
	changed := q.congested
	q.congested = false
	q.notFull.Broadcast()
	q.mu.Unlock()
	if changed && q.onChange != nil {
		q.onChange(q, false)
	}
	return tuples
}

// setLossy makes a full queue drop instead of making producers wait (a
// peer that is unreachable).
func (q *Queue) setLossy(v bool) {
	q.mu.Lock()
	q.lossy = v
	q.notFull.Broadcast()
	q.mu.Unlock()
}

func (q *Queue) close() {
	q.mu.Lock()
	q.closed = true
	q.notEmpty.Broadcast()
	q.notFull.Broadcast()
	q.mu.Unlock()
}

// Depth reports the queued bytes and tuples.
func (q *Queue) Depth() (bytes, tuples int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes, q.tuples
}

func (q *Queue) takeDropped() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.dropped
	q.dropped = 0
	return d
}
