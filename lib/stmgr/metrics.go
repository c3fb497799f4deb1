package stmgr

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Datum is one metric value, a string as in Heron.
type Datum struct{ Name, Value string }

// Exception is an error a component reported in the interval, aggregated
// by its first two lines as Heron's instances do.
type Exception struct {
	Trace, Logging string
	Count          int
	First, Last    time.Time
}

// Source is the metrics of one publisher (an instance or the stream
// manager) for one interval.
type Source struct {
	Component  string
	Instance   string
	Task       int32
	Metrics    []Datum
	Exceptions []Exception
}

// TaskStats are the counters of one local task, reset at every collection.
// Output counters are per output stream, input counters per input.
type TaskStats struct {
	emit, ack, fail, timeout, completeNs, completeN, failNs, failN      []atomic.Int64
	exec, execNs, ackIn, failIn, processNs, processN, failInNs, failInN []atomic.Int64
}

func newTaskStats(c *Component) *TaskStats {
	o, i := len(c.Outputs), len(c.Inputs)
	return &TaskStats{
		emit: make([]atomic.Int64, o), ack: make([]atomic.Int64, o), fail: make([]atomic.Int64, o),
		timeout: make([]atomic.Int64, o), completeNs: make([]atomic.Int64, o), completeN: make([]atomic.Int64, o),
		failNs: make([]atomic.Int64, o), failN: make([]atomic.Int64, o),
		exec: make([]atomic.Int64, i), execNs: make([]atomic.Int64, i), ackIn: make([]atomic.Int64, i),
		failIn: make([]atomic.Int64, i), processNs: make([]atomic.Int64, i), processN: make([]atomic.Int64, i),
		failInNs: make([]atomic.Int64, i), failInN: make([]atomic.Int64, i),
	}
}

// userMetrics holds what a JSON-mode component reported: its own metrics
// and its exceptions.
type userMetrics struct {
	mu   sync.Mutex
	vals map[string]*userMetric
	exc  map[string]*Exception
	ord  []string
}

type userMetric struct {
	agg  string
	sum  float64
	n    int64
	last float64
}

func (u *userMetrics) observe(name, agg string, v float64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.vals == nil {
		u.vals = map[string]*userMetric{}
	}
	m := u.vals[name]
	if m == nil {
		m = &userMetric{agg: agg}
		u.vals[name] = m
	}
	m.sum += v
	m.n++
	m.last = v
}

func (u *userMetrics) exception(trace, logging string) {
	key := trace
	if i := strings.Index(trace, "\n"); i >= 0 {
		if j := strings.Index(trace[i+1:], "\n"); j >= 0 {
			key = trace[:i+1+j]
		}
	}
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.exc == nil {
		u.exc = map[string]*Exception{}
	}
	e := u.exc[key]
	if e == nil {
		if len(u.exc) >= 1024 {
			return
		}
		e = &Exception{Trace: trace, First: now}
		u.exc[key] = e
		u.ord = append(u.ord, key)
	}
	e.Count++
	e.Last = now
	e.Logging = logging
}

func (u *userMetrics) take() ([]Datum, []Exception) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var ds []Datum
	names := make([]string, 0, len(u.vals))
	for n := range u.vals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := u.vals[n]
		var v float64
		switch m.agg {
		case "avg":
			v = m.sum / float64(m.n)
		case "last":
			v = m.last
		default:
			v = m.sum
		}
		ds = append(ds, Datum{n, fmtFloat(v)})
		if m.agg == "last" {
			m.sum, m.n = m.last, 1
		} else {
			delete(u.vals, n)
		}
	}
	var ex []Exception
	for _, k := range u.ord {
		ex = append(ex, *u.exc[k])
	}
	u.exc, u.ord = nil, nil
	return ds, ex
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }

// Collect returns the interval's metrics of every local instance and of the
// stream manager, with Heron's names, and starts a new interval.
func (m *Manager) Collect() []Source {
	var out []Source
	for _, l := range m.locals {
		if l == nil {
			continue
		}
		out = append(out, l.collect())
	}
	out = append(out, m.collectServer())
	return out
}

func (l *local) collect() Source {
	c := l.task.Component
	st := l.stats
	src := Source{Component: c.Name, Instance: l.task.InstanceID, Task: l.task.ID}
	add := func(name string, v int64) { src.Metrics = append(src.Metrics, Datum{name, fmtInt(v)}) }
	mean := func(name string, sum, n int64) {
		if n > 0 {
			src.Metrics = append(src.Metrics, Datum{name, fmtFloat(float64(sum) / float64(n))})
		}
	}
	for i, o := range c.Outputs {
		add("__emit-count/"+o.ID, st.emit[i].Swap(0))
		if c.Spout {
			add("__ack-count/"+o.ID, st.ack[i].Swap(0))
			add("__fail-count/"+o.ID, st.fail[i].Swap(0))
			add("__timeout-count/"+o.ID, st.timeout[i].Swap(0))
			mean("__complete-latency/"+o.ID, st.completeNs[i].Swap(0), st.completeN[i].Swap(0))
			mean("__fail-latency/"+o.ID, st.failNs[i].Swap(0), st.failN[i].Swap(0))
		}
	}
	if c.Spout && l.acker != nil {
		add("__pending-acked-count", int64(l.acker.inFlight()))
	}
	if len(c.Inputs) > 0 {
		// Heron emits every bolt counter twice: by stream, and by source
		// component and stream.
		type acc struct{ exec, execNs, ack, fail, procNs, procN, failNs, failN int64 }
		by := map[string]*acc{}
		var keys []string
		get := func(k string) *acc {
			a := by[k]
			if a == nil {
				a = &acc{}
				by[k] = a
				keys = append(keys, k)
			}
			return a
		}
		for i, in := range c.Inputs {
			v := acc{st.exec[i].Swap(0), st.execNs[i].Swap(0), st.ackIn[i].Swap(0), st.failIn[i].Swap(0),
				st.processNs[i].Swap(0), st.processN[i].Swap(0), st.failInNs[i].Swap(0), st.failInN[i].Swap(0)}
			for _, k := range []string{in.Stream.ID, in.Stream.Component.Name + "/" + in.Stream.ID} {
				a := get(k)
				a.exec += v.exec
				a.execNs += v.execNs
				a.ack += v.ack
				a.fail += v.fail
				a.procNs += v.procNs
				a.procN += v.procN
				a.failNs += v.failNs
				a.failN += v.failN
			}
		}
		for _, k := range keys {
			a := by[k]
			add("__execute-count/"+k, a.exec)
			add("__execute-time-ns/"+k, a.execNs)
			mean("__execute-latency/"+k, a.execNs, a.exec)
			add("__ack-count/"+k, a.ack)
			add("__fail-count/"+k, a.fail)
			mean("__process-latency/"+k, a.procNs, a.procN)
			mean("__fail-latency/"+k, a.failNs, a.failN)
		}
	}
	ds, ex := l.user.take()
	src.Metrics = append(src.Metrics, ds...)
	src.Exceptions = ex
	return src
}

func (m *Manager) collectServer() Source {
	src := Source{Component: "__stmgr__", Instance: m.name, Task: -1}
	add := func(name string, v int64) { src.Metrics = append(src.Metrics, Datum{name, fmtInt(v)}) }
	add("__server/__tuples_to_workers", m.srv.toWorkers.Swap(0))
	add("__server/__tuples_to_workers_lost", m.srv.toWorkersLost.Swap(0))
	add("__server/__tuples_from_workers", m.srv.fromWorkers.Swap(0))
	add("__server/__tuples_from_stmgrs", m.srv.fromStmgrs.Swap(0))
	add("__server/__bytes_from_stmgrs", m.srv.bytesFromStmgrs.Swap(0))
	add("__server/__ack_tuples_from_stmgrs", m.srv.acksFromPeers.Swap(0))
	initiated, aggr, byRemote, byQueue := m.bp.times()
	add("__server/__time_spent_back_pressure_initiated", initiated)
	add("__server/__time_spent_back_pressure_aggr", aggr)
	add("__server/__time_spent_back_pressure_by_remote_stmgr", byRemote)
	var local int64
	for _, l := range m.locals {
		if l == nil {
			continue
		}
		iid := l.task.InstanceID
		ms := byQueue[iid]
		local += ms
		add("__time_spent_back_pressure_by_compid/"+iid, ms)
		bytes, tuples := l.in.Depth()
		add("__connection_buffer_by_instanceid/"+iid+"/bytes", bytes)
		add("__connection_buffer_length_by_instanceid/"+iid+"/packets", tuples)
	}
	add("__time_spent_back_pressure_by_local_instance", local)
	ids := make([]int32, 0, len(m.peers))
	for id := range m.peers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		p := m.peers[id]
		pre := "__client_" + p.name + "/"
		add(pre+"__tuples_to_stmgrs", p.tuplesTo.Swap(0))
		add(pre+"__bytes_to_stmgrs", p.bytesTo.Swap(0))
		add(pre+"__tuples_to_stmgrs_lost", p.q.takeDropped()+p.lost.Swap(0))
		bytes, tuples := p.q.Depth()
		add(pre+"__queued_bytes", bytes)
		add(pre+"__queued_tuples", tuples)
	}
	return src
}
