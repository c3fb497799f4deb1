package tmstats

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
)

// Heron's heron_internals.yaml defaults.
const (
	DefaultInterval      = 60 * time.Second
	DefaultMaxInterval   = 180 * time.Minute
	DefaultMaxExceptions = 256
)

// Options configures a Store. Zero values take Heron's defaults.
type Options struct {
	// Interval is the bucket width and purge period
	// (heron.tmanager.metrics.collector.purge.interval.sec).
	Interval time.Duration
	// MaxInterval is the retention (…maximum.interval.min); it must be a
	// multiple of Interval, and is rounded down to one otherwise.
	MaxInterval time.Duration
	// MaxExceptions is how many exceptions each instance keeps (…maximum.exception).
	MaxExceptions int
	// Types maps metric-name prefixes to aggregations; nil means DefaultTypes.
	Types Types
	// Now is the clock; nil means time.Now. Tests move it by hand.
	Now func() time.Time
}

// Store is the topology manager's metric store. It is safe for concurrent use.
type Store struct {
	mu         sync.Mutex
	interval   int64 // seconds
	nbuckets   int
	maxExc     int
	types      Types
	prefixes   []string // the keys of types, sorted
	now        func() time.Time
	start      int64 // the second the store was created; purges run at start+k*interval
	components map[string]*component
	known      map[string]bool // the topology's components, for Heron's error text
}

type component struct {
	instances map[string]*instance
}

type instance struct {
	metrics    map[string]*metric
	exceptions []*tmanagerpb.TmanagerExceptionLog
}

// bucket holds what Heron's TimeBucket aggregates to: the sum and count of
// its values (for LAST, the newest value and 1).
type bucket struct {
	start int64
	sum   float64
	n     int64
}

type metric struct {
	agg  Aggregation
	tick int64 // the purge tick the front bucket belongs to
	// ring of nbuckets buckets; front is the newest.
	ring  []bucket
	front int
	total float64 // all-time sum (LAST: newest value)
	items int64
}

// New returns an empty store.
func New(o Options) *Store {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = DefaultMaxInterval
	}
	if o.MaxExceptions <= 0 {
		o.MaxExceptions = DefaultMaxExceptions
	}
	if o.Types == nil {
		o.Types = DefaultTypes()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	iv := int64(o.Interval / time.Second)
	if iv < 1 {
		iv = 1
	}
	n := int(int64(o.MaxInterval/time.Second) / iv)
	if n < 1 {
		n = 1
	}
	return &Store{
		interval:   iv,
		nbuckets:   n,
		maxExc:     o.MaxExceptions,
		types:      o.Types,
		prefixes:   sortedKeys(o.Types),
		now:        o.Now,
		start:      o.Now().Unix(),
		components: map[string]*component{},
		known:      map[string]bool{},
	}
}

// SetComponents names the topology's spouts and bolts. A request for one of
// them that has no data yet gets Heron's "Metrics not available" answer
// instead of "Unknown component".
func (s *Store) SetComponents(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known = make(map[string]bool, len(names))
	for _, n := range names {
		s.known[n] = true
	}
}

// aggregation is Types.Of without sorting on every call.
func (s *Store) aggregation(name string) Aggregation {
	for _, k := range s.prefixes {
		if strings.HasPrefix(name, k) {
			return s.types[k]
		}
	}
	return Unknown
}

func (s *Store) tickAt(sec int64) int64 {
	if sec < s.start {
		return 0
	}
	return (sec - s.start) / s.interval
}

func (s *Store) instance(comp, inst string) *instance {
	c := s.components[comp]
	if c == nil {
		c = &component{instances: map[string]*instance{}}
		s.components[comp] = c
	}
	i := c.instances[inst]
	if i == nil {
		i = &instance{metrics: map[string]*metric{}}
		c.instances[inst] = i
	}
	return i
}

func (s *Store) newMetric(agg Aggregation, now int64) *metric {
	m := &metric{agg: agg, tick: s.tickAt(now), ring: make([]bucket, s.nbuckets)}
	for i := range m.ring {
		m.ring[i].start = now
	}
	return m
}

// advance applies the purges that happened since the metric was last touched:
// drop the oldest bucket, add a new front bucket starting at the purge time.
func (s *Store) advance(m *metric, now int64) {
	t := s.tickAt(now)
	if t <= m.tick {
		return
	}
	from := m.tick + 1
	if t-m.tick > int64(s.nbuckets) {
		from = t - int64(s.nbuckets) + 1
	}
	for k := from; k <= t; k++ {
		m.front = (m.front - 1 + s.nbuckets) % s.nbuckets
		m.ring[m.front] = bucket{start: s.start + k*s.interval}
	}
	m.tick = t
}

// at returns the i-th bucket, newest first.
func (m *metric) at(i int) *bucket { return &m.ring[(m.front+i)%len(m.ring)] }

// Add records one value of a metric, as a metrics manager's MetricDatum does.
// The value lands in the newest bucket that started at or before arrived
// (the zero time means now); Heron files values by arrival, so pass the
// time the value reached the topology manager. A value older than every
// bucket is dropped, and so is a name no aggregation type matches.
// Non-numeric text counts as 0, as C's strtod makes it.
func (s *Store) Add(comp, inst, name, value string, arrived time.Time) {
	agg := s.aggregation(name)
	if agg == Unknown {
		return
	}
	v := parseValue(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	at := now
	if !arrived.IsZero() {
		at = arrived.Unix()
	}
	in := s.instance(comp, inst)
	m := in.metrics[name]
	if m == nil {
		m = s.newMetric(agg, now)
		in.metrics[name] = m
	}
	s.advance(m, now)
	var b *bucket
	for i := 0; i < s.nbuckets; i++ {
		if c := m.at(i); c.start <= at {
			b = c
			break
		}
	}
	if b == nil {
		return
	}
	if m.agg == Last {
		b.sum, b.n = v, 1
		m.total, m.items = v, 1
		return
	}
	b.sum += v
	b.n++
	m.total += v
	m.items++
}

// AddException records one exception log of an instance (component and
// instance come from the log). The newest MaxExceptions are kept.
func (s *Store) AddException(log *tmanagerpb.TmanagerExceptionLog) {
	if log == nil {
		return
	}
	c := proto.Clone(log).(*tmanagerpb.TmanagerExceptionLog)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instance(c.GetComponentName(), c.GetInstanceId())
	in.exceptions = append(in.exceptions, c)
	if over := len(in.exceptions) - s.maxExc; over > 0 {
		in.exceptions = slices.Delete(in.exceptions, 0, over)
	}
}

// Publish records a whole PublishMetrics message, as Heron's topology
// manager does when a metrics manager sends one. Datum timestamps are
// ignored: values are filed by arrival time.
func (s *Store) Publish(p *tmanagerpb.PublishMetrics) {
	for _, d := range p.GetMetrics() {
		s.Add(d.GetComponentName(), d.GetInstanceId(), d.GetName(), d.GetValue(), time.Time{})
	}
	for _, e := range p.GetExceptions() {
		s.AddException(e)
	}
}

func status(code systempb.StatusCode, msg string) *systempb.Status {
	st := &systempb.Status{Status: code.Enum()}
	if msg != "" {
		st.Message = proto.String(msg)
	}
	return st
}

// Metrics answers a MetricRequest the way Heron's TMetricsCollector does.
func (s *Store) Metrics(req *tmanagerpb.MetricRequest) *tmanagerpb.MetricResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &tmanagerpb.MetricResponse{}
	name := req.GetComponentName()
	c := s.components[name]
	switch {
	case c == nil && s.known[name]:
		resp.Status = status(systempb.StatusCode_NOTOK, "Metrics not available for component `"+name+"`")
		return resp
	case c == nil:
		resp.Status = status(systempb.StatusCode_NOTOK, "Unknown component: "+name)
		return resp
	case req.Interval == nil && req.ExplicitInterval == nil:
		resp.Status = status(systempb.StatusCode_NOTOK, "No interval or explicit interval set")
		return resp
	}
	now := s.now().Unix()
	var start, end int64
	if req.Interval != nil {
		end = now
		if iv := req.GetInterval(); iv > 0 {
			start = end - iv
		}
	} else {
		start, end = req.GetExplicitInterval().GetStart(), req.GetExplicitInterval().GetEnd()
	}
	resp.Interval = proto.Int64(end - start)
	ids := req.GetInstanceId()
	if len(ids) == 0 {
		ids = sortedKeys(c.instances)
	}
	for _, id := range ids {
		in := c.instances[id]
		if in == nil {
			// Heron stops at the first unknown instance: NOTOK, no message.
			resp.Status = status(systempb.StatusCode_NOTOK, "")
			return resp
		}
		tm := &tmanagerpb.MetricResponse_TaskMetric{InstanceId: proto.String(id)}
		for _, mn := range req.GetMetric() {
			m := in.metrics[mn]
			if m == nil {
				continue
			}
			s.advance(m, now)
			tm.Metric = append(tm.Metric, s.individual(mn, m, req.GetMinutely(), start, end))
		}
		resp.Metric = append(resp.Metric, tm)
	}
	resp.Status = status(systempb.StatusCode_OK, "")
	return resp
}

func overlaps(b *bucket, iv, start, end int64) bool {
	return b.start <= end && start <= b.start+iv
}

func (s *Store) individual(name string, m *metric, minutely bool, start, end int64) *tmanagerpb.MetricResponse_IndividualMetric {
	im := &tmanagerpb.MetricResponse_IndividualMetric{Name: proto.String(name)}
	if minutely {
		for i := 0; i < s.nbuckets; i++ {
			b := m.at(i)
			if overlaps(b, s.interval, start, end) {
				v := b.sum
				if m.agg == Avg {
					v = b.sum / float64(b.n)
				}
				im.IntervalValues = append(im.IntervalValues, &tmanagerpb.MetricResponse_IndividualMetric_IntervalValue{
					Value:    proto.String(FormatValue(v)),
					Interval: &tmanagerpb.MetricInterval{Start: proto.Int64(b.start), End: proto.Int64(b.start + s.interval)},
				})
			}
			if start > b.start+s.interval {
				break
			}
		}
		return im
	}
	var v float64
	if start <= 0 {
		v = m.total
		if m.agg == Avg {
			v = m.total / float64(m.items)
		}
	} else {
		var sum float64
		var n int64
		for i := 0; i < s.nbuckets; i++ {
			b := m.at(i)
			if overlaps(b, s.interval, start, end) {
				sum += b.sum
				n += b.n
				if m.agg == Last {
					break
				}
			}
			if start > b.start+s.interval {
				break
			}
		}
		v = sum
		if m.agg == Avg {
			v = sum / float64(n)
		}
	}
	im.Value = proto.String(FormatValue(v))
	return im
}

// Exceptions answers an ExceptionLogRequest with the stored logs: every
// instance in id order when none is named, else the named ones in order.
func (s *Store) Exceptions(req *tmanagerpb.ExceptionLogRequest) *tmanagerpb.ExceptionLogResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.components[req.GetComponentName()]
	if c == nil {
		return &tmanagerpb.ExceptionLogResponse{Status: status(systempb.StatusCode_NOTOK, "Unknown component")}
	}
	resp := &tmanagerpb.ExceptionLogResponse{Status: status(systempb.StatusCode_OK, "OK")}
	ids := req.GetInstances()
	if len(ids) == 0 {
		ids = sortedKeys(c.instances)
	}
	for _, id := range ids {
		if in := c.instances[id]; in != nil {
			for _, e := range in.exceptions {
				resp.Exceptions = append(resp.Exceptions, proto.Clone(e).(*tmanagerpb.TmanagerExceptionLog))
			}
		}
	}
	return resp
}

// ExceptionSummary groups the logs Exceptions would return by class name
// (the stack trace up to its first ':'; traces without one are left out),
// sorted by class. Each entry is the first log of its class with the class
// as stacktrace, the summed count, and the last log's lasttime.
func (s *Store) ExceptionSummary(req *tmanagerpb.ExceptionLogRequest) *tmanagerpb.ExceptionLogResponse {
	all := s.Exceptions(req)
	if all.GetStatus().GetStatus() != systempb.StatusCode_OK {
		return all
	}
	byClass := map[string]*tmanagerpb.TmanagerExceptionLog{}
	for _, e := range all.Exceptions {
		i := strings.IndexByte(e.GetStacktrace(), ':')
		if i < 0 {
			continue
		}
		class := e.GetStacktrace()[:i]
		if prev := byClass[class]; prev != nil {
			prev.Count = proto.Int32(prev.GetCount() + e.GetCount())
			prev.Lasttime = proto.String(e.GetLasttime())
			continue
		}
		e.Stacktrace = proto.String(class)
		byClass[class] = e
	}
	resp := &tmanagerpb.ExceptionLogResponse{Status: all.Status}
	for _, k := range sortedKeys(byClass) {
		resp.Exceptions = append(resp.Exceptions, byClass[k])
	}
	return resp
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// FormatValue prints a value as C++ std::to_string(double) does ("%f"),
// including glibc's spellings of NaN and infinity.
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		if math.Signbit(v) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

// ParseValue reads a value string the way the tracker does: a float, with
// glibc's "-nan"/"nan"/"inf" accepted. ok is false for text that is not a number.
func ParseValue(s string) (v float64, ok bool) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "nan", "-nan", "+nan":
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// parseValue is C's strtod: leading space skipped, the longest numeric
// prefix read, 0 when there is none.
func parseValue(s string) float64 {
	t := strings.TrimLeft(s, " \t\n\r\v\f")
	if v, ok := ParseValue(t); ok {
		return v
	}
	for n := len(t) - 1; n > 0; n-- {
		if v, err := strconv.ParseFloat(t[:n], 64); err == nil {
			return v
		}
	}
	return 0
}
