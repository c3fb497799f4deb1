// Package metricsmgr is the metrics-manager role of heron-executor's native
// runtime: once per export interval it gathers the metrics of every
// publisher of the container (instances, stream manager, topology manager),
// sends the whitelisted ones to the topology manager, and writes every record
// as a JSON line (lib/metricsrecord) to each sink process listed in the
// cluster's metrics_sinks.yaml.
package metricsmgr

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/stmgr"
)

// JavaDate is the layout of java.util.Date.toString, which Heron uses for
// exception times.
const JavaDate = "Mon Jan 02 15:04:05 MST 2006"

// Publisher is one source of metrics with the port Heron reports for it
// (an instance's task id, the stream manager's local data port, ...).
type Publisher struct {
	stmgr.Source
	Port int
}

// Options configures a Manager.
type Options struct {
	// ID is metricsmgr-<container>.
	ID                                           string
	Host                                         string
	Topology, TopologyID, Cluster, Role, Environ string
	Interval                                     time.Duration
	// Whitelist holds the tmanager-metrics-type keys: a metric reaches the
	// topology manager when its name contains one (Heron's TManagerSink).
	Whitelist []string
	// Publish sends metrics to the topology manager; nil sends nothing.
	Publish func(*tmanagerpb.PublishMetrics)
	// Collect gathers the interval's metrics of every publisher.
	Collect func() []Publisher
	// Sinks are the sink processes to feed.
	Sinks []SinkSpec
	Log   zerolog.Logger
}

// Manager is the metrics manager of one container.
type Manager struct {
	o     Options
	sinks []*sinkProc
	mu    sync.Mutex
	last  []*metricsrecord.Record
}

// New returns a metrics manager; Run starts it.
func New(o Options) *Manager {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	m := &Manager{o: o}
	for _, s := range o.Sinks {
		m.sinks = append(m.sinks, newSinkProc(s, o.Log))
	}
	return m
}

// Run exports every interval until ctx ends, then flushes once more and
// lets the sinks finish.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range m.sinks {
		wg.Add(1)
		go func(s *sinkProc) {
			defer wg.Done()
			s.run(ctx)
		}(s)
	}
	t := time.NewTicker(m.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, s := range m.sinks {
				s.close()
			}
			wg.Wait()
			return
		case <-t.C:
			m.Export()
		}
	}
}

// Export gathers and delivers one interval now.
func (m *Manager) Export() {
	if m.o.Collect == nil {
		return
	}
	pubs := m.o.Collect()
	now := time.Now()
	recs := make([]*metricsrecord.Record, 0, len(pubs))
	pm := &tmanagerpb.PublishMetrics{}
	for _, p := range pubs {
		rec := &metricsrecord.Record{
			Timestamp: now.UnixMilli(),
			Source:    m.o.Host + ":" + strconv.Itoa(p.Port) + "/" + p.Component + "/" + p.Instance,
			Context:   "default",
			Metrics:   make([]metricsrecord.Metric, 0, len(p.Metrics)),
			Topology:  m.o.Topology, Cluster: m.o.Cluster, Role: m.o.Role, Environ: m.o.Environ, MetricsMgrID: m.o.ID,
		}
		for _, d := range p.Metrics {
			rec.Metrics = append(rec.Metrics, metricsrecord.Metric{Name: d.Name, Value: d.Value})
			if m.allowed(d.Name) {
				pm.Metrics = append(pm.Metrics, &tmanagerpb.MetricDatum{
					ComponentName: proto.String(p.Component), InstanceId: proto.String(p.Instance),
					Name: proto.String(d.Name), Value: proto.String(d.Value), Timestamp: proto.Int64(now.UnixMilli()),
				})
			}
		}
		rec.Exceptions = []metricsrecord.Exception{}
		for _, e := range p.Exceptions {
			rec.Exceptions = append(rec.Exceptions, metricsrecord.Exception{StackTrace: e.Trace,
				FirstTime: e.First.UTC().Format(JavaDate), LastTime: e.Last.UTC().Format(JavaDate), Count: e.Count, Logging: e.Logging})
			pm.Exceptions = append(pm.Exceptions, &tmanagerpb.TmanagerExceptionLog{
				ComponentName: proto.String(p.Component), Hostname: proto.String(m.o.Host), InstanceId: proto.String(p.Instance),
				Stacktrace: proto.String(e.Trace), Lasttime: proto.String(e.Last.UTC().Format(JavaDate)),
				Firsttime: proto.String(e.First.UTC().Format(JavaDate)), Count: proto.Int32(int32(e.Count)), Logging: proto.String(e.Logging),
			})
		}
		recs = append(recs, rec)
	}
	m.mu.Lock()
	m.last = recs
	m.mu.Unlock()
	if m.o.Publish != nil && (len(pm.Metrics) > 0 || len(pm.Exceptions) > 0) {
		m.o.Publish(pm)
	}
	for _, s := range m.sinks {
		s.offer(recs)
	}
}

// Last returns the records of the latest export.
func (m *Manager) Last() []*metricsrecord.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

func (m *Manager) allowed(name string) bool {
	for _, k := range m.o.Whitelist {
		if strings.Contains(name, k) {
			return true
		}
	}
	return false
}
