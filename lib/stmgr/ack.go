package stmgr

import (
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heronkit/heronkit/lib/instance"
)

// At-least-once delivery follows Storm's and Heron's XOR scheme. A spout
// message gets a random root key; every copy of a tuple sent anywhere gets a
// random tuple key. The spout's container keeps, per root, the XOR of all
// keys announced (emitted) and retired (acked); when it returns to zero the
// whole tuple tree is done. A bolt acking tuple t retires t's key and
// announces the keys of t's children in one value: key(t) XOR keys(children).

// root names a spout message: the spout task and the root key.
type root struct {
	task int32
	key  uint64
}

// pend is a spout message in flight.
type pend struct {
	msgID  []byte
	xor    uint64
	start  time.Time
	stream int // local output stream index
}

// acker tracks the messages of one spout task.
type acker struct {
	l       *local
	mu      sync.Mutex
	room    sync.Cond
	pending map[uint64]*pend
	max     int
	timeout time.Duration
	closed  bool
}

func newAcker(l *local, max int, timeout time.Duration) *acker {
	a := &acker{l: l, pending: map[uint64]*pend{}, max: max, timeout: timeout}
	a.room.L = &a.mu
	return a
}

// register records a new message whose copies carry keys XORing to xor. A
// message that went nowhere is complete at once.
func (a *acker) register(key uint64, msgID []byte, stream int, xor uint64) {
	a.mu.Lock()
	if xor == 0 {
		a.mu.Unlock()
		a.l.stats.ack[stream].Add(1)
		a.l.spoutEvent("ack", msgID)
		return
	}
	a.pending[key] = &pend{msgID: msgID, xor: xor, start: time.Now(), stream: stream}
	a.mu.Unlock()
}

// apply folds an ack value into a message, or fails it.
func (a *acker) apply(kind byte, key, value uint64) {
	a.mu.Lock()
	p := a.pending[key]
	if p == nil {
		a.mu.Unlock()
		return
	}
	if kind == ackKind {
		p.xor ^= value
		if p.xor != 0 {
			a.mu.Unlock()
			return
		}
	}
	delete(a.pending, key)
	a.room.Broadcast()
	a.mu.Unlock()
	lat := time.Since(p.start).Nanoseconds()
	st := a.l.stats
	if kind == ackKind {
		st.ack[p.stream].Add(1)
		st.completeNs[p.stream].Add(lat)
		st.completeN[p.stream].Add(1)
		a.l.spoutEvent("ack", p.msgID)
	} else {
		st.fail[p.stream].Add(1)
		st.failNs[p.stream].Add(lat)
		st.failN[p.stream].Add(1)
		a.l.spoutEvent("fail", p.msgID)
	}
}

// sweep fails the messages older than the message timeout.
func (a *acker) sweep(now time.Time) {
	var expired []*pend
	a.mu.Lock()
	for k, p := range a.pending {
		if now.Sub(p.start) >= a.timeout {
			expired = append(expired, p)
			delete(a.pending, k)
		}
	}
	if len(expired) > 0 {
		a.room.Broadcast()
	}
	a.mu.Unlock()
	for _, p := range expired {
		a.l.stats.timeout[p.stream].Add(1)
		a.l.stats.fail[p.stream].Add(1)
		a.l.spoutEvent("fail", p.msgID)
	}
}

// waitRoom blocks while topology.max.spout.pending messages are in flight.
func (a *acker) waitRoom(stop *atomic.Bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.max > 0 && len(a.pending) >= a.max && !a.closed && !stop.Load() {
		a.room.Wait()
	}
	return !a.closed && !stop.Load()
}

// full reports whether topology.max.spout.pending messages are in flight.
func (a *acker) full() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.max > 0 && len(a.pending) >= a.max
}

func (a *acker) wake() {
	a.mu.Lock()
	a.room.Broadcast()
	a.mu.Unlock()
}

func (a *acker) inFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// reset forgets every message: the spout process that knew them is gone.
func (a *acker) reset() {
	a.mu.Lock()
	clear(a.pending)
	a.room.Broadcast()
	a.mu.Unlock()
}

func (a *acker) close() {
	a.mu.Lock()
	a.closed = true
	a.room.Broadcast()
	a.mu.Unlock()
}

// flight tracks the tuples a JSON-mode bolt holds and has not acked yet.
type flight struct {
	mu     sync.Mutex
	next   uint64
	tuples map[uint64]*held
}

type held struct {
	roots []root
	key   uint64
	// xors[j] is the XOR of the children's keys announced to roots[j]
	// (nil until a child is anchored).
	xors  []uint64
	input int
	at    time.Time
}

// ackValue is what acking the held tuple sends to its j-th root.
func (h *held) ackValue(j int) uint64 {
	if h.xors == nil {
		return h.key
	}
	return h.key ^ h.xors[j]
}

func newFlight() *flight { return &flight{tuples: map[uint64]*held{}} }

func (f *flight) add(h *held) uint64 {
	f.mu.Lock()
	f.next++
	id := f.next
	f.tuples[id] = h
	f.mu.Unlock()
	return id
}

// take removes a held tuple (ack or fail).
func (f *flight) take(id uint64) *held {
	f.mu.Lock()
	h := f.tuples[id]
	delete(f.tuples, id)
	f.mu.Unlock()
	return h
}

// anchor folds a child's key into its anchors and returns their roots. The
// child retires its key once per root, so the key is announced once per root
// too: by the first anchor holding that root (anchors sharing a root, or an
// anchor named twice, must not announce it again).
func (f *flight) anchor(ids []uint64, key uint64, roots []root) []root {
	f.mu.Lock()
	for _, id := range ids {
		h := f.tuples[id]
		if h == nil {
			continue
		}
		for j, r := range h.roots {
			dup := false
			for _, have := range roots {
				if have == r {
					dup = true
					break
				}
			}
			if !dup {
				roots = append(roots, r)
				if key != 0 {
					if h.xors == nil {
						h.xors = make([]uint64, len(h.roots))
					}
					h.xors[j] ^= key
				}
			}
		}
	}
	f.mu.Unlock()
	return roots
}

// rootsOf returns the roots of the given held tuples without changing them.
func (f *flight) rootsOf(ids []uint64, roots []root) []root {
	return f.anchor(ids, 0, roots)
}

// expire forgets the tuples held longer than the message timeout: their
// spout messages have failed by now, and a bolt that never acks must not
// make the map grow without bound.
func (f *flight) expire(now time.Time, timeout time.Duration) {
	f.mu.Lock()
	for id, h := range f.tuples {
		if now.Sub(h.at) >= timeout {
			delete(f.tuples, id)
		}
	}
	f.mu.Unlock()
}

func (f *flight) reset() {
	f.mu.Lock()
	clear(f.tuples)
	f.mu.Unlock()
}

// Tuple meta: "" for an untracked tuple, else "k<key>" followed by
// " <task>:<root key>" per root, keys in 16 hex digits.
func appendMeta(buf []byte, key uint64, roots []root) []byte {
	buf = append(buf, 'k')
	buf = appendHex(buf, key)
	for _, r := range roots {
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(r.task), 10)
		buf = append(buf, ':')
		buf = appendHex(buf, r.key)
	}
	return buf
}

func appendHex(buf []byte, v uint64) []byte {
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return hex.AppendEncode(buf, b[:])
}

func parseHex(s []byte) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// parseMeta reads a tuple meta; ok is false for an untracked tuple.
func parseMeta(meta []byte, roots []root) (key uint64, out []root, ok bool) {
	if len(meta) < 17 || meta[0] != 'k' {
		return 0, roots, false
	}
	key, ok = parseHex(meta[1:17])
	if !ok {
		return 0, roots, false
	}
	rest := meta[17:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
		colon := -1
		for i, c := range rest {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon < 0 || len(rest) < colon+17 {
			return 0, roots, false
		}
		task, err := strconv.ParseInt(string(rest[:colon]), 10, 32)
		if err != nil {
			return 0, roots, false
		}
		rk, ok := parseHex(rest[colon+1 : colon+17])
		if !ok {
			return 0, roots, false
		}
		roots = append(roots, root{task: int32(task), key: rk})
		rest = rest[colon+17:]
	}
	return key, roots, true
}

// splitTuple splits an internal JSON tuple line into meta and values.
func splitTuple(line []byte) (meta, values []byte) {
	for i, c := range line {
		if c == '\t' {
			return line[:i], line[i+1:]
		}
	}
	return nil, line
}

// spoutEvent queues an ack/fail line for a JSON-mode spout's stdin.
func (l *local) spoutEvent(typ string, msgID []byte) {
	if l.task.Component.Mode != "json" {
		return
	}
	b := &batch{enc: encCtl, n: 1, buf: instance.AppendSpoutEvent(make([]byte, 0, 32+len(msgID)), typ, msgID)}
	l.in.push(b, false, false)
}
