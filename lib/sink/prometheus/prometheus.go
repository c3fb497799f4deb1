// Package prometheus is Heron's PrometheusSink: the latest value of every
// metric of every source, served over HTTP for Prometheus to scrape, with
// Heron's metric names, labels and renaming rules, through client_golang
// (with TYPE and HELP lines, and the metric types Heron's metrics have).
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
)

// The sink's keys: Heron's, plus listen-host and keep-serving.
const (
	KeyPort         = "port"
	KeyPortFile     = "port-file"
	KeyPath         = "path"
	KeyCacheMaxSize = "metrics-cache-max-size"
	KeyCacheTTLSec  = "metrics-cache-ttl-sec"
	KeyRules        = "rules"
	// KeyListenHost is the address to listen on; empty (the default, as in
	// Heron) means every interface.
	KeyListenHost = "listen-host"
	// KeyKeepServing keeps serving the last values after stdin ends, until
	// SIGTERM; for pipelines run by hand.
	KeyKeepServing = "keep-serving"
)

// DefaultID is the sink id of Heron's shipped prometheus sink.
const DefaultID = "prometheus-sink"

// Heron's defaults.
const (
	DefaultCacheMaxSize = 1000000
	DefaultCacheTTLSec  = 600
)

// Sink keeps the latest values and serves them.
type Sink struct {
	store       *Store
	srv         *http.Server
	addr        string
	keepServing bool
	log         zerolog.Logger
	done        chan error
}

// New builds the sink from its config and starts its HTTP server.
func New(cfg *sink.Config, _ sink.Context, c *sink.Counters, log zerolog.Logger) (sink.Sink, error) {
	port, err := listenPort(cfg)
	if err != nil {
		return nil, err
	}
	path, err := cfg.RequiredString(KeyPath)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	host, err := cfg.String(KeyListenHost, "")
	if err != nil {
		return nil, err
	}
	maxSize, err := cfg.Int(KeyCacheMaxSize, DefaultCacheMaxSize)
	if err != nil {
		return nil, err
	}
	ttl, err := cfg.Int(KeyCacheTTLSec, DefaultCacheTTLSec)
	if err != nil {
		return nil, err
	}
	keep, err := cfg.Bool(KeyKeepServing, false)
	if err != nil {
		return nil, err
	}
	rules, err := ParseRules(cfg.Get(KeyRules))
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.ID, err)
	}
	st := NewStore(rules, int(maxSize), time.Duration(ttl)*time.Second, c, log)

	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Conflict, "sink %s: listen for scrapes: %w", cfg.ID, err),
			"another process holds the port; pick another port or stop it")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(st)
	mux := http.NewServeMux()
	mux.Handle(path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	if path != "/healthz" {
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	}
	s := &Sink{
		store: st, keepServing: keep, log: log, done: make(chan error, 1),
		addr: ln.Addr().String(),
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	log.Info().Str("addr", s.addr).Str("path", path).Msg("serving metrics for Prometheus")
	return s, nil
}

// listenPort is Heron's port, or the first line of port-file when port is 0
// or absent.
func listenPort(cfg *sink.Config) (int, error) {
	port, err := cfg.Int(KeyPort, 0)
	if err != nil {
		return 0, err
	}
	if port == 0 && cfg.Has(KeyPortFile) {
		pf, err := cfg.String(KeyPortFile, "")
		if err != nil {
			return 0, err
		}
		b, err := os.ReadFile(pf)
		if err != nil {
			return 0, fmt.Errorf("sink %s: read %s: %w", cfg.ID, KeyPortFile, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		port, err = strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("sink %s: %s %s does not start with a port number", cfg.ID, KeyPortFile, pf)
		}
	}
	if port == 0 {
		return 0, fmt.Errorf("sink %s: neither 'port' nor 'port-file' were specified", cfg.ID)
	}
	return cfg.CheckPort(KeyPort, port)
}

// Addr is the address the sink serves on.
func (s *Sink) Addr() string { return s.addr }

// Linger keeps the sink serving after EOF when keep-serving is set.
func (s *Sink) Linger() bool { return s.keepServing }

// Process stores the record's values.
func (s *Sink) Process(rec *metricsrecord.Record) error { return s.store.Put(rec) }

// Flush does nothing: values are served when scraped.
func (s *Sink) Flush() error { return nil }

// Close stops the HTTP server.
func (s *Sink) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

// Store holds the latest value of every metric per source, as Heron's cache
// does: keyed by topology/component/instance, entries expiring ttl after
// their last write, at most maxSize sources (the least recently written go
// first). It is a prometheus.Collector.
type Store struct {
	rules   []*Rule
	maxSize int
	ttl     time.Duration
	log     zerolog.Logger
	now     func() time.Time

	illegal, evicted *atomic.Int64

	mu      sync.Mutex
	sources map[string]*source

	namesMu sync.Mutex
	names   map[nameKey]Naming
}

type source struct {
	topology, component, instance string
	clusterRoleEnv                string
	written                       time.Time
	metrics                       map[string]*value
}

type value struct {
	v       float64
	written time.Time
}

type nameKey struct {
	stmgr  bool
	metric string
}

// namesMax bounds the naming cache; it is cleared when full.
const namesMax = 100000

// NewStore returns an empty store.
func NewStore(rules []*Rule, maxSize int, ttl time.Duration, c *sink.Counters, log zerolog.Logger) *Store {
	return &Store{
		rules: rules, maxSize: max(maxSize, 1), ttl: ttl, log: log, now: time.Now,
		illegal: c.Counter(sink.CountIllegal), evicted: c.Counter("evicted-source-count"),
		sources: map[string]*source{}, names: map[nameKey]Naming{},
	}
}

// Put stores a record's numeric values. A source without component and
// instance is refused, as Heron does.
func (st *Store) Put(rec *metricsrecord.Record) error {
	_, comp, inst := rec.SplitSource()
	if comp == "" || inst == "" {
		return fmt.Errorf("unexpected metrics source %q: want host:port/component/instance", rec.Source)
	}
	key := rec.Topology + "/" + comp + "/" + inst
	now := st.now()
	cre := ""
	if rec.Cluster != "" && rec.Role != "" && rec.Environ != "" {
		cre = rec.Cluster + "/" + rec.Role + "/" + rec.Environ
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	src := st.sources[key]
	if src == nil {
		if len(st.sources) >= st.maxSize {
			st.evictOldest()
		}
		src = &source{topology: rec.Topology, component: comp, instance: inst, metrics: map[string]*value{}}
		st.sources[key] = src
	}
	src.written, src.clusterRoleEnv = now, cre
	for _, m := range rec.Metrics {
		v, err := strconv.ParseFloat(strings.TrimSpace(m.Value), 64)
		if err != nil {
			st.illegal.Add(1)
			continue
		}
		if e := src.metrics[m.Name]; e != nil {
			e.v, e.written = v, now
			continue
		}
		if len(src.metrics) >= st.maxSize {
			continue
		}
		src.metrics[m.Name] = &value{v: v, written: now}
	}
	return nil
}

func (st *Store) evictOldest() {
	var oldest string
	var at time.Time
	for k, s := range st.sources {
		if oldest == "" || s.written.Before(at) {
			oldest, at = k, s.written
		}
	}
	delete(st.sources, oldest)
	st.evicted.Add(1)
}

// Describe sends nothing: the metrics are only known at scrape time, so the
// registry treats the store as an unchecked collector.
func (st *Store) Describe(chan<- *prometheus.Desc) {}

// sample is one exported value before it becomes a prometheus.Metric.
type sample struct {
	name   string
	labels []Label // sorted by name
	v      float64
	typ    prometheus.ValueType
	help   string
}

// Collect drops expired values and sends the others.
func (st *Store) Collect(ch chan<- prometheus.Metric) {
	for _, s := range st.Samples() {
		names := make([]string, len(s.labels))
		vals := make([]string, len(s.labels))
		for i, l := range s.labels {
			names[i], vals[i] = l.Name, l.Value
		}
		m, err := prometheus.NewConstMetric(prometheus.NewDesc(s.name, s.help, names, nil), s.typ, s.v, vals...)
		if err != nil {
			st.log.Warn().Err(err).Str("metric", s.name).Msg("metric not exported")
			continue
		}
		ch <- m
	}
}

// Samples returns what a scrape exports, sorted by name and labels. Two raw
// metrics that map to the same name and labels keep the first; a name keeps
// the type and help of its first sample.
func (st *Store) Samples() []sample {
	now := st.now()
	st.mu.Lock()
	var out []sample
	for key, src := range st.sources {
		for name, v := range src.metrics {
			if st.ttl > 0 && now.Sub(v.written) >= st.ttl {
				delete(src.metrics, name)
			}
		}
		if len(src.metrics) == 0 {
			delete(st.sources, key)
			continue
		}
		base := []Label{
			{"topology", src.topology},
			{"component", src.component},
			{"instance_id", src.instance},
		}
		if src.clusterRoleEnv != "" {
			base = append(base, Label{"cluster_role_env", src.clusterRoleEnv})
		}
		if t := componentType(src.metrics); t != "" {
			base = append(base, Label{"component_type", t})
		}
		stmgr := strings.Contains(src.component, "stmgr")
		for name, v := range src.metrics {
			n := st.naming(stmgr, name)
			// Labels are per metric: Heron let a rule's labels leak into the
			// source's later metrics.
			ls := slices.Clone(base)
			for _, l := range n.Labels {
				ls = setLabel(ls, l.Name, l.Value)
			}
			ls = validLabels(ls)
			help := n.Help
			if help == "" {
				help = "Heron metric " + name
			}
			out = append(out, sample{name: n.Name, labels: ls, v: v.v, typ: metricType(name), help: help})
		}
	}
	st.mu.Unlock()

	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return labelsLess(out[i].labels, out[j].labels)
	})
	kept := out[:0]
	var famType prometheus.ValueType
	var famHelp string
	for i, s := range out {
		if i > 0 && s.name == out[i-1].name {
			if labelsEqual(s.labels, out[i-1].labels) {
				continue
			}
			s.typ, s.help = famType, famHelp
		} else {
			famType, famHelp = s.typ, s.help
		}
		kept = append(kept, s)
	}
	return kept
}

func (st *Store) naming(stmgr bool, metric string) Naming {
	k := nameKey{stmgr, metric}
	st.namesMu.Lock()
	n, ok := st.names[k]
	st.namesMu.Unlock()
	if ok {
		return n
	}
	if stmgr {
		n = stmgrName(metric)
	} else {
		var err error
		n, err = ruleName(metric, st.rules)
		if err != nil {
			st.log.Warn().Err(err).Msg("renaming rule failed; using the plain name")
			n = Naming{Name: exportName(strings.ToLower(Sanitize(metric)))}
		}
	}
	st.namesMu.Lock()
	if len(st.names) >= namesMax {
		clear(st.names)
	}
	st.names[k] = n
	st.namesMu.Unlock()
	return n
}

// componentType is Heron's guess: a bolt reports __execute-time-ns, a spout
// __next-tuple-count.
func componentType(ms map[string]*value) string {
	for name := range ms {
		if strings.Contains(name, "__execute-time-ns") {
			return "bolt"
		}
	}
	if _, ok := ms["__next-tuple-count"]; ok {
		return "spout"
	}
	return ""
}

// cumulative are the Heron metrics that never reset (counters in Prometheus
// terms). Heron's other "counts" restart from zero every export interval, so
// their latest value is a gauge, as are means and samples.
var cumulative = []string{
	"__task-run-count", "__produce-tuple-count", "__continue-work-count", "__execution-count",
	"__collector-collection-count",
	"__jvm-gc-collection-time-ms", "__jvm-gc-collection-count", "__jvm-gc-time-ms/", "__jvm-gc-count/",
	"__jvm-uptime-secs", "__jvm-process-cpu-time-nanos", "__jvm-threads-cpu-time-nanos/",
	"__jvm-other-threads-cpu-time-nanos", "__jvm-threads-user-cpu-time-nanos/",
	"__jvm-other-threads-user-cpu-time-nanos",
	"__py-sys-cpu-time-secs", "__py-user-cpu-time-secs",
	"__process/__uptime_sec", "__process/__cpu_user_usec", "__process/__cpu_system_usec",
}

func metricType(name string) prometheus.ValueType {
	for _, p := range cumulative {
		if name == p || strings.HasSuffix(p, "/") && strings.HasPrefix(name, p) {
			return prometheus.CounterValue
		}
	}
	return prometheus.GaugeValue
}

// validLabels drops labels Prometheus reserves (a "__" prefix) and makes
// values valid UTF-8; names were sanitised already.
func validLabels(ls []Label) []Label {
	out := ls[:0]
	for _, l := range ls {
		if l.Name == "" || strings.HasPrefix(l.Name, "__") {
			continue
		}
		l.Value = strings.ToValidUTF8(l.Value, "\uFFFD")
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func labelsLess(a, b []Label) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i].Name != b[i].Name {
				return a[i].Name < b[i].Name
			}
			return a[i].Value < b[i].Value
		}
	}
	return len(a) < len(b)
}

func labelsEqual(a, b []Label) bool { return slices.Equal(a, b) }
