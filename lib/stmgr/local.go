package stmgr

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heronkit/heronkit/lib/instance"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// Read sizes for instance stdout: reads start at readBuf bytes; a line longer
// than maxLine is cut there.
const (
	readBuf = 256 << 10
	maxLine = 16 << 20
)

// local is one task of this container: its input queue, the process
// currently attached to it, and its counters.
type local struct {
	m     *Manager
	task  *Task
	in    *Queue
	stats *TaskStats

	mu     sync.Mutex
	cond   sync.Cond
	stdin  io.Writer
	gen    uint64
	logw   io.Writer
	closed bool

	acker  *acker  // spouts
	flight *flight // JSON-mode bolts of an at-least-once topology
	user   userMetrics
}

func (l *local) attach(stdin io.Writer, logw io.Writer) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	l.stdin, l.logw = stdin, logw
	l.cond.Broadcast()
	return l.gen
}

// detach forgets the process of generation gen: tuples it held are lost
// (at-least-once spouts replay them after the message timeout).
func (l *local) detach(gen uint64) {
	l.mu.Lock()
	if l.gen != gen {
		l.mu.Unlock()
		return
	}
	l.stdin = nil
	l.mu.Unlock()
	if l.acker != nil {
		l.acker.reset()
	}
	if l.flight != nil {
		l.flight.reset()
	}
}

func (l *local) close() {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	l.in.close()
	if l.acker != nil {
		l.acker.close()
	}
}

// waitStdin waits until a process is attached; nil means closed.
func (l *local) waitStdin() (io.Writer, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.stdin == nil && !l.closed {
		l.cond.Wait()
	}
	if l.closed {
		return nil, 0
	}
	return l.stdin, l.gen
}

func (l *local) logWriter() io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logw
}

// control queues a control line for a JSON-mode instance.
func (l *local) control(typ string) {
	if l.task.Component.Mode != native.ModeJSON {
		return
	}
	b := &batch{enc: encCtl, n: 1, buf: instance.AppendControl(nil, typ)}
	l.in.pushFront(b)
}

// writeLoop feeds the attached process from the input queue for the whole
// life of the manager, waiting across restarts.
func (l *local) writeLoop() {
	defer l.m.wg.Done()
	bs := make([]*batch, 0, 16)
	var out []byte
	acks := newAckBuf(l.m)
	var roots []root
	comp := l.task.Component
	for {
		bs = l.in.pop(bs[:0])
		if bs == nil {
			return
		}
		for i, b := range bs {
			bs[i] = nil
			w, gen := l.waitStdin()
			if w == nil {
				putBatch(b)
				continue
			}
			data := b.buf
			if b.enc == encJSON || (b.enc == encRaw && comp.Mode == native.ModeJSON) {
				out = l.convert(out[:0], b, acks, &roots)
				data = out
			}
			t0 := time.Now()
			_, err := w.Write(data)
			dt := time.Since(t0)
			switch {
			case err != nil:
				// The process is gone or closed its stdin; wait for the
				// next one. The batch is lost (at most once).
				l.mu.Lock()
				if l.gen == gen {
					l.stdin = nil
				}
				l.mu.Unlock()
				if b.enc != encCtl {
					l.m.srv.toWorkersLost.Add(int64(b.n))
				}
			case b.enc != encCtl:
				if in, ok := comp.inByKey[b.stream]; ok {
					l.stats.exec[in].Add(int64(b.n))
					l.stats.execNs[in].Add(dt.Nanoseconds())
				}
				l.m.srv.toWorkers.Add(int64(b.n))
			}
			putBatch(b)
		}
		acks.flush()
	}
}

// convert turns a batch into the lines the destination reads: JSON tuples
// for a JSON-mode bolt, plain lines for a raw one (acking tracked tuples on
// delivery, since a raw bolt cannot ack).
func (l *local) convert(out []byte, b *batch, acks *ackBuf, roots *[]root) []byte {
	comp := l.task.Component
	srcName := ""
	if t := l.m.plan.Task(b.src); t != nil {
		srcName = t.Component.Name
	}
	input := comp.inByKey[b.stream]
	var vals []byte
	now := time.Now()
	p := b.buf
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			i = len(p)
		}
		line := p[:i]
		if i < len(p) {
			p = p[i+1:]
		} else {
			p = nil
		}
		if b.enc == encRaw {
			vals = append(instance.AppendStringBytes(append(vals[:0], '['), line), ']')
			out = instance.AppendTuple(out, 0, srcName, b.stream.ID, b.src, vals)
			continue
		}
		meta, values := splitTuple(line)
		key, rs, tracked := parseMeta(meta, (*roots)[:0])
		*roots = rs
		if comp.Mode == native.ModeRaw {
			out = instance.RawLine(out, values)
			if tracked {
				for _, r := range rs {
					acks.add(ackKind, r.task, r.key, key)
				}
			}
			continue
		}
		var id uint64
		if tracked {
			if l.flight != nil {
				id = l.flight.add(&held{roots: append([]root(nil), rs...), key: key, input: input, at: now})
			} else {
				for _, r := range rs {
					acks.add(ackKind, r.task, r.key, key)
				}
			}
		}
		out = instance.AppendTuple(out, id, srcName, b.stream.ID, b.src, values)
	}
	return out
}

// readLoop reads the instance's stdout until EOF and routes every line.
func (l *local) readLoop(r io.Reader, stop *atomic.Bool) error {
	e := newEmitter(l)
	if l.acker != nil && l.acker.max > 0 && l.m.plan.AtLeastOnce {
		e.stop = stop
	}
	buf := make([]byte, readBuf)
	start, end := 0, 0
	spout := l.task.Component.Spout
	for {
		if spout {
			if !l.m.bp.wait(stop) {
				return nil
			}
			if !l.acker.waitRoom(stop) {
				return nil
			}
		}
		if end == len(buf) {
			switch {
			case start > 0:
				end = copy(buf, buf[start:end])
				start = 0
			case len(buf) < maxLine:
				nb := make([]byte, 2*len(buf))
				copy(nb, buf[:end])
				buf = nb
			default:
				l.m.log.Warn().Str("instance", l.task.InstanceID).Int("bytes", end).Msg("line too long; cut")
				e.lines(append(buf[:end:end], '\n'))
				e.flush()
				start, end = 0, 0
			}
		}
		n, err := r.Read(buf[end:])
		end += n
		if n > 0 {
			if last := bytes.LastIndexByte(buf[start:end], '\n'); last >= 0 {
				e.lines(buf[start : start+last+1])
				start += last + 1
				if start == end {
					start, end = 0, 0
				}
			}
			e.flush()
		}
		if err != nil {
			if start < end {
				e.lines(append(buf[start:end:end], '\n'))
				e.flush()
			}
			if err == io.EOF || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// emitter routes the output of one task. It belongs to the goroutine
// reading that task's stdout, so it needs no locks.
type emitter struct {
	l       *local
	m       *Manager
	src     *Task
	comp    *Component
	nOut    int
	open    []*batch
	dirty   []int
	rr      [][]uint32
	emitted []int64
	acks    *ackBuf
	slots   []int
	keys    []uint64
	roots   []root
	line    []byte
	key     []byte
	scratch bytes.Buffer
	badLogs int
	// stop is set for a spout whose messages are bounded by
	// topology.max.spout.pending.
	stop *atomic.Bool
}

func newEmitter(l *local) *emitter {
	c := l.task.Component
	e := &emitter{l: l, m: l.m, src: l.task, comp: c, nOut: len(c.Outputs), acks: newAckBuf(l.m)}
	e.open = make([]*batch, len(l.m.plan.Tasks)*e.nOut)
	e.emitted = make([]int64, e.nOut)
	e.rr = make([][]uint32, e.nOut)
	for i, st := range c.Outputs {
		e.rr[i] = make([]uint32, len(st.Subs))
		for k, sub := range st.Subs {
			// Start each source at a different target so that shuffles
			// from many sources spread at once.
			e.rr[i][k] = uint32(int(l.task.Index) % len(sub.Slots))
		}
	}
	return e
}

// lines routes a run of complete lines (each ending in '\n').
func (e *emitter) lines(p []byte) {
	if e.comp.Mode == native.ModeRaw {
		st := e.comp.Outputs[0]
		if len(st.Subs) == 0 {
			e.emitted[0] += int64(bytes.Count(p, []byte{'\n'}))
			return
		}
		for len(p) > 0 {
			i := bytes.IndexByte(p, '\n')
			e.raw(st, p[:i])
			p = p[i+1:]
		}
		return
	}
	for len(p) > 0 {
		// topology.max.spout.pending holds for every line, not only
		// between reads (one read can bring many messages).
		if e.stop != nil && e.l.acker.full() {
			e.flush()
			if !e.l.acker.waitRoom(e.stop) {
				return // the spout is gone or the manager closed
			}
		}
		i := bytes.IndexByte(p, '\n')
		e.json(p[:i])
		p = p[i+1:]
	}
}

func (e *emitter) raw(st *Stream, line []byte) {
	e.emitted[0]++
	for k, sub := range st.Subs {
		switch sub.Grouping {
		case apipb.Grouping_FIELDS:
			e.add(sub.Slots[hashKey(line)%uint64(len(sub.Slots))], st, encRaw, line)
		case apipb.Grouping_ALL:
			for _, s := range sub.Slots {
				e.add(s, st, encRaw, line)
			}
		case apipb.Grouping_LOWEST:
			e.add(sub.Slots[0], st, encRaw, line)
		default:
			rr := e.rr[0]
			i := rr[k]
			e.add(sub.Slots[i], st, encRaw, line)
			if i++; int(i) == len(sub.Slots) {
				i = 0
			}
			rr[k] = i
		}
	}
}

// add appends a line to the batch for (slot, stream), handing the batch on
// when it is full.
func (e *emitter) add(slot int, st *Stream, enc byte, line []byte) {
	idx := slot*e.nOut + st.Local
	b := e.open[idx]
	if b == nil {
		b = getBatch()
		b.src, b.dst, b.stream, b.enc = e.src.ID, e.m.plan.Tasks[slot].ID, st, enc
		e.open[idx] = b
		e.dirty = append(e.dirty, idx)
	}
	b.buf = append(b.buf, line...)
	b.buf = append(b.buf, '\n')
	b.n++
	if len(b.buf) >= flushAt {
		e.open[idx] = nil
		e.send(slot, b)
	}
}

func (e *emitter) send(slot int, b *batch) {
	q := e.m.dest[slot]
	q.push(b, true, false)
}

// flush hands on every open batch and the counters.
func (e *emitter) flush() {
	for _, idx := range e.dirty {
		if b := e.open[idx]; b != nil {
			e.open[idx] = nil
			e.send(idx/e.nOut, b)
		}
	}
	e.dirty = e.dirty[:0]
	var total int64
	for i, n := range e.emitted {
		if n != 0 {
			e.l.stats.emit[i].Add(n)
			total += n
			e.emitted[i] = 0
		}
	}
	if total != 0 {
		e.m.srv.fromWorkers.Add(total)
	}
	e.acks.flush()
}

// json handles one output line of a JSON-mode component.
func (e *emitter) json(line []byte) {
	msg, err := instance.Parse(line, &e.scratch)
	if err != nil {
		if err != instance.ErrEmpty {
			e.bad(line, err)
		}
		return
	}
	switch msg.Kind {
	case instance.KindEmit:
		e.emitJSON(&msg)
	case instance.KindAck, instance.KindFail:
		e.ackFail(&msg)
	case instance.KindLog:
		e.log(msg.Level, msg.Text)
	case instance.KindException:
		e.l.user.exception(msg.Text, msg.Level)
		e.log("error", msg.Text)
	case instance.KindMetric:
		e.l.user.observe(msg.Metric, msg.Aggregate, msg.Value)
	}
}

func (e *emitter) bad(line []byte, err error) {
	e.l.user.observe("__json-protocol-errors", "sum", 1)
	if e.badLogs < 10 {
		e.badLogs++
		if len(line) > 200 {
			line = line[:200]
		}
		e.log("warn", "unreadable output line ("+err.Error()+"): "+string(line))
	}
}

func (e *emitter) log(level, text string) {
	w := e.l.logWriter()
	if w == nil {
		return
	}
	b := time.Now().UTC().AppendFormat(e.line[:0], "2006-01-02 15:04:05.000 ")
	b = append(b, level...)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, '\n')
	_, _ = w.Write(b)
	e.line = b[:0]
}

func (e *emitter) emitJSON(msg *instance.Message) {
	st := e.comp.Output(msg.Stream)
	if st == nil {
		e.bad([]byte(msg.Stream), errors.New("emit to an undeclared stream"))
		return
	}
	e.emitted[st.Local]++
	e.slots = e.slots[:0]
	for k, sub := range st.Subs {
		switch sub.Grouping {
		case apipb.Grouping_FIELDS:
			key, err := instance.FieldKeys(e.key[:0], msg.Values, sub.FieldIdx)
			e.key = key
			if err != nil {
				continue
			}
			e.slots = append(e.slots, sub.Slots[hashKey(key)%uint64(len(sub.Slots))])
		case apipb.Grouping_ALL:
			e.slots = append(e.slots, sub.Slots...)
		case apipb.Grouping_LOWEST:
			e.slots = append(e.slots, sub.Slots[0])
		case apipb.Grouping_DIRECT:
			if !msg.HasTask {
				continue
			}
			if t := e.m.plan.Task(msg.Task); t != nil && t.Component == sub.Target {
				e.slots = append(e.slots, t.Slot)
			}
		default:
			rr := e.rr[st.Local]
			i := rr[k]
			e.slots = append(e.slots, sub.Slots[i])
			if i++; int(i) == len(sub.Slots) {
				i = 0
			}
			rr[k] = i
		}
	}

	tracked := false
	e.roots = e.roots[:0]
	if e.comp.Spout && msg.MsgID != nil {
		if !e.m.plan.AtLeastOnce {
			// At most once: the message is done as soon as it is sent.
			e.l.stats.ack[st.Local].Add(1)
			e.l.spoutEvent("ack", msg.MsgID)
		} else {
			rootKey := nonZero()
			e.roots = append(e.roots, root{task: e.src.ID, key: rootKey})
			xor := e.newKeys()
			e.l.acker.register(rootKey, msg.MsgID, st.Local, xor)
			tracked = len(e.slots) > 0
		}
	} else if !e.comp.Spout && len(msg.Anchors) > 0 && e.l.flight != nil {
		xor := e.newKeys()
		e.roots = e.l.flight.anchor(msg.Anchors, xor, e.roots)
		tracked = len(e.roots) > 0 && len(e.slots) > 0
	}

	if !tracked {
		e.line = append(append(e.line[:0], '\t'), msg.Values...)
		for _, s := range e.slots {
			e.add(s, st, encJSON, e.line)
		}
		return
	}
	for i, s := range e.slots {
		b := appendMeta(e.line[:0], e.keys[i], e.roots)
		b = append(b, '\t')
		b = append(b, msg.Values...)
		e.line = b
		e.add(s, st, encJSON, b)
	}
}

// newKeys draws one tuple key per destination and returns their XOR.
func (e *emitter) newKeys() uint64 {
	e.keys = e.keys[:0]
	var xor uint64
	for range e.slots {
		k := nonZero()
		e.keys = append(e.keys, k)
		xor ^= k
	}
	return xor
}

func (e *emitter) ackFail(msg *instance.Message) {
	if e.l.flight == nil {
		return
	}
	h := e.l.flight.take(msg.TupleID)
	if h == nil {
		return
	}
	st := e.l.stats
	lat := time.Since(h.at).Nanoseconds()
	if msg.Kind == instance.KindAck {
		for j, r := range h.roots {
			e.acks.add(ackKind, r.task, r.key, h.ackValue(j))
		}
		st.ackIn[h.input].Add(1)
		st.processNs[h.input].Add(lat)
		st.processN[h.input].Add(1)
	} else {
		for _, r := range h.roots {
			e.acks.add(failKind, r.task, r.key, 0)
		}
		st.failIn[h.input].Add(1)
		st.failInNs[h.input].Add(lat)
		st.failInN[h.input].Add(1)
	}
}

func nonZero() uint64 {
	for {
		if v := rand.Uint64(); v != 0 {
			return v
		}
	}
}

// hashKey is FNV-1a: the same key goes to the same task in every container.
func hashKey(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
